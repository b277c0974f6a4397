"""Every construct that makes a browser fetch, against the HTML rewriter alone.

One row per construct: a page whose only third-party URL is one tracker URL of the
registry, served behind both adapters with the rewriter on (the default) and no CSP,
so only the rewriter can keep the browser from fetching it. Chromium loads each page
with every off-host request intercepted and answered by a stub (see
:class:`support.browser_sites.Running`), so a URL in ``requests`` is one the browser
really sent. For each row:

* undecided (no consent cookie): nothing reaches a tracker host;
* consent to the row's category in the cookie: the tracker URL is requested, which
  proves the construct fetches in this Chromium at all;
* undecided, then consent given through the banner on the page: the banner restores
  the element and the tracker URL is requested without a reload.

A speculation-rules prefetch is made by Chromium's browser process, past Playwright's
interception: the table's Chromium resolves each tracker host to a socket of its own
(:class:`support.browser_sites.HostSinks`), where such a fetch shows up as a connection.
Any connection there counts as reaching the tracker in every row.

Left out, because Chromium 156 under Playwright never fetches them, so that no row
could tell a neutralised one from a live one:

* ``<link rel=icon>``: Chromium fetches favicons from the browser process, and not at
  all in a context whose requests Playwright intercepts;
* ``<link rel=preconnect>``: opens no connection here, intercepted or not, and would
  send no request if it did;
* ``<svg><use href>`` to another origin: refused before the network ("Unsafe attempt
  to load URL … Domains, protocols and ports must match");
* ``new Worker(url)`` to another origin: throws SecurityError before the network; the
  row ``inline-importscripts`` covers a worker that fetches a tracker
  (``importScripts`` in a blob worker, whose source names the URL).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import pytest

from support.browser_sites import HostSinks, Running, Served, Site, page, served

from .conftest import CHROMIUM, CHROMIUM_ARGS, SECRET

pytestmark = pytest.mark.browser

Category = Literal["analytics", "advertising"]

# Written here, not taken from the registry: a gap there shows up as a failure.
ADVERTISING = ("facebook.com", "facebook.net", "tiktok.com")
ANALYTICS = ("googletagmanager.com", "google-analytics.com")
TRACKERS = ADVERTISING + ANALYTICS
# Every tracker host a row names.
TRACKER_HOSTS = (
    "www.facebook.com",
    "connect.facebook.net",
    "analytics.tiktok.com",
    "www.googletagmanager.com",
    "www.google-analytics.com",
)
TRACKER_HOST = re.compile("|".join(re.escape(host) for host in TRACKER_HOSTS))
PLAIN_HOST = "cdn.example.org"
HTML = "text/html; charset=utf-8"

# How long to keep watching a page for what must not happen once it is quiet: a
# meta refresh, a click or a submit a first-party script made at load.
GRACE_MS = 500
# How long to wait for a request that must happen.
REQUEST_TIMEOUT_MS = 10_000
# How long to wait, at most, for a navigation's preconnects; and how long with no new
# connection counts as done.
SETTLE_MS = 3_000
QUIET_MS = 250


@dataclass(frozen=True)
class Case:
    """One construct: where its tracker URL goes, and what it must fetch once allowed."""

    id: str
    category: Category
    want: str  # the start of the URL the construct requests (decoded, as sent)
    body: str = ""
    head: str = ""
    doc: str = ""  # a whole document, where ``page()`` cannot say it
    act: str = ""  # what the page's own script does at load: a click, a submit
    grace: bool = False  # the fetch may come after the page is quiet
    socket: bool = False  # fetched past the interception: seen as a connection
    navigates: bool = False  # a frame goes to the tracker URL (see settle_preconnects)
    # A frameset document renders no body, so the banner it gets is never shown.
    banner_hidden: bool = False


FB_TR = "https://www.facebook.com/tr?id=1&amp;ev="
GA = "https://www.google-analytics.com/g/collect?v=2&amp;en="
SINK = '<iframe name="sink" title="sink"></iframe>'


def fb(ev: str) -> str:
    return "https://www.facebook.com/tr?id=1&ev=" + ev


def ga(en: str) -> str:
    return "https://www.google-analytics.com/g/collect?v=2&en=" + en


CASES: tuple[Case, ...] = (
    Case("img", "advertising", fb("img"), f'<img src="{FB_TR}img" alt="">'),
    Case("img-srcset", "analytics", ga("srcset"), f'<img srcset="{GA}srcset 1x" alt="">'),
    Case(
        "picture-source-srcset",
        "advertising",
        fb("picture"),
        f'<picture><source srcset="{FB_TR}picture" type="image/gif">'
        '<img src="/local.gif" alt=""></picture>',
    ),
    Case(
        "video-src",
        "advertising",
        "https://analytics.tiktok.com/i18n/pixel/video.mp4",
        '<video src="https://analytics.tiktok.com/i18n/pixel/video.mp4"></video>',
    ),
    Case("video-poster", "analytics", ga("poster"), f'<video poster="{GA}poster"></video>'),
    Case(
        "audio-src",
        "advertising",
        "https://analytics.tiktok.com/i18n/pixel/audio.mp3",
        '<audio src="https://analytics.tiktok.com/i18n/pixel/audio.mp3"></audio>',
    ),
    # Chromium fetches a cross-origin track only for a media element with crossorigin.
    Case(
        "video-track",
        "analytics",
        "https://www.googletagmanager.com/track.vtt",
        '<video crossorigin="anonymous"><track default kind="subtitles" srclang="en" '
        'src="https://www.googletagmanager.com/track.vtt"></video>',
    ),
    Case("object-data", "advertising", fb("object"), f'<object data="{FB_TR}object"></object>'),
    Case("embed-src", "advertising", fb("embed"), f'<embed src="{FB_TR}embed">'),
    Case(
        "iframe-src",
        "analytics",
        "https://www.googletagmanager.com/ns.html?id=GTM-IFRAME",
        '<iframe src="https://www.googletagmanager.com/ns.html?id=GTM-IFRAME"></iframe>',
    ),
    Case(
        "frame-src",
        "analytics",
        "https://www.googletagmanager.com/ns.html?id=GTM-FRAME",
        doc="<!doctype html><html><head><meta charset=utf-8><title>t</title></head>"
        '<frameset rows="50%,50%"><frame src="/landed">'
        '<frame src="https://www.googletagmanager.com/ns.html?id=GTM-FRAME"></frameset></html>',
        banner_hidden=True,
    ),
    Case(
        "input-image-src",
        "advertising",
        fb("input"),
        f'<input type="image" src="{FB_TR}input" alt="go">',
    ),
    Case(
        "link-stylesheet",
        "analytics",
        "https://www.googletagmanager.com/static/tag.css",
        head='<link rel="stylesheet" href="https://www.googletagmanager.com/static/tag.css">',
    ),
    Case(
        "link-preload",
        "advertising",
        "https://connect.facebook.net/en_US/fbevents.js",
        head='<link rel="preload" as="script" '
        'href="https://connect.facebook.net/en_US/fbevents.js">',
    ),
    Case(
        "link-prefetch",
        "advertising",
        "https://connect.facebook.net/signals/config/1",
        head='<link rel="prefetch" href="https://connect.facebook.net/signals/config/1">',
    ),
    # Chromium preloads a link when it is inserted or its href changes, not when its
    # imagesrcset does: restoring the attribute in place fetches nothing (re-inserting the
    # element does).
    Case(
        "link-imagesrcset",
        "advertising",
        fb("imagesrcset"),
        head=f'<link rel="preload" as="image" imagesrcset="{FB_TR}imagesrcset 1x">',
    ),
    Case(
        "svg-image-href",
        "advertising",
        fb("svg-image"),
        f'<svg width="10" height="10"><image href="{FB_TR}svg-image" width="10" height="10"/>'
        "</svg>",
    ),
    Case(
        "svg-image-xlink-href",
        "advertising",
        fb("svg-xlink"),
        f'<svg width="10" height="10"><image xlink:href="{FB_TR}svg-xlink" width="10" '
        'height="10"/></svg>',
    ),
    Case(
        "svg-feimage-href",
        "advertising",
        fb("feimage"),
        f'<svg width="10" height="10"><filter id="f"><feImage href="{FB_TR}feimage"/></filter>'
        '<rect width="10" height="10" filter="url(#f)"/></svg>',
    ),
    Case(
        "svg-script-href",
        "advertising",
        "https://connect.facebook.net/en_US/sdk.js",
        '<svg width="10" height="10"><script href="https://connect.facebook.net/en_US/sdk.js">'
        "</script></svg>",
    ),
    Case(
        "body-background",
        "analytics",
        ga("body"),
        doc="<!doctype html><html><head><meta charset=utf-8><title>t</title></head>"
        f'<body background="{GA}body"><p>text</p></body></html>',
    ),
    Case(
        "table-background",
        "advertising",
        fb("table"),
        f'<table background="{FB_TR}table" width="20" height="20"><tr><td>x</td></tr></table>',
    ),
    Case(
        "td-background",
        "advertising",
        fb("td"),
        f'<table><tr><td background="{FB_TR}td" width="20" height="20">x</td></tr></table>',
    ),
    Case(
        "style-attr-url",
        "analytics",
        ga("style"),
        f'<div style="background:url({GA}style)">x</div>',
    ),
    Case(
        "style-attr-quoted-url",
        "analytics",
        ga("quoted"),
        f"<div style='background-image:url(\"{GA}quoted\")'>x</div>",
    ),
    Case(
        "style-attr-charref-url",
        "analytics",
        ga("charref"),
        f'<div style="background-image:url(&quot;{GA}charref&quot;)">x</div>',
    ),
    Case(
        "style-attr-image-set",
        "advertising",
        fb("image-set"),
        f"<div style='background-image:image-set(\"{FB_TR}image-set\" 1x)'>x</div>",
    ),
    Case(
        "style-import",
        "analytics",
        "https://www.googletagmanager.com/static/import.css",
        head='<style>@import url("https://www.googletagmanager.com/static/import.css");</style>',
    ),
    Case(
        "style-rule-url",
        "advertising",
        fb("rule"),
        '<div class="px">x</div>',
        head="<style>.px { background: url(https://www.facebook.com/tr?id=1&ev=rule); }</style>",
    ),
    Case(
        "style-font-face",
        "analytics",
        "https://www.googletagmanager.com/static/font.woff2",
        "<p>text in the font</p>",
        head="<style>@font-face { font-family: T; "
        'src: url("https://www.googletagmanager.com/static/font.woff2"); } '
        "body { font-family: T; }</style>",
    ),
    Case(
        "iframe-srcdoc",
        "advertising",
        fb("srcdoc"),
        f"<iframe srcdoc=\"<img src='{FB_TR}srcdoc' alt=''>\"></iframe>",
    ),
    Case(
        "meta-refresh",
        "advertising",
        fb("refresh"),
        head=f'<meta http-equiv="refresh" content="0;url={FB_TR}refresh">',
        grace=True,
        navigates=True,
    ),
    # The banner's own URLs are relative too (``/_consent…``): under a <base> that names
    # a tracker host they go there as well, so these rows hold only once the banner
    # resolves them against the page's origin.
    Case(
        "base-href-relative-script",
        "advertising",
        "https://connect.facebook.net/en_US/fbevents.js",
        '<script src="/en_US/fbevents.js"></script>',
        head='<base href="https://connect.facebook.net/">',
    ),
    Case(
        "base-href-relative-img",
        "advertising",
        fb("base"),
        '<img src="/tr?id=1&amp;ev=base" alt="">',
        head='<base href="https://www.facebook.com/">',
    ),
    Case(
        "inline-fetch",
        "analytics",
        ga("fetch"),
        "<script>fetch('https://www.google-analytics.com/g/collect?v=2&en=fetch', "
        "{mode: 'no-cors'}).catch(function () {});</script>",
    ),
    Case(
        "inline-sendbeacon",
        "advertising",
        "https://analytics.tiktok.com/api/v2/pixel",
        "<script>navigator.sendBeacon('https://analytics.tiktok.com/api/v2/pixel', 'x');</script>",
    ),
    Case(
        "inline-xhr",
        "analytics",
        ga("xhr"),
        "<script>var x = new XMLHttpRequest();"
        " x.open('GET', 'https://www.google-analytics.com/g/collect?v=2&en=xhr'); x.send();"
        "</script>",
    ),
    Case(
        "inline-new-image",
        "advertising",
        fb("image"),
        "<script>new Image().src = 'https://www.facebook.com/tr?id=1&ev=image';</script>",
    ),
    Case(
        "inline-importscripts",
        "advertising",
        "https://connect.facebook.net/en_US/imported.js",
        "<script>new Worker(URL.createObjectURL(new Blob("
        "[\"importScripts('https://connect.facebook.net/en_US/imported.js');\"],"
        " {type: 'text/javascript'})));</script>",
    ),
    Case(
        "speculationrules-prefetch",
        "analytics",
        "https://www.googletagmanager.com/gtm.js?id=GTM-SPEC",
        '<script type="speculationrules">{"prefetch": [{"source": "list", '
        '"urls": ["https://www.googletagmanager.com/gtm.js?id=GTM-SPEC"]}]}</script>',
        socket=True,
    ),
    Case(
        "a-ping",
        "advertising",
        fb("ping"),
        f'<a id="go" href="/landed" target="sink" ping="{FB_TR}ping">go</a>{SINK}',
        act="document.getElementById('go').click();",
        grace=True,
    ),
    Case(
        "form-action",
        "analytics",
        "https://www.google-analytics.com/g/collect?v=2",
        '<form id="f" action="https://www.google-analytics.com/g/collect" target="sink">'
        f'<input type="hidden" name="v" value="2"></form>{SINK}',
        act="document.getElementById('f').submit();",
        grace=True,
        navigates=True,
    ),
    Case(
        "button-formaction",
        "advertising",
        "https://www.facebook.com/tr?id=1",
        '<form action="/landed" target="sink"><input type="hidden" name="id" value="1">'
        f'<button id="b" formaction="https://www.facebook.com/tr">go</button></form>{SINK}',
        act="document.getElementById('b').click();",
        grace=True,
        navigates=True,
    ),
)


def document(case: Case) -> str:
    if case.doc:
        return case.doc
    body = case.body
    if case.act:
        # Top-level only: a submit without its action lands in the sink frame on this
        # very page, which must not act again.
        body += (
            f"<script>window.act = function () {{ {case.act} }};"
            " if (window === top) { act(); window.__acted = true; }</script>"
        )
    return page(body, case.head).decode()


def plain(html: str) -> str:
    """The same page with every tracker host replaced by a host of no tracker."""
    return TRACKER_HOST.sub(PLAIN_HOST, html)


def build_site() -> Site:
    landed = page("<p>landed</p>")
    routes = {"/landed": (HTML, landed, [])}
    for case in CASES:
        html = document(case)
        routes[f"/case/{case.id}"] = (HTML, html.encode(), [])
        routes[f"/plain/{case.id}"] = (HTML, plain(html).encode(), [])
    routes["/plain/empty"] = (HTML, page(""), [])
    return Site(routes)


SITE = build_site()


@pytest.fixture(scope="module")
def sinks() -> Iterator[HostSinks]:
    with HostSinks(TRACKER_HOSTS) as running:
        yield running


@pytest.fixture(scope="module")
def table_browser(browser: Any, sinks: HostSinks) -> Iterator[Any]:
    """A Chromium of its own, whose tracker hosts resolve to ``sinks``."""
    args = [a for a in CHROMIUM_ARGS if not a.startswith("--host-resolver-rules=")]
    chromium = browser.browser_type.launch(
        executable_path=CHROMIUM, args=[*args, sinks.rule()], headless=True
    )
    yield chromium
    chromium.close()


@pytest.fixture(scope="module", params=["asgi", "wsgi"])
def server(request: pytest.FixtureRequest) -> Iterator[Served]:
    """The table's site behind one adapter, once per module: rewriting on, no CSP."""
    with served(request.param, SITE, policy="gdpr", secret_key=SECRET) as running:
        yield running


