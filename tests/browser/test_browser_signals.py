"""Each vendor's consent call reaches its tag before the tag runs, and the update after a
choice in the banner; the page's ``__gpp`` answers as the IAB CMP API says and a GPC
visitor's string decodes, with the IAB's own library, to opted out.

The vendors' base codes are written here in the shapes their vendors publish (UET's
``uetq`` queue, Clarity's ``clarity.q``, Meta's ``fbq.queue``, TikTok's ``ttq``
array); ``/sdk.js`` then plays the vendors' loaded scripts: it records the queue each
would process first, then records every later call. Both are first-party scripts, so
the rewriter leaves them alone and what is measured is the injected signals.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from consent_mw import Policy
from support.browser_sites import Running, Site, page
from support.services import GOOGLE_AND_META, gdpr_with_ad_services

pytestmark = pytest.mark.browser

JS_DIR = Path(__file__).resolve().parents[2] / "js"

BASE_CODES = """
(function (w) {
  w.uetq = w.uetq || [];
  w.uetq.push('pageLoad');
})(window);
(function (c, a) {
  c[a] = c[a] || function () { (c[a].q = c[a].q || []).push(arguments); };
  c[a]('set', 'page', 'home');
})(window, 'clarity');
!function (f) {
  if (f.fbq) return;
  var n = f.fbq = function () {
    n.callMethod ? n.callMethod.apply(n, arguments) : n.queue.push(arguments);
  };
  if (!f._fbq) f._fbq = n;
  n.push = n; n.loaded = !0; n.version = '2.0'; n.queue = [];
}(window);
fbq('init', '1'); fbq('track', 'PageView');
!function (w, t) {
  var ttq = w[t] = w[t] || [];
  ttq.methods = ['page', 'holdConsent', 'grantConsent', 'revokeConsent'];
  ttq.setAndDefer = function (o, m) {
    o[m] = function () { o.push([m].concat(Array.prototype.slice.call(arguments, 0))); };
  };
  for (var i = 0; i < ttq.methods.length; i++) ttq.setAndDefer(ttq, ttq.methods[i]);
  ttq.page();
}(window, 'ttq');
"""

SDK = """
(function (w) {
  var seen = w.__seen = {};
  var list = function (a) { return Array.prototype.slice.call(a); };
  seen.gtag = w.dataLayer.map(list);
  seen.uet = w.uetq.slice();
  w.uetq = { push: function () { seen.uet.push.apply(seen.uet, list(arguments)); } };
  seen.clarity = w.clarity.q.map(list);
  w.clarity = function () { seen.clarity.push(list(arguments)); };
  seen.meta = w.fbq.queue.map(list);
  w.fbq.callMethod = function () { seen.meta.push(list(arguments)); };
  seen.tiktok = w.ttq.slice();
  ['holdConsent', 'grantConsent', 'revokeConsent'].forEach(function (m) {
    w.ttq[m] = function () { seen.tiktok.push([m]); };
  });
})(window);
"""


def vendor_site() -> Site:
    head = '<script src="/base.js"></script><script src="/sdk.js"></script>'
    return Site(
        {
            "/": ("text/html; charset=utf-8", page("<p>hi</p>", head), []),
            "/base.js": ("text/javascript", BASE_CODES.encode(), []),
            "/sdk.js": ("text/javascript", SDK.encode(), []),
        }
    )


def seen(site: Running) -> dict[str, Any]:
    return dict(site.page.evaluate("() => JSON.parse(JSON.stringify(window.__seen))"))


def accept_all(site: Running) -> None:
    policy = site.middleware.config.policy
    name = policy.ui_texts(policy.default_locale)["accept_all"]
    site.page.evaluate("() => window.ConsentBanner.open()")
    with site.page.expect_response(lambda r: r.request.method == "POST"):
        site.page.get_by_role("button", name=name, exact=True).first.click()
    site.page.wait_for_function("() => window.__seen.meta.length > 3")


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "defaults-script"])
def test_each_vendor_hears_analytics_only_first_then_the_update(
    serve: Callable[..., Running], inline: bool
) -> None:
    headers = [] if inline else [("content-security-policy", "script-src 'self'")]
    site_obj = vendor_site()
    if not inline:
        for path, (ctype, body, extra) in list(site_obj.routes.items()):
            site_obj.routes[path] = (ctype, body, [*extra, *headers])
    site = serve(site_obj)
    site.consent(analytics=True, advertising=False, functional=False)
    site.visit("/")
    found = seen(site)

    gtag = found["gtag"][0]
    assert gtag[:2] == ["consent", "default"]
    assert gtag[2]["analytics_storage"] == "granted" and gtag[2]["ad_storage"] == "denied"
    # Each vendor's consent call is the first thing its tag processes.
    assert found["uet"][:4] == ["consent", "default", {"ad_storage": "denied"}, "pageLoad"]
    assert found["clarity"][:2] == [
        ["consentv2", {"ad_Storage": "denied", "analytics_Storage": "granted"}],
        ["set", "page", "home"],
    ]
    assert found["meta"] == [["consent", "revoke"], ["init", "1"], ["track", "PageView"]]
    assert found["tiktok"] == [["revokeConsent"], ["page"]]

    accept_all(site)
    after = seen(site)
    assert after["uet"][4:] == ["consent", "update", {"ad_storage": "granted"}]
    assert after["clarity"][2:] == [
        ["consentv2", {"ad_Storage": "granted", "analytics_Storage": "granted"}]
    ]
    assert after["meta"][3:] == [["consent", "grant"]]
    assert after["tiktok"][2:] == [["grantConsent"]]
    updates = site.page.evaluate(
        "() => dataLayer.filter(e => e[0] === 'consent' && e[1] === 'update')"
        ".map(e => e[2].ad_storage)"
    )
    assert updates[-1] == "granted"


SERVICES = gdpr_with_ad_services(*GOOGLE_AND_META)


def test_meta_alone_is_told_grant_and_no_other_vendor(serve: Callable[..., Running]) -> None:
    site = serve(vendor_site(), policy=SERVICES)
    site.consent(analytics=False, functional=False, advertising={"Meta": True})  # type: ignore[arg-type]
    site.visit("/")
    found = seen(site)
    assert found["gtag"][0][2]["ad_storage"] == "denied"  # Google was not chosen
    assert found["meta"][0] == ["consent", "grant"]
    assert found["uet"][:3] == ["consent", "default", {"ad_storage": "denied"}]
    assert found["tiktok"][0] == ["revokeConsent"]
    assert found["clarity"][0][1] == {"ad_Storage": "denied", "analytics_Storage": "denied"}
    # Then advertising whole: each vendor whose grant changed hears it once, Meta nothing.
    policy = site.middleware.config.policy
    name = policy.ui_texts(policy.default_locale)["accept_all"]
    site.page.evaluate("() => window.ConsentBanner.open()")
    with site.page.expect_response(lambda r: r.request.method == "POST"):
        site.page.get_by_role("button", name=name, exact=True).first.click()
    site.page.wait_for_function("() => window.__seen.tiktok.length > 2")
    after = seen(site)
    assert after["tiktok"][2:] == [["grantConsent"]]
    assert after["uet"][4:] == ["consent", "update", {"ad_storage": "granted"}]
    assert after["meta"][3:] == []


def test_an_undecided_visitor_holds_tiktok_and_vendors_off_the_list_get_nothing(
    serve: Callable[..., Running],
) -> None:
    policy = Policy.preset("gdpr", signals={"vendors": ["tiktok"]})
    site = serve(vendor_site(), policy=policy)
    site.visit("/")
    found = seen(site)
    assert found["tiktok"] == [["holdConsent"], ["page"]]
    assert found["uet"] == ["pageLoad"]
    assert found["meta"] == [["init", "1"], ["track", "PageView"]]
    assert found["clarity"] == [["set", "page", "home"]]


def test_no_vendor_global_is_made_when_its_tag_is_absent(serve: Callable[..., Running]) -> None:
    site = serve(Site({"/": ("text/html; charset=utf-8", page("<p>plain</p>"), [])}))
    site.visit("/")
    made = site.page.evaluate("() => ['uetq', 'clarity', 'fbq', 'ttq'].map(k => window[k])")
    assert made == [None, None, None, None]


def test_google_policy_options_reach_gtag(serve: Callable[..., Running]) -> None:
    policy = Policy.preset("gdpr", signals={"url_passthrough": True, "ads_data_redaction": False})
    site = serve(vendor_site(), policy=policy)
    site.visit("/")
    commands = [entry[:3] for entry in seen(site)["gtag"] if entry[0] == "set"]
    assert commands == [["set", "url_passthrough", True]]


# -- GPP -------------------------------------------------------------------------------

GPP_POLICY = {"gpp": {"sections": ["usnat", "usca"]}}


def gpp_call(site: Running, command: str, parameter: Any = None) -> list[Any]:
    return list(
        site.page.evaluate(
            "([c, p]) => new Promise(r => window.__gpp(c, (v, ok) => r([v, ok]), p))",
            [command, parameter],
        )
    )


def official_decode(gpp_string: str) -> dict[str, Any]:
    """The string decoded by the IAB's ``@iabgpp/cmpapi`` (js/node_modules)."""
    node = shutil.which("node")
    library = JS_DIR / "node_modules" / "@iabgpp" / "cmpapi"
    if node is None or not library.is_dir():
        message = "GPP browser tests need node and `npm ci` in js/ (@iabgpp/cmpapi)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    script = (
        "import('@iabgpp/cmpapi').then(({GppModel}) => "
        "console.log(JSON.stringify(new GppModel(process.argv[1]).toObject())))"
    )
    out = subprocess.run(
        [node, "--input-type=module", "-e", script, gpp_string],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout))


