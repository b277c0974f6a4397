"""Fixtures for the real-browser tests: the demo site on a real server, headless
Chromium driven by Playwright, and a network recorder that keeps every request
to a third-party host inside the test.

* ``demo_server`` (session): the demo app (``consent_mw.demo.create_app``) with a
  :class:`~consent_mw.MemoryStore`, served by uvicorn in a thread on a free
  loopback port; stopped at the end of the session.
* ``browser`` (package): Debian's ``/usr/bin/chromium``, headless. Missing
  Chromium or Playwright skips these tests, or fails them when ``CI`` is set.
* ``serve(site, **options)`` (per test, once per adapter): a
  :class:`~support.browser_sites.Site` behind ``ConsentMiddleware`` (uvicorn) or
  ``WSGIConsentMiddleware`` (wsgiref) on a free loopback port, and a
  :class:`~support.browser_sites.Running` browser context on it.
* ``new_page(**context_options)`` (per test): a page in a fresh browser context
  whose network is intercepted: requests to the demo server go through, every
  other request is recorded in ``page.net`` and answered with a small fake
  (a script that sets a global in ``window.__fake``, a pixel, or an empty 204).
  Nothing is sent to the internet.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from consent_mw import MemoryStore
from consent_mw.core.cookies import ConsentCookieCodec
from support.browser_sites import GIF, Running, Site, resolver_rules, served

CHROMIUM = "/usr/bin/chromium"
#: what headless Chromium sends unless told otherwise: automation, which gets no banner
HEADLESS_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/156.0.0.0 Safari/537.36"
)
CHROMIUM_ARGS = [
    # The tests play a person at a desktop Chrome (docs/bots.md: HeadlessChrome is a bot).
    "--user-agent=" + HEADLESS_USER_AGENT.replace("HeadlessChrome/", "Chrome/"),
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Nothing the interception misses can reach another host: no name resolves.
    resolver_rules(),
]
SECRET = "browser-test-secret-0123456789abcdef"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"

# Tracker hosts by category, written here (not taken from the product's registry)
# so that a gap in the registry shows up as a failing test. A host matches itself
# and its subdomains.
ANALYTICS_HOSTS = (
    "googletagmanager.com",
    "google-analytics.com",
    "analytics.google.com",
    "wcs.naver.net",
    "wcs.naver.com",
)
ADVERTISING_HOSTS = (
    "facebook.net",
    "facebook.com",
    "daumcdn.net",
    "daum.net",
    "kakao.com",
    "doubleclick.net",
    "googleadservices.com",
    "googlesyndication.com",
)


def _fake_script(name: str, extra: str = "") -> str:
    return (
        "(function(w){w.__fake=w.__fake||{};"
        f"w.__fake[{name!r}]=(w.__fake[{name!r}]||0)+1;{extra}}})(window);"
    )


# (host suffix, path prefix) -> body of the fake script served for it
FAKE_SCRIPTS: dict[tuple[str, str], str] = {
    # gtag.js sets its own cookie from the page, as the real one does.
    ("googletagmanager.com", "/gtag/js"): _fake_script(
        "gtag_js", "document.cookie='_ga_DEMO1234=GS1.1.1700000000; path=/; max-age=3600';"
    ),
    ("connect.facebook.net", "/"): _fake_script("fbevents_js"),
    (
        "t1.daumcdn.net",
        "/kas/static/kp.js",
    ): _fake_script(
        "kp_js",
        "w.kakaoPixel=function(id){return{pageView:function(){"
        "w.__fake.kakao_pageview=(w.__fake.kakao_pageview||0)+1;}};};",
    ),
    ("wcs.naver.net", "/wcslog.js"): _fake_script(
        "wcslog_js",
        "w.wcs={};w.wcs_do=function(){w.__fake.wcs_do=(w.__fake.wcs_do||0)+1;};",
    ),
}


def host_matches(host: str, suffixes: tuple[str, ...]) -> bool:
    host = host.lower()
    return any(host == s or host.endswith("." + s) for s in suffixes)


# -- requirements ------------------------------------------------------------------


def require_browser() -> None:
    """Skip (fail under CI) when Chromium or the Playwright package is missing."""
    missing = []
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        missing.append(CHROMIUM)
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright Python package")
    if missing:
        message = "browser tests need " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def require_cjk_font() -> None:
    """Korean screenshots are useless without a CJK font (fonts-noto-cjk)."""
    fc_list = shutil.which("fc-list")
    found = False
    if fc_list:
        import subprocess

        out = subprocess.run(
            [fc_list, ":lang=ko", "family"], capture_output=True, text=True, check=False
        )
        found = bool(out.stdout.strip())
    if not found:
        message = "no Korean font installed (apt-get install fonts-noto-cjk)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


# -- the demo server ---------------------------------------------------------------------


@dataclass
class DemoServer:
    base_url: str
    host: str  # "127.0.0.1:PORT"
    store: MemoryStore
    codec: ConsentCookieCodec

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="session")
def demo_server() -> Iterator[DemoServer]:
    require_browser()
    import uvicorn

    from consent_mw.demo import create_app

    store = MemoryStore()
    app = create_app(store=store, secret_key=SECRET)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        lifespan="off",
        ws="none",
        log_config=None,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported by the fixture, not lost in the thread
            errors.append(exc)

    thread = threading.Thread(target=run, name="demo-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if errors or not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"the demo server did not start: {errors!r}")
        time.sleep(0.02)
    host = f"127.0.0.1:{port}"
    try:
        yield DemoServer(f"http://{host}", host, store, ConsentCookieCodec(SECRET))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert not errors, errors


# -- the browser ------------------------------------------------------------------------


# Package scope, not session: Playwright's sync API keeps its event loop marked as
# running in the main thread while it is started, so ``asyncio.run()`` in the other
# test modules would fail after these tests. Stopped when the browser suite is done.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    require_browser()
    from playwright.sync_api import sync_playwright

    manager = sync_playwright()
    playwright = manager.start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        manager.__exit__(None, None, None)


@dataclass
class NetLog:
    """What one browser context asked of hosts other than the demo server."""

    server_host: str
    third_party: list[str] = field(default_factory=list)  # URLs, in order
    own: list[tuple[str, str]] = field(default_factory=list)  # (method, URL)

    def hosts(self) -> set[str]:
        return {urlsplit(u).hostname or "" for u in self.third_party}

    def tracker_hosts(self, suffixes: tuple[str, ...]) -> set[str]:
        return {h for h in self.hosts() if host_matches(h, suffixes)}

    @property
    def analytics(self) -> set[str]:
        return self.tracker_hosts(ANALYTICS_HOSTS)

    @property
    def advertising(self) -> set[str]:
        return self.tracker_hosts(ADVERTISING_HOSTS)

    def clear(self) -> None:
        self.third_party.clear()
        self.own.clear()

    def handle(self, route: Any) -> None:
        request = route.request
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https") and parts.netloc == self.server_host:
            self.own.append((request.method, request.url))
            route.continue_()
            return
        self.third_party.append(request.url)
        host = (parts.hostname or "").lower()
        for (suffix, prefix), body in FAKE_SCRIPTS.items():
            if host_matches(host, (suffix,)) and parts.path.startswith(prefix):
                route.fulfill(status=200, content_type="text/javascript", body=body)
                return
        if request.resource_type == "image":
            route.fulfill(status=200, content_type="image/gif", body=GIF)
            return
        route.fulfill(status=204, body="")


class DemoPage:
    """A page of the demo site plus helpers to drive and read the banner."""

    def __init__(self, page: Any, server: DemoServer) -> None:
        self.page = page
        self.server = server
        self.net: NetLog = page.net
        self.context = page.context

    # -- navigation --

    def goto(self, path: str = "/?lang=en") -> Any:
        """Load ``path`` and wait until the banner has its state and the network is quiet."""
        response = self.page.goto(self.server.url(path))
        self.page.wait_for_function("() => !!(window.ConsentBanner && window.ConsentBanner.state)")
        self.settle()
        return response

    def reload(self) -> Any:
        """Reload with an empty network log."""
        self.net.clear()
        response = self.page.reload()
        self.page.wait_for_function("() => !!(window.ConsentBanner && window.ConsentBanner.state)")
        self.settle()
        return response

    def settle(self) -> None:
        """A bounded wait for "nothing more happens": no request for 500 ms."""
        self.page.wait_for_load_state("networkidle")

    # -- the banner --

    @property
    def layer1(self) -> Any:
        return self.page.locator(".cmw-l1")

    @property
    def layer2(self) -> Any:
        return self.page.locator(".cmw-l2")

    @property
    def reopen(self) -> Any:
        return self.page.locator("button.cmw-re")

    def button(self, name: str, layer: int = 1) -> Any:
        box = self.layer1 if layer == 1 else self.layer2
        return box.get_by_role("button", name=name, exact=True)

    def switch(self, category: str) -> Any:
        return self.layer2.locator(f'input.cmw-sw[data-id="{category}"]')

    def state(self) -> dict[str, Any]:
        return dict(self.page.evaluate("() => window.ConsentBanner.state"))

    def expect_consent_call(self, method: str = "POST") -> Any:
        """Context manager for the banner's call to ``/_consent`` (POST or DELETE)."""
        endpoint = self.server.url("/_consent")

        def match(response: Any) -> bool:
            url = response.url.split("?", 1)[0]
            return url == endpoint and response.request.method == method

        return self.page.expect_response(match)

    def wait_for_allowed(self, *categories: str) -> None:
        """Wait until the page applies a state the server acknowledged allowing exactly
        ``necessary`` plus ``categories``."""
        want = sorted({"necessary", *categories})
        self.page.wait_for_function(
            """(want) => {
                const s = window.ConsentBanner && window.ConsentBanner.state;
                return !!s && s.decided && !s.pending
                    && JSON.stringify(s.allowed.slice().sort()) === JSON.stringify(want);
            }""",
            arg=want,
        )

    # -- what the page did --

    def data_layer(self) -> list[list[Any]]:
        return list(
            self.page.evaluate(
                "() => (window.dataLayer || []).map(e => "
                "(e && typeof e === 'object' && 'length' in e) ? Array.from(e) : e)"
            )
        )

    def consent_updates(self) -> list[dict[str, str]]:
        return [
            e[2]
            for e in self.data_layer()
            if isinstance(e, list) and e[:2] == ["consent", "update"]
        ]

    def fakes(self) -> dict[str, int]:
        """What the fake third-party scripts recorded (``window.__fake``)."""
        return dict(self.page.evaluate("() => Object.assign({}, window.__fake || {})"))

    def cookies(self) -> dict[str, str]:
        return {c["name"]: c["value"] for c in self.context.cookies(self.server.base_url)}

    def consent_cookie(self) -> Any:
        """The consent cookie, verified and decoded (None when absent or invalid)."""
        value = self.cookies().get("consent_mw")
        return None if value is None else self.server.codec.loads(value)

    def focused(self) -> dict[str, Any]:
        """What has the keyboard focus: tag, class, text, data-id, checked, in which layer."""
        return dict(
            self.page.evaluate(
                """() => {
                    const a = document.activeElement;
                    if (!a) return {};
                    return {
                        tag: a.tagName.toLowerCase(),
                        cls: a.className || '',
                        text: (a.textContent || '').trim(),
                        id: a.getAttribute('data-id'),
                        checked: a.checked === undefined ? null : a.checked,
                        layer: a.closest('.cmw-l2') ? 2 : a.closest('.cmw-l1') ? 1 : 0,
                    };
                }"""
            )
        )


