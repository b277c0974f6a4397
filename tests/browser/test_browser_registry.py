"""Vendors only the shipped registry knows, in a real browser: a page carrying the
tags of 22 of them requests none before consent, and after analytics-only consent
exactly the analytics ones. The hosts are written here, not read from the registry."""

from __future__ import annotations

from collections.abc import Callable

from support.browser_sites import Running, Site, page

# owner -> (category, tag): script loaders and pixels as each vendor documents them
TAGS = {
    "Matomo": (
        "analytics",
        '<script src="https://cdn.matomo.cloud/shop.matomo.cloud/matomo.js"></script>',
    ),
    "Segment": (
        "analytics",
        '<script src="https://cdn.segment.com/analytics.js/v1/K/analytics.min.js"></script>',
    ),
    "Amplitude": (
        "analytics",
        '<script src="https://cdn.amplitude.com/libs/analytics-browser-2.0.0-min.js.gz"></script>',
    ),
    "Mixpanel": (
        "analytics",
        '<script src="https://cdn.mxpnl.com/libs/mixpanel-2-latest.min.js"></script>',
    ),
    "Heap": ("analytics", '<script src="https://cdn.heapanalytics.com/js/heap-123.js"></script>'),
    "ContentSquare": (
        "analytics",
        '<script src="https://t.contentsquare.net/uxa/abc.js"></script>',
    ),
    "Crazy Egg": (
        "analytics",
        '<script src="https://script.crazyegg.com/pages/scripts/0011/2233.js"></script>',
    ),
    "Lucky Orange": (
        "analytics",
        '<script src="https://tools.luckyorange.com/core/lo.js?site-id=a"></script>',
    ),
    "VWO": (
        "analytics",
        '<script src="https://dev.visualwebsiteoptimizer.com/j.php?a=1"></script>',
    ),
    "ACE Counter": (
        "analytics",
        '<script src="https://static.acecounter.com/acecounter_V70.js"></script>',
    ),
    "Logger": ("analytics", '<img src="https://script.logger.co.kr/tracker.gif?u=1" alt="">'),
    "Criteo": ("advertising", '<script src="https://static.criteo.net/js/ld/ld.js"></script>'),
    "Taboola": (
        "advertising",
        '<script src="https://cdn.taboola.com/libtrc/unip/1/tfa.js"></script>',
    ),
    "Outbrain": ("advertising", '<script src="https://amplify.outbrain.com/cp/obtp.js"></script>'),
    "Pinterest": (
        "advertising",
        '<img src="https://ct.pinterest.com/v3/?tid=1&event=init" alt="">',
    ),
    "Snap": ("advertising", '<script src="https://sc-static.net/scevent.min.js"></script>'),
    "X": ("advertising", '<script src="https://static.ads-twitter.com/uwt.js"></script>'),
    "Reddit": ("advertising", '<script src="https://www.redditstatic.com/ads/pixel.js"></script>'),
    "Quantcast": ("advertising", '<script src="https://secure.quantserve.com/quant.js"></script>'),
    "Mobon": (
        "advertising",
        '<script src="https://cdn.mobon.net/js/common/HawkEyesMaker.js"></script>',
    ),
    "Dable": ("advertising", '<script src="https://static.dable.io/dist/plugin.min.js"></script>'),
    "Wider Planet": (
        "advertising",
        '<script src="https://cdn-aitg.widerplanet.com/js/wp_astg_4.0.js"></script>',
    ),
}
HOSTS = {
    "Matomo": "matomo.cloud",
    "Segment": "segment.com",
    "Amplitude": "amplitude.com",
    "Mixpanel": "mxpnl.com",
    "Heap": "heapanalytics.com",
    "ContentSquare": "contentsquare.net",
    "Crazy Egg": "crazyegg.com",
    "Lucky Orange": "luckyorange.com",
    "VWO": "visualwebsiteoptimizer.com",
    "ACE Counter": "acecounter.com",
    "Logger": "logger.co.kr",
    "Criteo": "criteo.net",
    "Taboola": "taboola.com",
    "Outbrain": "outbrain.com",
    "Pinterest": "pinterest.com",
    "Snap": "sc-static.net",
    "X": "ads-twitter.com",
    "Reddit": "redditstatic.com",
    "Quantcast": "quantserve.com",
    "Mobon": "mobon.net",
    "Dable": "dable.io",
    "Wider Planet": "widerplanet.com",
}
SITE = Site(
    {
        "/": (
            "text/html; charset=utf-8",
            page("".join(tag for _, tag in TAGS.values()) + "<p id=shop>shop</p>"),
            [],
        )
    }
)


def reached(visitor: Running) -> set[str]:
    return {owner for owner, host in HOSTS.items() if visitor.hosts((host,))}


def test_no_vendor_before_consent_and_the_analytics_ones_after_it(
    serve: Callable[..., Running],
) -> None:
    visitor = serve(SITE)
    visitor.visit("/")
    assert reached(visitor) == set()
    assert visitor.page.locator("#shop").inner_text() == "shop"

    visitor.consent(functional=False, analytics=True, advertising=False)
    visitor.requests.clear()
    visitor.visit("/")
    analytics = {owner for owner, (category, _) in TAGS.items() if category == "analytics"}
    assert reached(visitor) == analytics

    visitor.consent(functional=True, analytics=True, advertising=True)
    visitor.requests.clear()
    visitor.visit("/")
    assert reached(visitor) == set(TAGS)
