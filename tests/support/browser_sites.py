"""Small sites behind either middleware on a real server, and a browser context on one.

A :class:`Site` is a table of routes served by the same ASGI and WSGI app; :func:`served`
puts it behind ``ConsentMiddleware`` (uvicorn) or ``WSGIConsentMiddleware`` (a threaded
wsgiref) on 127.0.0.1; :class:`Running` opens a Chromium context on it in which every
request to another host is recorded and answered by a stub, so a URL in
``Running.requests`` is one the browser really sent and nothing leaves the machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from consent_mw import ConsentMiddleware, MemoryStore, WSGIConsentMiddleware
from consent_mw.core.consent import Consent
from consent_mw.core.cookies import ConsentCookieCodec
from support.app_servers import uvicorn_server, wsgiref_server

Adapter = Literal["asgi", "wsgi"]
Routes = dict[str, tuple[str, bytes, list[tuple[str, str]]]]

GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
    b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
STUB_JS = "window.__stubs = (window.__stubs || 0) + 1;"


def page(body: str, head: str = "") -> bytes:
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>t</title>{head}</head>"
        f"<body>{body}</body></html>"
    ).encode()


class Site:
    """A small site's routes: path -> (content type, body, extra headers)."""

    def __init__(self, routes: Routes) -> None:
        self.routes = routes

    def answer(self, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
        found = self.routes.get(path)
        if found is None:
            return 404, [("content-type", "text/plain")], b"no"
        ctype, body, extra = found
        return 200, [("content-type", ctype), ("content-length", str(len(body))), *extra], body

    def asgi(self) -> Any:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            status, headers, body = self.answer(scope["path"])
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(k.encode(), v.encode()) for k, v in headers],
                }
            )
            await send({"type": "http.response.body", "body": body})

        return app

    def wsgi(self) -> Any:
        def app(environ: Any, start_response: Any) -> list[bytes]:
            status, headers, body = self.answer(environ["PATH_INFO"])
            start_response(f"{status} {'OK' if status == 200 else 'Not Found'}", headers)
            return [body]

        return app


@dataclass(frozen=True)
class Served:
    """A site behind a middleware, listening on ``port``."""

    port: int
    middleware: Any
    store: MemoryStore


@contextmanager
def served(adapter: Adapter, site: Site, **options: Any) -> Iterator[Served]:
    """``site`` behind the ``adapter``'s middleware built with ``options``, until the
    block ends (a fresh :class:`MemoryStore` unless ``store`` is given)."""
    store = options.setdefault("store", MemoryStore())
    if adapter == "asgi":
        middleware: Any = ConsentMiddleware(site.asgi(), **options)
        server = uvicorn_server(middleware)
    else:
        middleware = WSGIConsentMiddleware(site.wsgi(), **options)
        server = wsgiref_server(middleware, threaded=True)
    with server as port:
        yield Served(port, middleware, store)


class Running:
    """One site behind one adapter on a real server, and a browser context on it."""

    def __init__(self, browser: Any, port: int, middleware: Any, store: MemoryStore) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.middleware = middleware
        self.store = store
        self.requests: list[str] = []
        self.console: list[str] = []
        self.context = browser.new_context()
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))

    def _route(self, route: Any) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
            return
        self.requests.append(url)
        path = urlsplit(url).path
        if path.endswith(".js") or "gtm.js" in url:
            route.fulfill(status=200, content_type="text/javascript", body=STUB_JS)
        elif "/tr" in path or "collect" in path:
            route.fulfill(status=200, content_type="image/gif", body=GIF)
        else:
            route.fulfill(status=204, body="")

    def consent(self, **choices: bool) -> None:
        """Give the context a signed consent cookie with these choices."""
        config = self.middleware.config
        consent = Consent.create(config.policy, choices, action="custom")
        value = ConsentCookieCodec(config.secret_key).dumps(consent)
        self.context.add_cookies([{"name": config.cookie_name, "value": value, "url": self.base}])

    def visit(self, path: str) -> None:
        self.page.goto(self.base + path)
        self.page.wait_for_load_state("networkidle")

    def hosts(self, suffixes: tuple[str, ...]) -> list[str]:
        found = []
        for url in self.requests:
            host = urlsplit(url).hostname or ""
            if any(host == s or host.endswith("." + s) for s in suffixes):
                found.append(url)
        return found
