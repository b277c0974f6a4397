"""Small sites behind either middleware on a real server, and a browser context on one.

A :class:`Site` is a table of routes served by the same ASGI and WSGI app; :func:`served`
puts it behind ``ConsentMiddleware`` (uvicorn) or ``WSGIConsentMiddleware`` (a threaded
wsgiref) on 127.0.0.1; :class:`Running` opens a Chromium context on it in which every
request to another host is recorded and answered by a stub, so a URL in
``Running.requests`` is one the browser really sent and nothing leaves the machine.

What Chromium fetches from its browser process (a speculation-rules prefetch) never
meets Playwright's interception: :class:`HostSinks` gives each tracker host a listening
socket to resolve to, so such a fetch shows up as a connection, and
:func:`resolver_rules` leaves every other name unresolved.
"""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Iterable, Iterator
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


def resolver_rules(mapped: dict[str, int] | None = None) -> str:
    """Chromium's ``--host-resolver-rules``: each host of ``mapped`` resolves to its
    port on 127.0.0.1, any other name to nothing; 127.0.0.1 itself stays as it is."""
    rules = [f"MAP {host} 127.0.0.1:{port}" for host, port in (mapped or {}).items()]
    return "--host-resolver-rules=" + ", ".join([*rules, "MAP * ~NOTFOUND", "EXCLUDE 127.0.0.1"])


class HostSinks:
    """A listening socket on 127.0.0.1 for each host: a connection to one is recorded
    under its host and closed unanswered. Use as a context manager; ``rule()`` is the
    Chromium flag that sends the hosts there.

    Usage::

        with HostSinks(["www.googletagmanager.com"]) as sinks:
            chromium = playwright.chromium.launch(args=[sinks.rule()])
            ...
            assert sinks.connected() == ["www.googletagmanager.com"]
    """

    def __init__(self, hosts: Iterable[str]) -> None:
        self._hosts: dict[socket.socket, str] = {}
        for host in hosts:
            self._hosts[socket.create_server(("127.0.0.1", 0))] = host
        self._lock = threading.Lock()
        self._seen: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="host-sinks", daemon=True)

    def __enter__(self) -> HostSinks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        for sock in self._hosts:
            sock.close()

    def _serve(self) -> None:
        listening = list(self._hosts)
        while not self._stop.is_set():
            ready, _, _ = select.select(listening, [], [], 0.1)
            for sock in ready:
                conn, _ = sock.accept()
                conn.close()
                with self._lock:
                    self._seen.append(self._hosts[sock])

    def rule(self) -> str:
        return resolver_rules({host: s.getsockname()[1] for s, host in self._hosts.items()})

    def connected(self) -> list[str]:
        """The hosts connected to since the last ``clear()``, in order."""
        with self._lock:
            return list(self._seen)

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()
