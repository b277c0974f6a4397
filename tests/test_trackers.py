"""The built-in tracker registry and the Matcher: cookies, URLs, inline scripts, click ids."""

from __future__ import annotations

import pytest

from consent_mw import BUILTIN_TRACKERS, Matcher, Policy, Tracker
from support.harness import custom_policy_dict

MATCHER = Matcher(BUILTIN_TRACKERS)

# owner: (category, a cookie, a script/pixel URL, an inline snippet, a click id or None)
FAMILIES: dict[str, tuple[str, str, str, str, str | None]] = {
    "Google Analytics": (
        "analytics",
        "_ga_X1Y2Z3",
        "https://www.googletagmanager.com/gtag/js?id=G-1",
        "gtag('config', 'G-1');",
        None,
    ),
    "Google Ads / DoubleClick": (
        "advertising",
        "_gcl_au",
        "https://pagead2.googlesyndication.com/pagead/js/adsbygoogle.js",
        "(adsbygoogle = window.adsbygoogle || []).push({});",
        "gclid",
    ),
    "Meta": (
        "advertising",
        "_fbp",
        "https://connect.facebook.net/en_US/fbevents.js",
        "fbq('init', '123');",
        "fbclid",
    ),
    "Microsoft Advertising": (
        "advertising",
        "_uetsid",
        "https://bat.bing.com/bat.js",
        "window.uetq = window.uetq || [];",
        "msclkid",
    ),
    "Microsoft Clarity": (
        "analytics",
        "_clck",
        "https://www.clarity.ms/tag/abc",
        "c[a]=c[a]||function(){}; t.src='https://www.clarity.ms/tag/'+i;",
        None,
    ),
    "TikTok": (
        "advertising",
        "ttcsid_ABC",
        "https://analytics.tiktok.com/i18n/pixel/events.js",
        "ttq.load('X'); ttq.page();",
        "ttclid",
    ),
    "LinkedIn": (
        "advertising",
        "li_fat_id",
        "https://snap.licdn.com/li.lms-analytics/insight.min.js",
        "_linkedin_partner_id = '1';",
        "li_fat_id",
    ),
    "Hotjar": (
        "analytics",
        "_hjSessionUser_123",
        "https://static.hotjar.com/c/hotjar-1.js",
        "h._hjSettings={hjid:1};",
        None,
    ),
    "HubSpot": (
        "analytics",
        "hubspotutk",
        "https://js.hs-scripts.com/1.js",
        "var _hsq = window._hsq = []; _hsq.push(['setPath', '/']);",
        "_hsenc",
    ),
    "Yandex Metrica": (
        "analytics",
        "_ym_uid",
        "https://mc.yandex.ru/metrika/tag.js",
        "k.src='https://mc.yandex.ru/metrika/tag.js';ym(1, 'init', {});",
        "yclid",
    ),
    "Kakao": (
        "advertising",
        "_kp_abc",
        "https://t1.daumcdn.net/kas/static/kp.js",
        "kakaoPixel('1').pageView();",
        None,
    ),
    "Naver": (
        "analytics",
        "wcs_bt",
        "https://wcs.naver.net/wcslog.js",
        "wcs_do();",
        "NaPm",
    ),
}


def test_table_covers_every_builtin_family() -> None:
    assert set(FAMILIES) == {t.owner for t in BUILTIN_TRACKERS}
    assert len({t.owner for t in BUILTIN_TRACKERS}) == len(BUILTIN_TRACKERS)


@pytest.mark.parametrize("owner", sorted(FAMILIES))
def test_builtin_family(owner: str) -> None:
    category, cookie, url, inline, click_id = FAMILIES[owner]
    assert MATCHER.cookie_owner(cookie) == (category, owner)
    assert MATCHER.url_owner(url) == (category, owner)
    assert MATCHER.inline_owner(inline) == (category, owner)
    if click_id is not None:
        assert click_id in MATCHER.click_ids


@pytest.mark.parametrize("tracker", BUILTIN_TRACKERS, ids=lambda t: t.owner)
def test_every_declared_cookie_and_host_classifies(tracker: Tracker) -> None:
    for pattern in tracker.cookies:
        name = pattern.replace("*", "x1")
        assert MATCHER.cookie_category(name) == tracker.category, name
    for host in tracker.hosts:
        assert MATCHER.url_category(f"https://{host}/x.js") == tracker.category, host
    for signature in tracker.inline:
        assert MATCHER.inline_category(f"/* */ {signature} /* */") == tracker.category


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("_ga", "analytics"),
        ("_ga_", "analytics"),
        ("_gat_UA-1", "analytics"),
        ("IDE", "advertising"),
        ("ide", None),  # cookie names are case-sensitive
        ("_GA", None),
        ("_hjid", "analytics"),
        ("_hjAnythingElse", "analytics"),
        ("_fbp", "advertising"),
        ("_fbpx", None),
        ("x_fbp", None),
        ("session", None),
        ("", None),
        ("csrftoken", None),
        ("consent_mw", None),
    ],
)
def test_cookie_category(name: str, category: str | None) -> None:
    assert MATCHER.cookie_category(name) == category
    assert MATCHER.cookie_category(name) == category  # cached answer agrees


def test_click_ids() -> None:
    assert {"gclid", "fbclid", "msclkid", "ttclid", "dclid", "wbraid", "gbraid"} <= (
        MATCHER.click_ids
    )
    assert "utm_source" not in MATCHER.click_ids
    assert "q" not in MATCHER.click_ids


# -- specificity ------------------------------------------------------------------------------