@pytest.fixture
def visitor(table_browser: Any, server: Served, sinks: HostSinks) -> Iterator[Running]:
    """A fresh browser context on the table's site."""
    sinks.clear()
    running = Running(table_browser, server.port, server.middleware, server.store)
    running.context.set_default_timeout(10_000)
    yield running
    running.context.close()


def reached(visitor: Running, sinks: HostSinks) -> list[str]:
    """The tracker URLs requested, and ``https://HOST/`` for a connection to a sink."""
    return visitor.hosts(TRACKERS) + [f"https://{host}/" for host in sinks.connected()]


def wait_for_request(visitor: Running, sinks: HostSinks, case: Case) -> None:
    """Let the page run until the case's URL is requested (its host connected to, for a
    fetch past the interception), for at most REQUEST_TIMEOUT_MS."""
    want = case.want
    if case.socket:
        want = "https://" + urlsplit(want).netloc + "/"
    waited = 0
    while not any(u.startswith(want) for u in reached(visitor, sinks)):
        if waited >= REQUEST_TIMEOUT_MS:
            raise AssertionError(f"{want} was not requested; requested: {visitor.requests}")
        # Through Playwright: its sync API runs the route handler only during its calls.
        visitor.page.wait_for_timeout(100)
        waited += 100
    if case.navigates:
        settle_preconnects(visitor, sinks, case)


