"""What the tests share besides fixtures: the apps and client harness run through both
adapters (``harness``), app-side helpers for the HTML tests (``html_apps``), the query
surface's records and stores (``query``), and real servers started for a test: uvicorn
and wsgiref in threads (``app_servers``), small sites behind either middleware with a
browser context on them (``browser_sites``), Redis and Redis Cluster (``redis_servers``),
SQLite-backed servers in child processes (``sqlite_servers``)."""
