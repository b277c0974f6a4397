"""The apps the end-to-end benchmarks serve under uvicorn (``--factory``).

- ``middleware``: ``consent_mw.demo.create_app(store=…, secret_key=…)`` — the demo site
  exactly as shipped (CSP nonce, ``record_requests=True``), plus two routes added to
  the *inner* Starlette site: ``/plain`` (a text/plain response setting the same three
  cookies the demo pages set: necessary, analytics, advertising) and ``/stream``
  (an HTML page with trackers streamed in many chunks, for the disconnect test).
- ``bare``: the same Starlette routes (the very same endpoint functions) without the
  middleware. The demo's pages read ``scope["consent"]``, so a 6-line pure ASGI shim
  puts a fixed "nothing allowed" object there (the cost of one ``dict`` assignment);
  ``POST /_consent`` is a plain Starlette handler that parses the same JSON body and
  answers JSON (the floor a consent POST cannot go below: no signing, no ledger).

Configured from the environment: ``E2E_SECRET``, ``E2E_STORE`` (default
``memory://``) and ``E2E_RECORD_REQUESTS=0`` (the demo with request recording off, the
middleware's default).
"""

from __future__ import annotations

import asyncio
import json
import os
from types import SimpleNamespace
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from consent_mw.demo import TRACKERS, create_app

SECRET = os.environ.get("E2E_SECRET", "e2e-benchmark-secret-0123456789abcdef")


async def plain(request: Request) -> Response:
    response = PlainTextResponse("Hello, world")
    response.set_cookie("session", "abc", httponly=True, samesite="lax")
    response.set_cookie("_ga", "GA1.1.1234567890.1700000000", max_age=63072000)
    response.set_cookie("_fbp", "fb.1.1700000000.1234567890", max_age=7776000)
    return response


async def stream(request: Request) -> Response:
    """~256 KB of HTML with tracker tags, in 64 chunks with a yield between them."""

    async def chunks() -> Any:
        yield (
            b"<!doctype html><html><head><title>stream</title>"
            + TRACKERS.encode()
            + b"</head><body>"
        )
        row = b"<p>" + b"x" * 4000 + b"</p>\n"
        for _ in range(64):
            yield row
            await asyncio.sleep(0)
        yield b"</body></html>"

    return StreamingResponse(chunks(), media_type="text/html; charset=utf-8")


async def bare_consent(request: Request) -> Response:
    data = json.loads(await request.body())
    return JSONResponse({"state": {"choices": data.get("choices", {})}, "record_id": "x"})


def middleware() -> Any:
    options: dict[str, Any] = {}
    if os.environ.get("E2E_RECORD_REQUESTS") == "0":  # the middleware's default
        options["record_requests"] = False
    app = create_app(store=os.environ.get("E2E_STORE", "memory://"), secret_key=SECRET, **options)
    app.app.router.routes.extend([Route("/plain", plain), Route("/stream", stream)])
    return app


class _FixedConsent:
    """Pure ASGI: what the demo routes read from the middleware, fixed."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.consent = SimpleNamespace(allowed=frozenset({"necessary"}))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        scope["consent"] = self.consent
        await self.app(scope, receive, send)


def bare() -> Any:
    # The demo's own routes, taken from a middleware instance that is never served.
    demo_routes = list(create_app(store="memory://", secret_key=SECRET).app.router.routes)
    site = Starlette(
        routes=[
            *demo_routes,
            Route("/plain", plain),
            Route("/stream", stream),
            Route("/_consent", bare_consent, methods=["POST"]),
        ]
    )
    return _FixedConsent(site)