def test_gpp_ping_and_data_for_a_gpc_visitor(serve: Callable[..., Running]) -> None:
    site = serve(vendor_site(), policy=Policy.preset("ccpa", **GPP_POLICY))
    site.context.set_extra_http_headers({"Sec-GPC": "1"})
    site.visit("/")

    ping, ok = gpp_call(site, "ping")
    assert ok is True
    assert ping["gppVersion"] == "1.1"
    assert ping["cmpStatus"] == "loaded" and ping["signalStatus"] == "ready"
    assert ping["applicableSections"] == [7] and ping["sectionList"] == [7, 8]
    assert "7:usnat" in ping["supportedAPIs"]
    data, ok = gpp_call(site, "getGPPData")
    assert ok is True and data["gppString"] == ping["gppString"]

    decoded = official_decode(ping["gppString"])
    usnat = decoded["usnat"]
    assert usnat["Gpc"] is True
    assert (usnat["SaleOptOut"], usnat["SharingOptOut"], usnat["TargetedAdvertisingOptOut"]) == (
        1,
        1,
        1,
    )
    assert decoded["usca"]["SaleOptOut"] == 1 and decoded["usca"]["Gpc"] is True
    assert gpp_call(site, "getField", "usnat.SaleOptOut") == [1, True]
    assert gpp_call(site, "hasSection", "usca") == [True, True]
    assert gpp_call(site, "getSection", "usva") == [None, True]
    assert gpp_call(site, "noSuchCommand") == [None, False]
    # Framed scripts find the API through the locator frame.
    assert site.page.evaluate("() => !!window.frames.__gppLocator")