def settle_preconnects(visitor: Running, sinks: HostSinks, case: Case) -> None:
    """Wait for the connections Chromium's browser process opens to the origin a frame
    navigates to (its loading predictor preconnects, two sockets here). They go past the
    interception to the row's sink and can arrive after the intercepted request, so
    without this wait they could land after the next row has cleared the sinks and be
    counted against it. Bounded: a Chromium that opens none costs SETTLE_MS."""
    host = urlsplit(case.want).hostname
    waited = quiet = 0
    seen = len(sinks.connected())
    while waited < SETTLE_MS and not (host in sinks.connected() and quiet >= QUIET_MS):
        visitor.page.wait_for_timeout(50)
        waited += 50
        now = len(sinks.connected())
        quiet = 0 if now != seen else quiet + 50
        seen = now


def load(visitor: Running, case: Case) -> None:
    visitor.visit(f"/case/{case.id}")
    if case.grace:
        visitor.page.wait_for_timeout(GRACE_MS)


def consent_on_page(visitor: Running, case: Case) -> None:
    """Allow the case's category through the banner's preferences, as a visitor would,
    and wait for the server's answer."""
    page_ = visitor.page
    page_.wait_for_function("() => !!(window.ConsentBanner && ConsentBanner.state)")
    page_.evaluate("() => ConsentBanner.open('preferences')")
    switch = page_.locator(f'.cmw-l2 input.cmw-sw[data-id="{case.category}"]')
    save = page_.locator(".cmw-l2 button.cmw-p")

    def acknowledged(response: Any) -> bool:
        return "/_consent" in response.url and response.request.method == "POST"

    with page_.expect_response(acknowledged) as answer:
        if case.banner_hidden:
            # No visitor can click it; its own click handlers still run.
            assert not switch.is_visible()
            switch.dispatch_event("click")
            save.dispatch_event("click")
        else:
            switch.check()
            save.click()
    assert answer.value.status == 200