def test_exact_name_beats_wildcard() -> None:
    matcher = Matcher(
        [
            Tracker("Exact", "advertising", cookies=("foobar",)),
            Tracker("Wild", "analytics", cookies=("foo*",)),
        ]
    )
    assert matcher.cookie_owner("foobar") == ("advertising", "Exact")
    assert matcher.cookie_owner("foobaz") == ("analytics", "Wild")


@pytest.mark.parametrize("reverse", [False, True])
def test_longer_wildcard_wins_whatever_the_order(reverse: bool) -> None:
    trackers = [
        Tracker("Broad", "analytics", cookies=("x_*",)),
        Tracker("Narrow", "advertising", cookies=("x_ads_*",)),
    ]
    matcher = Matcher(trackers[::-1] if reverse else trackers)
    assert matcher.cookie_category("x_ads_1") == "advertising"
    assert matcher.cookie_category("x_other") == "analytics"


def test_wildcard_characters_are_literal_except_star() -> None:
    matcher = Matcher([Tracker("Matomo", "analytics", cookies=("_pk_id.*", "a+b*"))])
    assert matcher.cookie_category("_pk_id.1.abcd") == "analytics"
    assert matcher.cookie_category("_pk_idX1") is None
    assert matcher.cookie_category("a+bc") == "analytics"
    assert matcher.cookie_category("aab") is None


def test_wildcard_in_the_middle() -> None:
    matcher = Matcher([Tracker("Mid", "analytics", cookies=("_ab_*_id",))])
    assert matcher.cookie_category("_ab_123_id") == "analytics"
    assert matcher.cookie_category("_ab_123_idx") is None


# -- policy overrides -------------------------------------------------------------------------


def test_policy_tracker_overrides_a_builtin_by_owner() -> None:
    data = custom_policy_dict()
    data["trackers"] = [
        {
            "owner": "Google Analytics",
            "category": "chat",
            "cookies": ["_ga"],
            "hosts": ["stats.example.com"],
        }
    ]
    matcher = Policy.from_dict(data).matcher
    assert matcher.cookie_owner("_ga") == ("chat", "Google Analytics")
    # The built-in entry is replaced, not merged.
    assert matcher.cookie_category("_gid") is None
    assert matcher.url_category("https://www.google-analytics.com/analytics.js") is None
    assert matcher.url_category("https://stats.example.com/s.js") == "chat"
    # Other built-ins stay.
    assert matcher.cookie_category("_fbp") == "advertising"


def test_policy_cookie_spec_wins_over_the_registry() -> None:
    data = custom_policy_dict()
    data["categories"][0]["cookies"] = ["session", "_ga"]
    matcher = Policy.from_dict(data).matcher
    assert matcher.cookie_category("_ga") == "necessary"
    assert matcher.cookie_category("_ga_XYZ") == "analytics"


def test_policy_category_hosts_and_cookies() -> None:
    matcher = Policy.from_dict(custom_policy_dict()).matcher
    assert matcher.cookie_category("chat_room") == "chat"
    assert matcher.cookie_category("session") == "necessary"
    assert matcher.url_category("https://widget.chat.example/w.js") == "chat"
    assert matcher.url_category("https://cdn.widget.chat.example/w.js") == "chat"


def test_policy_tracker_adds_click_ids() -> None:
    data = custom_policy_dict()
    data["trackers"] = [{"owner": "Ours", "category": "advertising", "click_ids": ["ref_id"]}]
    assert "ref_id" in Policy.from_dict(data).matcher.click_ids
    assert "ref_id" not in MATCHER.click_ids


# -- URLs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "category"),
    [
        ("//connect.facebook.net/en_US/fbevents.js", "advertising"),
        ("  //connect.facebook.net/x.js  ", "advertising"),
        ("HTTPS://WWW.GOOGLE-ANALYTICS.COM/analytics.js", "analytics"),
        ("https://www.Google-Analytics.com/analytics.js", "analytics"),
        ("http://bat.bing.com:8080/bat.js", "advertising"),
        ("https://www.googletagmanager.com:443/gtm.js?id=GTM-1", "analytics"),
        ("https://connect.facebook.net./x.js", "advertising"),
        ("https://user:pw@connect.facebook.net/x.js", "advertising"),
        ("https://www.facebook.com/tr?id=1&ev=PageView", "advertising"),
        ("https://www.facebook.com/", None),
        ("https://www.google.com/pagead/1p-user-list/1", "advertising"),
        ("https://www.google.com/search?q=x", None),
        ("https://t1.daumcdn.net/kas/static/kp.js", "advertising"),
        ("https://t1.daumcdn.net/other/app.js", None),
        ("https://notgoogle-analytics.com/a.js", None),
        ("https://google-analytics.com.evil.example/a.js", None),
        ("https://example.com/?u=https://connect.facebook.net/x.js", None),
        ("https://example.com/connect.facebook.net/x.js", None),
        ("/static/app.js", None),
        ("app.js", None),
        ("", None),
        ("javascript:alert(1)", None),
        ("data:text/javascript,fbq('init')", None),
        ("ftp://connect.facebook.net/x.js", None),
        ("http://[::1", None),
        ("https://[connect.facebook.net]/x.js", None),
        ("https://", None),
        ("https://:80/x.js", None),
    ],
)
def test_url_category(url: str, category: str | None) -> None:
    assert MATCHER.url_category(url) == category


@pytest.mark.parametrize(
    ("script", "category"),
    [
        ("gtag('js', new Date());", "analytics"),
        ("window.dataLayer=[]; (function(){ /* googletagmanager.com/gtm.js */ })()", "analytics"),
        ("!function(f,b,e,v,n,t,s){ fbq('track', 'PageView') }()", "advertising"),
        ("console.log('hello')", None),
        ("", None),
        ("var gtag_like = 1;", None),
    ],
)
def test_inline_category(script: str, category: str | None) -> None:
    assert MATCHER.inline_category(script) == category