def test_gpp_follows_a_choice_without_a_reload(serve: Callable[..., Running]) -> None:
    site = serve(vendor_site(), policy=Policy.preset("ccpa", **GPP_POLICY))
    site.consent(analytics=True, advertising=False, functional=False)
    site.visit("/")
    before = gpp_call(site, "ping")[0]["gppString"]
    assert official_decode(before)["usnat"]["SaleOptOut"] == 1
    site.page.evaluate(
        "() => { window.__events = []; window.__gpp('addEventListener',"
        " (e, ok) => window.__events.push([e.eventName, e.data])); }"
    )
    accept_all(site)
    site.page.wait_for_function("() => window.__events.length > 2")
    events = site.page.evaluate("() => window.__events")
    assert events[0] == ["listenerRegistered", True]
    assert ["sectionChange", "usnat"] in events and events[-1] == ["signalStatus", "ready"]
    after = gpp_call(site, "ping")[0]["gppString"]
    decoded = official_decode(after)["usnat"]
    assert (decoded["SaleOptOut"], decoded["Gpc"]) == (2, False)


def test_gpp_is_off_unless_the_policy_writes_it(serve: Callable[..., Running]) -> None:
    site = serve(vendor_site(), policy=Policy.preset("ccpa", gpp={}))
    site.visit("/")
    assert site.page.evaluate("() => typeof window.__gpp") == "undefined"