@pytest.fixture
def new_page(browser: Any, demo_server: DemoServer) -> Iterator[Callable[..., Any]]:
    """``new_page(**context_options)`` -> a Playwright page with ``page.net`` (a NetLog)."""
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        options.setdefault("locale", "en-US")
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        net = NetLog(demo_server.host)
        context.route("**/*", net.handle)
        page = context.new_page()
        page.net = net
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot_dir() -> Path:
    """``test-artifacts/screenshots/`` at the top of the repository (git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def cjk_font() -> None:
    require_cjk_font()


@pytest.fixture
def demo_page(new_page: Callable[..., Any], demo_server: DemoServer) -> Callable[..., DemoPage]:
    """``demo_page(**context_options)`` -> a :class:`DemoPage` in a fresh context."""

    def make(**options: Any) -> DemoPage:
        options.setdefault("reduced_motion", "reduce")
        return DemoPage(new_page(**options), demo_server)

    return make


@pytest.fixture(params=["asgi", "wsgi"])
def serve(request: pytest.FixtureRequest, browser: Any) -> Iterator[Callable[..., Running]]:
    """``serve(site, **options)``: the site behind the middleware, on a real server."""
    contexts: list[Running] = []
    with ExitStack() as servers:

        def start(site: Site, **options: Any) -> Running:
            options = {"policy": "gdpr", "secret_key": SECRET, **options}
            server = servers.enter_context(served(request.param, site, **options))
            running = Running(browser, server.port, server.middleware, server.store)
            contexts.append(running)
            return running

        yield start
        for running in contexts:
            running.context.close()
