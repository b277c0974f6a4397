"""What the injected block costs a real browser: on a page without a CSP the Consent Mode
default runs inline (no request at all); under a CSP that refuses inline scripts it comes
from a URL per decision, fetched once and then taken from the browser's cache; the banner
arrives compressed from its content-hashed URL, and its plain URL revalidates with 304.

The browser context here routes nothing: Playwright's request interception turns
Chromium's HTTP cache off. A layer in front of the middleware logs what reached the
server (path, status, request's Accept-Encoding and validator)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import pytest

from consent_mw import ConsentMiddleware, MemoryStore, WSGIConsentMiddleware
from consent_mw.core.assets import static_asset
from support.app_servers import uvicorn_server, wsgiref_server
from support.browser_sites import Site, page

from .conftest import SECRET

pytestmark = pytest.mark.browser

STRICT = [("content-security-policy", "script-src 'self'; object-src 'none'")]
SITE = Site(
    {
        "/": ("text/html; charset=utf-8", page("<p>open</p>"), []),
        "/strict/a": ("text/html; charset=utf-8", page("<p>a</p>"), STRICT),
        "/strict/b": ("text/html; charset=utf-8", page("<p>b</p>"), STRICT),
    }
)
BANNER = static_asset("consent-banner.js", "text/javascript; charset=utf-8")

Logged = tuple[str, int, str, str]


class Logging:
    """Front layer: ``(path, status, accept-encoding, validator)`` per request; the
    validator is If-None-Match, or If-Modified-Since (what Chromium sends to an HTTP/1.0
    server such as wsgiref: it uses an ETag only from HTTP/1.1)."""

    def __init__(self) -> None:
        self.log: list[Logged] = []

    def asgi(self, app: Any) -> Any:
        async def logged(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            headers = {k.decode(): v.decode() for k, v in scope["headers"]}

            async def sending(message: Any) -> None:
                if message["type"] == "http.response.start":
                    self.log.append(
                        (
                            scope["path"],
                            message["status"],
                            headers.get("accept-encoding", ""),
                            headers.get("if-none-match") or headers.get("if-modified-since", ""),
                        )
                    )
                await send(message)

            await app(scope, receive, sending)

        return logged

    def wsgi(self, app: Any) -> Any:
        def logged(environ: Any, start_response: Any) -> Any:
            def starting(status: str, headers: Any, exc_info: Any = None) -> Any:
                self.log.append(
                    (
                        environ["PATH_INFO"],
                        int(status[:3]),
                        environ.get("HTTP_ACCEPT_ENCODING", ""),
                        environ.get("HTTP_IF_NONE_MATCH")
                        or environ.get("HTTP_IF_MODIFIED_SINCE", ""),
                    )
                )
                return start_response(status, headers, exc_info)

            return app(environ, starting)

        return logged

    def paths(self, start: str) -> list[Logged]:
        return [entry for entry in self.log if entry[0].startswith(start)]


@contextmanager
def server(adapter: Literal["asgi", "wsgi"], logging: Logging) -> Iterator[str]:
    options: dict[str, Any] = {"policy": "gdpr", "secret_key": SECRET, "store": MemoryStore()}
    if adapter == "asgi":
        context = uvicorn_server(logging.asgi(ConsentMiddleware(SITE.asgi(), **options)))
    else:
        middleware = WSGIConsentMiddleware(SITE.wsgi(), **options)
        context = wsgiref_server(logging.wsgi(middleware), threaded=True)
    with context as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(params=["asgi", "wsgi"])
def site(request: pytest.FixtureRequest, browser: Any) -> Iterator[tuple[str, Logging, Any]]:
    logging = Logging()
    with server(request.param, logging) as base:
        context = browser.new_context()
        context.set_default_timeout(10_000)
        try:
            yield base, logging, context.new_page()
        finally:
            context.close()


def consent_default(tab: Any) -> Any:
    return tab.evaluate(
        "() => (window.dataLayer || []).map(a => Array.from(a))"
        ".find(a => a[0] === 'consent' && a[1] === 'default')"
    )


def test_no_csp_means_no_request_for_the_default(site: tuple[str, Logging, Any]) -> None:
    base, logging, tab = site
    tab.goto(base + "/")
    tab.wait_for_load_state("networkidle")
    assert consent_default(tab)[2]["analytics_storage"] == "denied"
    assert logging.paths("/_consent/defaults") == []


def test_under_a_strict_csp_the_default_is_fetched_once(site: tuple[str, Logging, Any]) -> None:
    base, logging, tab = site
    for path in ("/strict/a", "/strict/b", "/strict/a", "/strict/b"):
        tab.goto(base + path)
        tab.wait_for_load_state("networkidle")
        assert consent_default(tab)[2]["ad_storage"] == "denied"  # it ran, before the rest
    fetched = logging.paths("/_consent/defaults/")
    assert len(fetched) == 1, logging.log
    assert fetched[0][1] == 200
    # The banner, from its hashed URL, also once for all four views.
    banners = logging.paths("/_consent/banner.")
    assert [entry[1] for entry in banners if entry[0].endswith(".js")] == [200]


def test_banner_arrives_compressed_and_revalidates(site: tuple[str, Logging, Any]) -> None:
    base, logging, tab = site
    assert BANNER is not None
    with tab.expect_response(lambda r: "/_consent/banner." in r.url and ".js" in r.url) as got:
        tab.goto(base + "/")
    response = got.value
    assert response.all_headers()["content-encoding"] in ("br", "gzip")
    assert response.all_headers()["cache-control"] == "public, max-age=31536000, immutable"
    assert response.body() == BANNER.body  # the browser decoded it
    [(_, _, accepted, _)] = [e for e in logging.paths("/_consent/banner.") if e[0].endswith(".js")]
    assert "gzip" in accepted
    # The plain URL: fetched, then revalidated (no-cache forces the conditional request).
    script = """async () => {
        const a = await fetch('/_consent/banner.js', {cache: 'no-cache'});
        await a.arrayBuffer();  // read whole: only a complete entry is revalidated
        const b = await fetch('/_consent/banner.js', {cache: 'no-cache'});
        return [a.status, b.status, new TextEncoder().encode(await b.text()).length];
    }"""
    statuses = tab.evaluate(script)
    assert statuses == [200, 200, len(BANNER.body)]
    plain = logging.paths("/_consent/banner.js")
    assert [entry[1] for entry in plain] == [200, 304], plain
    assert plain[1][3]  # the browser sent the validator it held
    assert len(gzip.compress(BANNER.body)) < len(BANNER.body) / 2