IDS = [case.id for case in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_undecided_no_tracker_is_reached(visitor: Running, sinks: HostSinks, case: Case) -> None:
    load(visitor, case)
    if case.act:
        assert visitor.page.evaluate("() => window.__acted") is True
    assert reached(visitor, sinks) == []


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_consent_in_the_cookie_lets_the_tracker_load(
    visitor: Running, sinks: HostSinks, case: Case
) -> None:
    visitor.consent(**{case.category: True})
    visitor.page.goto(f"{visitor.base}/case/{case.id}")
    wait_for_request(visitor, sinks, case)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_consent_on_the_page_reactivates_it(visitor: Running, sinks: HostSinks, case: Case) -> None:
    load(visitor, case)
    assert reached(visitor, sinks) == []
    consent_on_page(visitor, case)
    if case.act:
        # A restored ping, action or formaction sends nothing by itself: Chromium pings
        # and submits when a link is followed or a form submitted, and the page did that
        # at load. The next click or submit reaches the tracker.
        visitor.page.wait_for_function(
            "(c) => ConsentBanner.state.allowed.indexOf(c) > -1", arg=case.category
        )
        visitor.page.wait_for_timeout(GRACE_MS)
        assert reached(visitor, sinks) == []
        visitor.page.evaluate("() => act()")
    # A restored meta refresh is not like them: Chromium runs a refresh when its content
    # changes, so the page goes to the tracker URL at once.
    wait_for_request(visitor, sinks, case)


def test_a_page_without_trackers_is_served_byte_for_byte(visitor: Running) -> None:
    """Every row's page with a host of no tracker: what the app sent plus the injected
    block after ``<head>``, the same block as on an empty page."""

    def fetch(path: str) -> tuple[bytes, bytes]:
        sent = SITE.routes[path][1]
        response = visitor.page.request.get(visitor.base + path)
        assert response.status == 200
        return sent, response.body()

    sent, got = fetch("/plain/empty")
    head = sent.index(b"<head>") + len(b"<head>")
    assert got.startswith(sent[:head]) and got.endswith(sent[head:])
    injection = got[head : len(got) - len(sent) + head]
    # No CSP on these pages: the Consent Mode default inline, then the banner's hashed URL.
    assert injection.startswith(b"<script>window.dataLayer=")
    assert re.search(rb'<script src="/_consent/banner\.[0-9a-f]{16}\.js"', injection)
    for case in CASES:
        sent, got = fetch(f"/plain/{case.id}")
        assert TRACKER_HOST.search(sent.decode()) is None
        head = sent.index(b"<head>") + len(b"<head>")
        assert got == sent[:head] + injection + sent[head:], case.id


ASSEMBLED = page(
    "<script>var s = document.createElement('script');"
    " s.src = 'https://' + 'connect.facebook' + '.net/en_US/assembled.js';"
    " document.head.appendChild(s); window.__added = true;</script>"
)


def test_a_url_assembled_at_run_time_is_left_to_the_browsers_policy(
    serve: Callable[..., Running],
) -> None:
    site = Site({"/assembled": (HTML, ASSEMBLED, [])})
    # The rewriter alone cannot know where the script will load from: this is its limit.
    alone = serve(site)
    alone.visit("/assembled")
    assert alone.hosts(TRACKERS) == ["https://connect.facebook.net/en_US/assembled.js"]
    # The browser, told by the CSP the middleware sends, refuses it.
    enforced = serve(site, csp="enforce")
    enforced.visit("/assembled")
    assert enforced.page.evaluate("() => window.__added") is True
    assert enforced.hosts(TRACKERS) == []
