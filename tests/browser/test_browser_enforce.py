"""The browser enforces the decision (``csp="enforce"``): trackers a first-party script
injects at run time never leave the browser, whatever route they take; the app's own
CSP still governs; ``report`` blocks nothing and its reports reach the inventory.

Each site runs behind both adapters on a real server (uvicorn, wsgiref); Debian's
Chromium loads it with every off-host request intercepted and answered by a stub, so a
request that shows up in ``Running.requests`` is one the browser really sent. The HTML
rewriter is off in the enforcing cases, so that only the browser's policy can block.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from consent_mw import MemoryStore
from consent_mw.core.host_audit import HOST_AUDIT_KIND, summarise_hosts
from consent_mw.policy.presets import preset_dict
from support.app_servers import uvicorn_server
from support.browser_sites import Routes, Running, Site, page

from .conftest import SECRET

pytestmark = pytest.mark.browser

# Written here, not taken from the registry: a gap there shows up as a failure.
ADVERTISING = ("facebook.com", "facebook.net", "tiktok.com")
ANALYTICS = ("googletagmanager.com", "google-analytics.com")
UNDECLARED = ("segment.com", "tracker.example")

# A first-party bundle that loads its trackers at run time: the rewriter never sees
# these tags, only the browser does.
APP_JS = """
(function () {
  function add(src) { var s = document.createElement('script'); s.src = src;
    document.head.appendChild(s); }
  add('https://connect.facebook.net/en_US/fbevents.js');
  add('https://analytics.tiktok.com/i18n/pixel/events.js?sdkid=T1');
  add('https://www.googletagmanager.com/gtm.js?id=GTM-T1');
  add('https://cdn.segment.com/analytics.js/v1/KEY/analytics.min.js');
  new Image().src = 'https://www.facebook.com/tr?id=1&ev=PageView';
  fetch('https://www.google-analytics.com/g/collect?v=2&tid=G-T1', {mode: 'no-cors'})
    .catch(function () {});
  fetch('https://tracker.example/collect', {mode: 'no-cors'}).catch(function () {});
  navigator.sendBeacon('https://analytics.tiktok.com/api/v2/pixel', 'x');
})();
"""

# Tracker URLs a page assembles at run time, and the other ways a page fetches.
TRICKS = r"""<!doctype html><html><head><meta charset=utf-8><title>tricks</title>
<style>@import url("https://analytics.tiktok.com/import.css");</style>
<style>body { background: url("https://www.facebook.com/tr?css=1"); }</style>
</head><body>
<video src="https://www.facebook.com/v.mp4"></video>
<audio src="https://analytics.tiktok.com/a.mp3"></audio>
<object data="https://www.facebook.com/o.swf"></object>
<script>
  var host = 'connect.' + 'face' + 'book' + '.net';
  var s = document.createElement('script'); s.src = 'https://' + host + '/concat.js';
  document.head.appendChild(s);
  new Image().src = String.fromCharCode(104,116,116,112,115,58,47,47,119,119,119,46,102,
    97,99,101,98,111,111,107,46,99,111,109,47,116,114,63,99,61,49);
  fetch(atob('aHR0cHM6Ly9hbmFseXRpY3MudGlrdG9rLmNvbS9hdG9i'), {mode: 'no-cors'})
    .catch(function () {});
  new Image().src = 'https://www\x2efacebook\u002ecom/tr?e=1';
  var w = new Worker('/worker.js');
  w.onmessage = function (e) { document.title = 'worker:' + e.data; };
</script></body></html>"""

WORKER_JS = """
fetch('https://www.facebook.com/tr?worker=1', {mode: 'no-cors'})
  .then(function () { postMessage('sent'); }, function () { postMessage('refused'); });
