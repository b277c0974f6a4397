"""The shipped tracker registry: what it strips and neutralises, what it never touches,
how far it reaches beyond the data it was built from, and that it is the data's.

The Open Cookie Database in tests/fixtures/open-cookie-database/ is the registry's
source; tests/fixtures/held-out-trackers/ is a list it was not built from."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import webtest

from consent_mw import ConsentMiddleware, MemoryStore, Policy, WSGIConsentMiddleware
from consent_mw.html.rewrite import rewrite_html
from consent_mw.policy.registry import registry
from support.harness import SECRET, consent_token, http_scope, run_asgi

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
DATA = ROOT / "src" / "consent_mw" / "policy" / "data"

_spec = importlib.util.spec_from_file_location("build_registry", ROOT / "scripts/build_registry.py")
assert _spec and _spec.loader
build = importlib.util.module_from_spec(_spec)
sys.modules["build_registry"] = build  # dataclasses look their module up
_spec.loader.exec_module(build)

RULES = build.load_rules()
POLICY = Policy.preset("gdpr")
MATCHER = POLICY.matcher
ANALYTICS_ONLY = frozenset({"necessary", "analytics"})
NOTHING = frozenset({"necessary"})

# A cookie token (RFC 6265 section 4.1.1): what a Set-Cookie header can carry as a name.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def instance(pattern: str) -> str:
    """A cookie name the pattern stands for: ``_pk_id*`` -> ``_pk_id.1.ab12``."""
    return re.sub(r"%[A-Za-z_]+%", "123", pattern.replace("*", "1.ab12"))


def first_party_rows() -> list[tuple[str, str, str]]:
    """``(platform, name pattern, category)`` of the database's first-party Marketing and
    Analytics rows that are not on the generic-name list."""
    rows = []
    for row in build.ocd_rows(build.OCD):
        category = RULES.categories.get(row["Category"].strip())
        if row["Domain"].strip() or category is None:
            continue
        pattern = build.ocd_cookie(row)
        if build.trimmed(pattern.rstrip("*")) in RULES.generic:
            continue
        rows.append((row["Platform"].strip(), pattern, category))
    return rows


FIRST_PARTY = first_party_rows()

# Cookies frameworks, platforms, CSRF protection and load balancers set for the site
# itself: never stripped on the registry's word.
FRAMEWORK_COOKIES = (
    # Django, Flask, Rails, Laravel, PHP, Express, Spring
    "sessionid",
    "csrftoken",
    "django_language",
    "messages",
    "session",
    "remember_token",
    "_shop_session",
    "remember_user_token",
    "laravel_session",
    "XSRF-TOKEN",
    "remember_web_59ba36addc2b2f9401580f014c7f58ea4e30989d",
    "PHPSESSID",
    "connect.sid",
    "session.sig",
    "express:sess",
    "express:sess.sig",
    "JSESSIONID",
    "SESSION",
    "remember-me",
    # ASP.NET
    "ASP.NET_SessionId",
    ".AspNetCore.Session",
    ".AspNetCore.Antiforgery.x1Y2",
    ".AspNetCore.Cookies",
    "__RequestVerificationToken",
    ".ASPXAUTH",
    "ARRAffinity",
    "ARRAffinitySameSite",
    # Shopify, WordPress and WooCommerce
    "cart",
    "cart_sig",
    "cart_ts",
    "cart_currency",
    "secure_customer_sig",
    "_secure_session_id",
    "localization",
    "_tracking_consent",
    "keep_alive",
    "wordpress_logged_in_0a1b2c",
    "wordpress_sec_0a1b2c",
    "wp-settings-1",
    "wp-settings-time-1",
    "wordpress_test_cookie",
    "comment_author_0a1b2c",
    "wp_lang",
    "woocommerce_cart_hash",
    "woocommerce_items_in_cart",
    "wp_woocommerce_session_0a1b2c",
    # CSRF tokens
    "csrf_token",
    "_csrf",
    "CSRF-TOKEN",
    "_csrf_token",
    "xsrf-token",
    # load balancers, CDNs and bot protection
    "AWSALB",
    "AWSALBCORS",
    "AWSALBTG",
    "AWSELB",
    "BIGipServerpool_web",
    "SERVERID",
    "__cf_bm",
    "cf_clearance",
    "__cflb",
    "_cfuvid",
    "incap_ses_123_456",
    "visid_incap_123",
    "nlbi_123",
    "TS01a2b3c4",
    "NSC_vserver",
    "ROUTEID",
    "GCLB",
    # the site's own plain names
    "locale",
    "lang",
    "language",
    "s",
    "id",
    "theme",
    "token",
    "currency",
    "country",
    "tz",
    "timezone",
    "consent",
    "user_id",
    "visitor_id",
    "session_id",
    "cid",
    "ref",
    "sp",
    "i",
    "SearchTerm",
    "queryString",
    "europe",
)

# Hosts sites load for what they show or do: CDNs, fonts, payment, maps, video,
# sign-in and bot checks. Never neutralised on the registry's word.
BENIGN_URLS = (
    "https://cdn.jsdelivr.net/npm/vue@3/dist/vue.global.prod.js",
    "https://fastly.jsdelivr.net/gh/orioncactus/pretendard/dist/web/static/pretendard.css",
    "https://unpkg.com/react@18/umd/react.production.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/jquery/3.7.1/jquery.min.js",
    "https://code.jquery.com/jquery-3.7.1.min.js",
    "https://ajax.googleapis.com/ajax/libs/jquery/3.7.1/jquery.min.js",
    "https://d1a2b3c4d5e6f7.cloudfront.net/assets/app.js",
    "https://cdn.shopify.com/s/files/1/0001/theme.js",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.5.2/css/bootstrap.min.css",
    "https://fonts.googleapis.com/css2?family=Noto+Sans+KR",
    "https://fonts.gstatic.com/s/notosanskr/v36/font.woff2",
    "https://use.typekit.net/abc1def.css",
    "https://kit.fontawesome.com/0a1b2c3d4e.js",
    "https://js.stripe.com/v3/",
    "https://www.paypal.com/sdk/js?client-id=test",
    "https://pay.google.com/gp/p/js/pay.js",
    "https://applepay.cdn-apple.com/jsapi/v1/apple-pay-sdk.js",
    "https://js.tosspayments.com/v1/payment",
    "https://cdn.iamport.kr/v1/iamport.js",
    "https://stdpay.inicis.com/stdjs/INIStdPay.js",
    "https://nsp.pay.naver.com/sdk/js/naverpay.min.js",
    "https://checkout.razorpay.com/v1/checkout.js",
    "https://js.braintreegateway.com/web/3.97.2/js/client.min.js",
    "https://www.google.com/recaptcha/api.js",
    "https://challenges.cloudflare.com/turnstile/v0/api.js",
    "https://js.hcaptcha.com/1/api.js",
    "https://maps.googleapis.com/maps/api/js?key=test",
    "https://www.google.com/maps/embed?pb=test",
    "https://dapi.kakao.com/v2/maps/sdk.js?appkey=test",
    "https://oapi.map.naver.com/openapi/v3/maps.js?ncpKeyId=test",
    "https://api.mapbox.com/mapbox-gl-js/v3.0.0/mapbox-gl.js",
    "https://tile.openstreetmap.org/1/1/1.png",
    "https://www.youtube.com/embed/dQw4w9WgXcQ",
    "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
    "https://i.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg",
    "https://player.vimeo.com/video/76979871",
    "https://tv.naver.com/embed/12345",
    "https://play-tv.kakao.com/embed/player/cliplink/12345",
    "https://www.dailymotion.com/embed/video/x7tgad0",
    "https://accounts.google.com/gsi/client",
    "https://t1.kakaocdn.net/kakao_js_sdk/2.7.2/kakao.min.js",
    "https://static.nid.naver.com/js/naveridlogin_js_sdk_2.0.2.js",
    "https://appleid.cdn-apple.com/appleauth/static/jsapi/appleid/1/en_US/appleid.auth.js",
    "https://images.unsplash.com/photo-1500000000000",
    "https://i.imgur.com/abc123.png",
    "https://ssl.pstatic.net/static/common/logo.png",
    "https://t1.daumcdn.net/daumtop_chanel/op/20200723055344399.png",
    "https://github.githubassets.com/assets/app.js",
    "https://platform.twitter.com/widgets.js",
    "https://www.instagram.com/embed.js",
)

# Vendors the hand-written entries do not name, with a tag of each (tests/browser
# loads them too): owner -> (category, URL).
VENDORS = {
    "Matomo": ("analytics", "https://cdn.matomo.cloud/example.matomo.cloud/matomo.js"),
    "Piwik PRO": ("analytics", "https://example.containers.piwik.pro/ppms.js"),
    "Segment": ("analytics", "https://cdn.segment.com/analytics.js/v1/KEY/analytics.min.js"),
    "Amplitude": ("analytics", "https://cdn.amplitude.com/libs/analytics-browser-2.0.0-min.js.gz"),
    "Mixpanel": ("analytics", "https://cdn.mxpnl.com/libs/mixpanel-2-latest.min.js"),
    "Heap": ("analytics", "https://cdn.heapanalytics.com/js/heap-123.js"),
    "ContentSquare": ("analytics", "https://t.contentsquare.net/uxa/abc.js"),
    "Crazy Egg": ("analytics", "https://script.crazyegg.com/pages/scripts/0011/2233.js"),
    "Lucky Orange": ("analytics", "https://tools.luckyorange.com/core/lo.js?site-id=abc"),
    "Optimizely": ("analytics", "https://cdn.optimizely.com/js/123.js"),
    "VWO": ("analytics", "https://dev.visualwebsiteoptimizer.com/j.php?a=1"),
    "AB Tasty": ("analytics", "https://try.abtasty.com/abc.js"),
    "Adobe Experience Cloud": ("analytics", "https://assets.adobedtm.com/launch-abc.min.js"),
    "NHN ACE (ACE Counter)": ("analytics", "https://static.acecounter.com/acecounter_V70.js"),
    "Criteo": ("advertising", "https://static.criteo.net/js/ld/ld.js"),
    "Taboola": ("advertising", "https://cdn.taboola.com/libtrc/unip/123/tfa.js"),
    "Outbrain": ("advertising", "https://amplify.outbrain.com/cp/obtp.js"),
    "Pinterest": ("advertising", "https://s.pinimg.com/ct/core.js"),
    "Snap": ("advertising", "https://sc-static.net/scevent.min.js"),
    "X": ("advertising", "https://static.ads-twitter.com/uwt.js"),
    "Reddit": ("advertising", "https://www.redditstatic.com/ads/pixel.js"),
    "Quantcast": ("advertising", "https://secure.quantserve.com/quant.js"),
    "Marketo": ("advertising", "https://munchkin.marketo.net/munchkin.js"),
    "Mobon (Enliple)": ("advertising", "https://cdn.mobon.net/js/common/HawkEyesMaker.js"),
    "Dable": ("advertising", "https://static.dable.io/dist/plugin.min.js"),
    "Wider Planet": ("advertising", "https://cdn-aitg.widerplanet.com/js/wp_astg_4.0.js"),
    "Logger (BizSpring)": ("analytics", "https://script.logger.co.kr/trk.js"),
    "Naver Ads": ("advertising", "https://veta.naver.com/fxshow?su=abc"),
}


# -- cookies ---------------------------------------------------------------------------


def test_first_party_marketing_and_analytics_rows_are_known_in_their_category() -> None:
    handled = [
        (platform, pattern)
        for platform, pattern, category in FIRST_PARTY
        if MATCHER.cookie_category(instance(pattern)) == category
    ]
    share = len(handled) / len(FIRST_PARTY)
    assert len(FIRST_PARTY) > 400
    assert share >= 0.95, f"{len(handled)}/{len(FIRST_PARTY)} = {share:.1%}"


def test_every_shipped_cookie_is_the_databases_less_the_guarded_names() -> None:
    # The conversion is reproducible from the CSV in the repository: exactly the rows
    # the script takes, each in its row's category.
    shipped = {
        (name, tracker.category) for tracker in registry().trackers for name in tracker.cookies
    }
    expected = {
        (name, category)
        for _, category, name in build.cookie_entries(build.ocd_rows(build.OCD), RULES)
    }
    assert shipped == expected


def test_no_shipped_cookie_is_generic_or_short() -> None:
    for tracker in registry().trackers:
        for pattern in tracker.cookies:
            core = build.trimmed(pattern.rstrip("*"))
            assert core not in RULES.generic, (tracker.owner, pattern)
            assert len(core) >= RULES.min_length, (tracker.owner, pattern)


@pytest.mark.parametrize("name", FRAMEWORK_COOKIES)
def test_framework_and_app_cookies_are_unknown(name: str) -> None:
    assert MATCHER.cookie_owner(name) is None


def _names(rows: Iterable[tuple[str, str, str]]) -> list[tuple[str, str]]:
    out = []
    for _, pattern, category in rows:
        name = instance(pattern)
        if _TOKEN.fullmatch(name) and MATCHER.cookie_category(name) == category:
            out.append((name, category))
    return list(dict(out).items())


TRACKED = _names(FIRST_PARTY)
SET_COOKIES = [f"{name}=1; Path=/" for name, _ in TRACKED] + [
    f"{name}=1; Path=/" for name in FRAMEWORK_COOKIES
]


def _asgi_app() -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"text/plain")]
        headers += [(b"set-cookie", value.encode()) for value in SET_COOKIES]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def _wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    headers = [("Content-Type", "text/plain")]
    headers += [("Set-Cookie", value) for value in SET_COOKIES]
    start_response("200 OK", headers)
    return [b"ok"]


def _kept(adapter: str, choices: dict[str, bool] | None) -> set[str]:
    cookie = f"consent_mw={consent_token(POLICY, choices)}" if choices is not None else None
    options: dict[str, Any] = {"policy": "gdpr", "secret_key": SECRET, "store": MemoryStore()}
    if adapter == "asgi":
        middleware = ConsentMiddleware(_asgi_app(), **options)
        headers = [("cookie", cookie)] if cookie else []
        call = run_asgi(middleware, http_scope("/", headers=headers))
        start = next(m for m in call.sent if m["type"] == "http.response.start")
        values = [v.decode() for k, v in start["headers"] if k == b"set-cookie"]
    else:
        app = webtest.TestApp(WSGIConsentMiddleware(_wsgi_app, **options), lint=True)
        extra = {"Cookie": cookie} if cookie else {}
        response = app.get("/", headers=extra)
        values = [v for k, v in response.headerlist if k.lower() == "set-cookie"]
    # a refused cookie is dropped, or expired when the browser may hold one
    return {
        v.partition("=")[0]
        for v in values
        if "max-age=0" not in v.lower() and "expires=thu, 01 jan 1970" not in v.lower()
    }


@pytest.mark.parametrize("adapter", ["asgi", "wsgi"])
def test_served_without_consent_every_registry_cookie_is_stripped(adapter: str) -> None:
    kept = _kept(adapter, None)
    assert len(TRACKED) > 380
    assert not kept & {name for name, _ in TRACKED}
    assert set(FRAMEWORK_COOKIES) <= kept


@pytest.mark.parametrize("adapter", ["asgi", "wsgi"])
def test_served_with_analytics_only_consent_each_cookie_goes_by_its_category(
    adapter: str,
) -> None:
    kept = _kept(adapter, {"functional": False, "analytics": True, "advertising": False})
    analytics = {name for name, category in TRACKED if category == "analytics"}
    advertising = {name for name, category in TRACKED if category == "advertising"}
    assert analytics and advertising
    assert analytics <= kept
    assert not advertising & kept
    assert set(FRAMEWORK_COOKIES) <= kept


# -- hosts -----------------------------------------------------------------------------


@pytest.mark.parametrize("url", BENIGN_URLS)
def test_benign_hosts_are_never_trackers(url: str) -> None:
    assert MATCHER.url_owner(url) is None


def test_benign_tags_pass_the_rewriter_untouched() -> None:
    body = "".join(
        f'<script src="{url}"></script><img src="{url}"><iframe src="{url}"></iframe>'
        for url in BENIGN_URLS
    )
    page = f"<!doctype html><html><head></head><body>{body}</body></html>".encode()
    assert rewrite_html(page, MATCHER, NOTHING) == page


@pytest.mark.parametrize(("owner", "case"), sorted(VENDORS.items()))
def test_vendors_beyond_the_hand_written_entries(owner: str, case: tuple[str, str]) -> None:
    category, url = case
    assert MATCHER.url_owner(url) == (category, owner)
    tag = f'<script src="{url}"></script>'.encode()
    refused = rewrite_html(tag, MATCHER, NOTHING)
    assert b"data-consent-src" in refused and b' src="' not in refused
    allowed = {"necessary", category}
    assert rewrite_html(tag, MATCHER, frozenset(allowed)) == tag


def test_several_hundred_named_vendors_and_the_korean_market() -> None:
    trackers = registry().trackers
    # a vendor named by the data or the rules, not only by its registrable domain
    named = [t for t in trackers if " " in t.owner or "." not in t.owner]
    assert len(named) >= 200
    korean = [t for t in trackers if any(h.endswith(".kr") for h in t.hosts)]
    assert len(korean) >= 50
    for owner in (
        "Kakao Moment",
        "Naver Ads",
        "Mobon (Enliple)",
        "Dable",
        "Cauly",
        "NHN ACE (ACE Counter)",
        "Logger (BizSpring)",
        "Wider Planet",
        "RealClick",
    ):
        assert any(t.owner == owner and t.hosts for t in trackers), owner


def held_out_hosts() -> list[str]:
    path = FIXTURES / "held-out-trackers" / "adguard-tracking-servers.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def test_held_out_tracker_hosts_are_mostly_known() -> None:
    hosts = held_out_hosts()
    known = [h for h in hosts if MATCHER.host_category(h) is not None]
    share = len(known) / len(hosts)
    assert len(hosts) >= 300
    # measured 2026-12-04 (docs/registry.md); a floor, so that a rebuild that loses
    # coverage fails here
    assert share >= HELD_OUT_FLOOR, f"{len(known)}/{len(hosts)} = {share:.1%}"


HELD_OUT_FLOOR = 0.5


# -- snippets, click ids and the policy's word --------------------------------------------

SNIPPETS = {
    "Pinterest": ("advertising", "pintrk('load', '2612345678901');pintrk('page');"),
    "Snap": ("advertising", "snaptr('init', 'abc', {});snaptr('track', 'PAGE_VIEW');"),
    "X": ("advertising", "twq('config','o1a2b');"),
    "Matomo": ("analytics", "var _paq = window._paq || [];_paq.push(['trackPageView']);"),
    "Mixpanel": ("analytics", "mixpanel.init('0123456789abcdef');"),
    "Taboola": ("advertising", "window._tfa = window._tfa || [];_tfa.push({notify:'event'});"),
}


@pytest.mark.parametrize(("owner", "case"), sorted(SNIPPETS.items()))
def test_inline_snippets_of_registry_vendors(owner: str, case: tuple[str, str]) -> None:
    category, snippet = case
    assert MATCHER.inline_owner(snippet) == (category, owner)
    tag = f"<script>{snippet}</script>".encode()
    assert b'type="text/plain"' in rewrite_html(tag, MATCHER, NOTHING)
    assert rewrite_html(tag, MATCHER, frozenset({"necessary", category})) == tag


def test_a_function_of_the_sites_own_is_no_snippet() -> None:
    # `rdt(` and `qp('init'` are vendors' calls; the rewriter wants them whole words
    tag = b"<script>function wordt(a) { return a; } wordt(1); myqp('init');</script>"
    assert rewrite_html(tag, MATCHER, NOTHING) == tag


def test_click_ids_of_registry_vendors() -> None:
    assert {"epik", "twclid", "rdt_cid", "ScCid", "tblci", "gclid"} <= MATCHER.click_ids


def test_a_policy_entry_replaces_a_registry_vendor_whole() -> None:
    url = "https://static.criteo.net/js/ld/ld.js"
    moved = Policy.preset(
        "gdpr", trackers=[{"owner": "Criteo", "category": "analytics", "hosts": ["criteo.net"]}]
    )
    assert moved.matcher.url_owner(url) == ("analytics", "Criteo")
    assert moved.matcher.url_owner("https://dis.criteo.com/dis/rtb") is None
    off = Policy.preset("gdpr", trackers=[{"owner": "Dable", "category": "advertising"}])
    assert off.matcher.url_owner("https://static.dable.io/dist/plugin.min.js") is None
    assert off.matcher.inline_owner("dable('setService', 'x');") is None
    assert MATCHER.inline_owner("dable('setService', 'x');") == ("advertising", "Dable")


def test_the_hand_written_entries_win_and_the_registry_adds_to_them() -> None:
    # LinkedIn's ln_or is analytics in the database, advertising by hand
    assert MATCHER.cookie_owner("ln_or") == ("advertising", "LinkedIn")
    # the database's Google Analytics names join the hand-written vendor's
    assert MATCHER.cookie_owner("_gali") == ("analytics", "Google Analytics")
    assert MATCHER.cookie_owner("_ga") == ("analytics", "Google Analytics")


def test_registry_path_entries_do_not_make_a_whole_host_a_trackers() -> None:
    url = "https://echosting.cafe24.com/weblog.js"
    assert MATCHER.url_owner(url) == ("analytics", "Cafe24 Analytics")
    assert MATCHER.host_category("echosting.cafe24.com") is None
    assert MATCHER.url_owner("https://echosting.cafe24.com/shop/app.js") is None


def test_a_tracker_entry_of_the_policy_is_its_own_matcher_entry() -> None:
    policy = Policy.preset(
        "gdpr", trackers=[{"owner": "Acme", "category": "analytics", "cookies": ["acme_id"]}]
    )
    assert policy.matcher.cookie_owner("acme_id") == ("analytics", "Acme")


# -- the data and its licences -----------------------------------------------------------


def test_the_sources_and_their_licences_ship_beside_the_data() -> None:
    summary = registry().summary()
    names = {s["name"]: s["licence"] for s in summary["sources"]}
    assert names == {
        "Open Cookie Database": "Apache-2.0",
        "EasyPrivacy": "GPL-3.0-or-later",
        "EasyList": "GPL-3.0-or-later",
        "List-KR": "GPL-3.0",
    }
    notice = (DATA / "NOTICE").read_text(encoding="utf-8")
    for name in names:
        assert name in notice
    assert "Apache License" in (DATA / "LICENSE-open-cookie-database").read_text()
    assert "GNU GENERAL PUBLIC LICENSE" in (DATA / "LICENSE-GPL-3.0").read_text()
    assert summary["vendors"] == len(registry().trackers) > 1000
    data = json.loads((DATA / "registry.json").read_bytes())
    assert data["format"] == build.FORMAT


def test_the_registry_is_read_on_first_policy_not_on_import() -> None:
    code = (
        "import consent_mw, consent_mw.policy.registry as r\n"
        "assert r.registry.cache_info().currsize == 0\n"
        "consent_mw.Policy.preset('gdpr')\n"
        "assert r.registry.cache_info().currsize == 1\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