"""


def base_site(extra: Routes | None = None) -> Site:
    return Site(
        {
            "/run": ("text/html; charset=utf-8", page('<script src="/app.js"></script>'), []),
            "/app.js": ("text/javascript", APP_JS.encode(), []),
            "/tricks": ("text/html; charset=utf-8", TRICKS.encode(), []),
            "/worker.js": ("text/javascript", WORKER_JS.encode(), []),
            **(extra or {}),
        }
    )


ENFORCE = {"csp": "enforce", "rewrite_html": False}


def test_enforce_without_consent_no_tracker_is_reached(serve: Callable[..., Running]) -> None:
    site = serve(base_site(), **ENFORCE)
    site.visit("/run")
    assert site.page.evaluate("() => document.readyState") == "complete"
    reached = site.hosts(ADVERTISING + ANALYTICS + UNDECLARED)
    assert reached == []


def test_enforce_with_analytics_only(serve: Callable[..., Running]) -> None:
    site = serve(base_site(), **ENFORCE)
    site.consent(analytics=True)
    site.visit("/run")
    assert site.hosts(ANALYTICS), site.requests
    assert {urlsplit(u).hostname for u in site.hosts(ANALYTICS)} >= {
        "www.googletagmanager.com",
        "www.google-analytics.com",
    }
    assert site.hosts(ADVERTISING) == []
    assert site.hosts(UNDECLARED) == []


def test_without_a_policy_every_tracker_is_reached(serve: Callable[..., Running]) -> None:
    # The control: the same page with csp off reaches them all, so the cases above
    # measure the policy, not a broken page.
    site = serve(base_site(), rewrite_html=False)
    site.visit("/run")
    hosts = {urlsplit(u).hostname for u in site.requests}
    assert {"connect.facebook.net", "www.facebook.com", "analytics.tiktok.com"} <= hosts
    assert {"www.googletagmanager.com", "cdn.segment.com", "tracker.example"} <= hosts


def test_enforce_stops_assembled_urls_workers_css_media_and_objects(
    serve: Callable[..., Running],
) -> None:
    site = serve(base_site(), **ENFORCE)
    site.visit("/tricks")
    site.page.wait_for_function("() => document.title.startsWith('worker:')")
    assert site.page.title() == "worker:refused"
    assert site.hosts(ADVERTISING + ANALYTICS) == []
    # The control: without the policy the same page reaches them.
    control = serve(base_site(), rewrite_html=False)
    control.visit("/tricks")
    control.page.wait_for_function("() => document.title.startsWith('worker:')")
    assert control.page.title() == "worker:sent"
    reached = " ".join(control.requests)
    for marker in ("concat.js", "tr?c=1", "/atob", "tr?e=1", "worker=1", "import.css", "css=1"):
        assert marker in reached, marker


def test_report_blocks_nothing_and_feeds_the_inventory(serve: Callable[..., Running]) -> None:
    site = serve(base_site(), csp="report", rewrite_html=False)
    site.visit("/run")
    hosts = {urlsplit(u).hostname for u in site.requests}
    assert {"connect.facebook.net", "www.googletagmanager.com", "cdn.segment.com"} <= hosts
    deadline = time.monotonic() + 20
    rows: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        rows = summarise_hosts(
            [e for e in site.store.events(limit=1000) if e.kind == HOST_AUDIT_KIND]
        )
        if {"connect.facebook.net", "cdn.segment.com"} <= {r["host"] for r in rows}:
            break
        # Through Playwright, not time.sleep: its sync API runs the route handler that
        # lets the report POSTs through only during its own calls.
        site.page.wait_for_timeout(200)
    found = {r["host"]: r for r in rows}
    assert found["connect.facebook.net"]["category"] == "advertising"
    assert found["connect.facebook.net"]["path"] == "/run"
    # known from the shipped registry, which the CSP does not list: reported, categorised
    assert found["cdn.segment.com"]["category"] == "analytics"
    assert found["www.googletagmanager.com"]["category"] == "analytics"


def test_the_apps_host_list_policy_still_governs(serve: Callable[..., Running]) -> None:
    own = [("Content-Security-Policy", "script-src 'self' 'unsafe-inline'")]
    html = page('<script src="https://www.googletagmanager.com/gtm.js?id=GTM-OWN"></script>')
    site = serve(base_site({"/own": ("text/html", html, own)}), **ENFORCE)
    site.consent(analytics=True)  # ours allows GTM; the app's own policy does not
    site.visit("/own")
    assert site.hosts(ANALYTICS) == []


def test_a_strict_nonce_policy_keeps_working(serve: Callable[..., Running]) -> None:
    own = [("Content-Security-Policy", "script-src 'nonce-n0nce' 'strict-dynamic'")]
    html = page(
        "<script nonce=n0nce>window.__a = 1; var s = document.createElement('script');"
        " s.src = '/loaded.js'; document.head.appendChild(s);</script>"
        "<script>window.__c = 1;</script>"
    )
    extra = {
        "/strict": ("text/html", html, own),
        "/loaded.js": ("text/javascript", b"window.__b = 1;", []),
    }
    site = serve(base_site(extra), csp="enforce", inject_banner=False, consent_mode=False)
    site.visit("/strict")
    site.page.wait_for_function("() => window.__b === 1")
    assert site.page.evaluate("() => [window.__a, window.__b, window.__c]") == [1, 1, None]


def test_a_declared_host_loads_without_a_console_error(serve: Callable[..., Running]) -> None:
    policy = preset_dict("gdpr")
    for category in policy["categories"]:
        if category["id"] == "necessary":
            category["hosts"] = ["cdn.shop.example"]
    html = page('<script src="https://cdn.shop.example/lib.js"></script>')
    site = serve(base_site({"/cdn": ("text/html", html, [])}), policy=policy, **ENFORCE)
    site.visit("/cdn")
    assert [u for u in site.requests if "cdn.shop.example" in u]
    assert site.page.evaluate("() => window.__stubs") == 1
    assert not [m for m in site.console if "Content Security Policy" in m]


def test_the_browsers_ad_api_is_off_without_advertising_consent(
    serve: Callable[..., Running],
) -> None:
    site = serve(base_site(), **ENFORCE)
    site.visit("/run")
    allows = "() => document.featurePolicy.allowsFeature('browsing-topics')"
    assert site.page.evaluate(allows) is False
    # Every feature named is one this Chromium recognises.
    assert not [m for m in site.console if "Permissions-Policy" in m], site.console
    site.consent(analytics=True, advertising=True)
    site.visit("/run")
    assert site.page.evaluate(allows) is True


def test_the_policy_reaches_the_page_as_sent(serve: Callable[..., Running]) -> None:
    site = serve(base_site(), **ENFORCE)
    response = site.page.goto(site.base + "/run")
    assert response is not None
    header = response.headers["content-security-policy"]
    assert header.startswith("default-src 'self'")
    assert header.count("report-uri") == 1 and "report-to" not in header  # plain http


def test_the_demo_in_enforce_mode_refuses_only_refused_trackers(browser: Any) -> None:
    from consent_mw.demo import create_app

    app = create_app(store=MemoryStore(), secret_key=SECRET, csp="enforce")
    with uvicorn_server(app) as port:
        site = Running(browser, port, app, app.store)
        try:
            for choices in ({}, {"analytics": True}):
                if choices:
                    site.consent(**choices)
                site.console.clear()
                site.visit("/")
                refused = [m for m in site.console if "Content Security Policy" in m]
                # Nothing first-party (banner, styles, Consent Mode default) is refused.
                assert not [m for m in refused if "127.0.0.1" in m], refused
                if choices:
                    assert site.hosts(ANALYTICS), site.requests
                    assert not [m for m in refused if "googletagmanager" in m], refused
                assert site.hosts(ADVERTISING) == []
        finally:
            site.context.close()


def test_the_banner_reloads_once_after_a_wider_choice_under_enforce(browser: Any) -> None:
    from consent_mw.demo import create_app, demo_policy

    accept_all = demo_policy().ui_texts("en")["accept_all"]
    app = create_app(store=MemoryStore(), secret_key=SECRET, csp="enforce")
    with uvicorn_server(app) as port:
        site = Running(browser, port, app, app.store)
        try:
            loads: list[str] = []
            site.page.on("load", lambda _: loads.append(site.page.url))
            site.visit("/?lang=en")
            site.page.wait_for_function("() => !!(window.ConsentBanner && ConsentBanner.state)")
            assert site.hosts(ANALYTICS + ADVERTISING) == []
            button = site.page.locator(".cmw-l1").get_by_role("button", name=accept_all)
            with site.page.expect_navigation():
                button.click()
            site.page.wait_for_load_state("networkidle")
            # Served again under the new decision: the page's CSP now allows them all.
            csp = site.page.evaluate(
                "() => fetch(location.href).then(r => r.headers.get('content-security-policy'))"
            )
            assert "connect.facebook.net" in csp and "googletagmanager.com" in csp
            assert site.hosts(ANALYTICS) and site.hosts(ADVERTISING)
            assert len(loads) == 2, loads  # the first load and exactly one reload
        finally:
            site.context.close()
