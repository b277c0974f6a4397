"""Every way HTML makes a browser fetch, judged by the rewriter: the table of
constructs from the HTML standard, SVG 2 and CSS (``docs/rewriter.md``), each
neutralised for a refused category, kept for an allowed one, byte for byte on a
host that is no tracker's, the same however it is chunked, and rewritten once for
all; then the rules each kind of value is read by (base URLs, srcdoc documents,
refresh, CSS, inline scripts, speculation rules).

Every test runs twice: with the C speedups taking the pass-through steps, and
with their pure-Python twin (the ``html_steps`` fixture in conftest.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consent_mw.html.rewrite import HTMLRewriter, rewrite_html
from consent_mw.policy.trackers import BUILTIN_TRACKERS, Matcher

pytestmark = pytest.mark.usefixtures("html_steps")

MATCHER = Matcher(BUILTIN_TRACKERS)
NOTHING = frozenset({"necessary"})
FB = "https://www.facebook.com/tr?id=1"
GA = "https://www.google-analytics.com/g/collect?v=2"
GTM = "https://www.googletagmanager.com/gtm.js?id=GTM-X"
HOSTS = ("www.facebook.com", "www.google-analytics.com", "www.googletagmanager.com")

# (construct, the tracker's category, the markup, what it becomes with nothing allowed)
TABLE = [
    (
        "img src",
        "advertising",
        '<img src="{FB}" alt="">',
        '<img data-consent-category="advertising" data-consent-src="{FB}" alt="">',
    ),
    (
        "img srcset",
        "advertising",
        '<img srcset="{FB} 2x" alt="">',
        '<img data-consent-category="advertising" data-consent-srcset="{FB} 2x" alt="">',
    ),
    (
        "picture source",
        "advertising",
        '<picture><source srcset="{FB} 1x"><img src="/a.png"></picture>',
        (
            '<picture><source data-consent-category="advertising" data-consent-srcset="{FB} 1x">'
            '<img src="/a.png"></picture>'
        ),
    ),
    (
        "video src",
        "advertising",
        '<video src="{FB}" width=320></video>',
        '<video data-consent-category="advertising" data-consent-src="{FB}" width=320></video>',
    ),
    (
        "video poster",
        "advertising",
        '<video poster="{FB}" width=320></video>',
        (
            '<video data-consent-category="advertising" data-consent-poster="{FB}" width=320>'
            "</video>"
        ),
    ),
    (
        "audio src",
        "analytics",
        '<audio src="{GA}"></audio>',
        '<audio data-consent-category="analytics" data-consent-src="{GA}"></audio>',
    ),
    (
        "track src",
        "analytics",
        '<video src="/v.webm"><track default src="{GA}"></video>',
        (
            '<video src="/v.webm"><track data-consent-category="analytics" default '
            'data-consent-src="{GA}"></video>'
        ),
    ),
    (
        "object data",
        "advertising",
        '<object data="{FB}" width=1 height=1></object>',
        (
            '<object data-consent-category="advertising" data-consent-data="{FB}" width=1 height=1>'
            "</object>"
        ),
    ),
    (
        "embed src",
        "advertising",
        '<embed src="{FB}">',
        '<embed data-consent-category="advertising" data-consent-src="{FB}">',
    ),
    (
        "iframe src",
        "analytics",
        '<iframe src="{GTM}" width=0 height=0></iframe>',
        (
            '<iframe src="about:blank" data-consent-category="analytics" data-consent-src="{GTM}" '
            "width=0 height=0></iframe>"
        ),
    ),
    (
        "frame src",
        "analytics",
        '<frameset><frame src="{GTM}"></frameset>',
        (
            '<frameset><frame src="about:blank" data-consent-category="analytics" '
            'data-consent-src="{GTM}"></frameset>'
        ),
    ),
    (
        "input image",
        "advertising",
        '<input type=image src="{FB}" alt=go>',
        '<input data-consent-category="advertising" type=image data-consent-src="{FB}" alt=go>',
    ),
    (
        "link stylesheet",
        "analytics",
        '<link rel=stylesheet href="{GTM}">',
        '<link data-consent-category="analytics" rel=stylesheet data-consent-href="{GTM}">',
    ),
    (
        "link preload imagesrcset",
        "advertising",
        '<link rel=preload as=image imagesrcset="{FB} 1x">',
        (
            '<link data-consent-category="advertising" rel=preload as=image '
            'data-consent-imagesrcset="{FB} 1x">'
        ),
    ),
    (
        "svg image href",
        "advertising",
        '<svg><image href="{FB}" width=1 height=1/></svg>',
        (
            '<svg><image data-consent-category="advertising" data-consent-href="{FB}" width=1 '
            "height=1/></svg>"
        ),
    ),
    (
        "svg image xlink:href",
        "advertising",
        '<svg><image xlink:href="{FB}"/></svg>',
        '<svg><image data-consent-category="advertising" data-consent-xlink-href="{FB}"/></svg>',
    ),
    (
        "svg use href",
        "advertising",
        '<svg><use href="{FB}#i"/></svg>',
        '<svg><use data-consent-category="advertising" data-consent-href="{FB}#i"/></svg>',
    ),
    (
        "svg feImage",
        "advertising",
        '<svg><filter id=f><feImage href="{FB}"/></filter></svg>',
        (
            '<svg><filter id=f><feImage data-consent-category="advertising" '
            'data-consent-href="{FB}"/></filter></svg>'
        ),
    ),
    (
        "svg script href",
        "analytics",
        '<svg><script href="{GTM}"></script></svg>',
        (
            '<svg><script type="text/plain" data-consent-category="analytics" '
            'data-consent-href="{GTM}"></script></svg>'
        ),
    ),
    (
        "body background",
        "advertising",
        '<body background="{FB}"><p>x</p>',
        '<body data-consent-category="advertising" data-consent-background="{FB}"><p>x</p>',
    ),
    (
        "table background",
        "advertising",
        '<table background="{FB}"><tr><td background="{FB}">x</td></tr></table>',
        (
            '<table data-consent-category="advertising" data-consent-background="{FB}"><tr><td '
            'data-consent-category="advertising" data-consent-background="{FB}">x</td></tr></table>'
        ),
    ),
    (
        "style attribute",
        "advertising",
        '<div style="background:url({FB}) no-repeat;color:red">x</div>',
        (
            '<div data-consent-category="advertising" data-consent-style="background:url({FB}) '
            'no-repeat;color:red" style="background:url() no-repeat;color:red">x</div>'
        ),
    ),
    (
        "style attribute quoted ref",
        "advertising",
        '<div style="background-image:url(&quot;{FB}&quot;)">x</div>',
        (
            '<div data-consent-category="advertising" '
            'data-consent-style="background-image:url(&quot;{FB}&quot;)" '
            'style="background-image:url(&quot;&quot;)">x</div>'
        ),
    ),
    (
        "style attribute image-set",
        "advertising",
        "<div style='background-image:image-set(\"{FB}\" 1x)'>x</div>",
        (
            '<div data-consent-category="advertising" '
            "data-consent-style='background-image:image-set(\"{FB}\" 1x)' "
            'style="background-image:image-set(&quot;&quot; 1x)">x</div>'
        ),
    ),
    (
        "style element import",
        "analytics",
        '<style>@import "{GTM}";p{color:red}</style>',
        (
            '<style data-consent-text="@import &quot;{GTM}&quot;;p{color:red}" '
            'data-consent-category="analytics">@import "";p{color:red}</style>'
        ),
    ),
    (
        "style element url",
        "advertising",
        "<style>p{background:url({FB})}</style><p>x</p>",
        (
            '<style data-consent-text="p{background:url({FB})}" '
            'data-consent-category="advertising">p{background:url()}</style><p>x</p>'
        ),
    ),
    (
        "style element font",
        "analytics",
        "<style>@font-face{font-family:t;src:url('{GA}')}p{font-family:t}</style><p>x</p>",
        (
            "<style "
            "data-consent-text=\"@font-face{font-family:t;src:url('{GA}')}p{font-family:t}\" "
            'data-consent-category="analytics">@font-face{font-family:t;src:url("")}p{font-family:t}</style>'
            "<p>x</p>"
        ),
    ),
    (
        "iframe srcdoc",
        "advertising",
        '<iframe srcdoc="<img src=&quot;{FB}&quot;>"></iframe>',
        (
            '<iframe data-consent-category="advertising" data-consent-srcdoc="<img '
            'src=&quot;{FB}&quot;>" srcdoc="<img data-consent-category=&quot;advertising&quot; '
            'data-consent-src=&quot;{FB}&quot;>"></iframe>'
        ),
    ),
    (
        "meta refresh",
        "advertising",
        '<meta http-equiv="refresh" content="0; url={FB}">',
        (
            '<meta data-consent-category="advertising" http-equiv="refresh" '
            'data-consent-content="0; url={FB}">'
        ),
    ),
    (
        "base href",
        "analytics",
        (
            '<base href="https://www.googletagmanager.com/"><script src="gtm.js?id=GTM-X"></script>'
            '<img src="/p.gif">'
        ),
        (
            '<base href="https://www.googletagmanager.com/"><script type="text/plain" '
            'data-consent-category="analytics" data-consent-src="gtm.js?id=GTM-X"></script><img '
            'data-consent-category="analytics" data-consent-src="/p.gif">'
        ),
    ),
    (
        "inline fetch",
        "analytics",
        '<script>fetch("{GA}", {method: "POST"});</script>',
        (
            '<script type="text/plain" data-consent-category="analytics">fetch("{GA}", {method: '
            '"POST"});</script>'
        ),
    ),
    (
        "inline sendBeacon",
        "analytics",
        "<script>navigator.sendBeacon('{GA}', 'x');</script>",
        (
            '<script type="text/plain" '
            "data-consent-category=\"analytics\">navigator.sendBeacon('{GA}', 'x');</script>"
        ),
    ),
    (
        "inline xhr",
        "analytics",
        "<script>var x = new XMLHttpRequest(); x.open('GET', '{GA}'); x.send();</script>",
        (
            '<script type="text/plain" data-consent-category="analytics">var x = new '
            "XMLHttpRequest(); x.open('GET', '{GA}'); x.send();</script>"
        ),
    ),
    (
        "inline image",
        "advertising",
        '<script>new Image().src = "{FB}";</script>',
        (
            '<script type="text/plain" data-consent-category="advertising">new Image().src = '
            '"{FB}";</script>'
        ),
    ),
    (
        "inline worker",
        "analytics",
        '<script>new Worker("{GTM}");</script>',
        (
            '<script type="text/plain" data-consent-category="analytics">new '
            'Worker("{GTM}");</script>'
        ),
    ),
    (
        "inline importScripts",
        "analytics",
        '<script>importScripts("{GTM}");</script>',
        (
            '<script type="text/plain" '
            'data-consent-category="analytics">importScripts("{GTM}");</script>'
        ),
    ),
    (
        "inline escaped slashes",
        "analytics",
        '<script>fetch("https:\\/\\/www.google-analytics.com\\/g\\/collect");</script>',
        (
            '<script type="text/plain" '
            'data-consent-category="analytics">fetch("https:\\/\\/www.google-analytics.com\\/g\\/collect");</script>'
        ),
    ),
    (
        "speculation rules",
        "advertising",
        (
            '<script type="speculationrules">{"prefetch": [{"source": "list", "urls": '
            '["{FB}"]}]}</script>'
        ),
        (
            '<script type="text/plain" data-consent-category="advertising" '
            'data-consent-type="speculationrules">{"prefetch": [{"source": "list", "urls": '
            '["{FB}"]}]}</script>'
        ),
    ),
    (
        "a ping",
        "advertising",
        '<a href="/next" ping="/count {FB}">next</a>',
        (
            '<a data-consent-category="advertising" href="/next" data-consent-ping="/count '
            '{FB}">next</a>'
        ),
    ),
    (
        "form action",
        "advertising",
        '<form action="{FB}" method=post><input name=q></form>',
        (
            '<form data-consent-category="advertising" data-consent-action="{FB}" method=post>'
            "<input name=q></form>"
        ),
    ),
    (
        "button formaction",
        "advertising",
        '<form><button formaction="{FB}">go</button></form>',
        (
            '<form><button data-consent-category="advertising" '
            'data-consent-formaction="{FB}">go</button></form>'
        ),
    ),
    (
        "html manifest",
        "analytics",
        '<html manifest="{GTM}"><p>x',
        '<html data-consent-category="analytics" data-consent-manifest="{GTM}"><p>x',
    ),
]


def fill(text: str) -> bytes:
    return text.replace("{FB}", FB).replace("{GA}", GA).replace("{GTM}", GTM).encode()


def rewrite(html: bytes, allowed: frozenset[str] = NOTHING, **options: object) -> bytes:
    return rewrite_html(html, MATCHER, allowed, **options)  # type: ignore[arg-type]


def chunked(html: bytes, cuts: list[int], allowed: frozenset[str] = NOTHING) -> bytes:
    rewriter = HTMLRewriter(MATCHER, allowed, inject=b"@")
    out, previous = [], 0
    for cut in [*sorted(set(cuts)), len(html)]:
        out.append(rewriter.feed(html[previous:cut]))
        previous = cut
    return b"".join(out) + rewriter.close()


IDS = [row[0] for row in TABLE]


@pytest.mark.parametrize(("construct", "category", "html", "expected"), TABLE, ids=IDS)
def test_each_construct_is_neutralised_for_its_refused_category(
    construct: str, category: str, html: str, expected: str
) -> None:
    rewriter = HTMLRewriter(MATCHER, NOTHING)
    assert rewriter.feed(fill(html)) + rewriter.close() == fill(expected)
    assert rewriter.blocked_categories.get(category, 0) >= 1


@pytest.mark.parametrize(("construct", "category", "html", "expected"), TABLE, ids=IDS)
def test_each_construct_is_kept_when_its_category_is_allowed(
    construct: str, category: str, html: str, expected: str
) -> None:
    assert rewrite(fill(html), NOTHING | {category}) == fill(html)


@pytest.mark.parametrize(("construct", "category", "html", "expected"), TABLE, ids=IDS)
def test_each_construct_on_a_host_that_is_no_trackers_stays_byte_for_byte(
    construct: str, category: str, html: str, expected: str
) -> None:
    page = fill(html)
    for host in HOSTS:
        page = page.replace(host.encode(), b"cdn.example.org")
    assert rewrite(page) == page


@pytest.mark.parametrize(("construct", "category", "html", "expected"), TABLE, ids=IDS)
def test_each_construct_comes_out_the_same_however_it_is_chunked(
    construct: str, category: str, html: str, expected: str
) -> None:
    page = b"<!doctype html><p>before</p>" + fill(html) + b"<p>after</p>"
    whole = chunked(page, [])
    for cut in range(1, len(page)):
        assert chunked(page, [cut]) == whole, cut
    assert chunked(page, list(range(1, len(page)))) == whole


@pytest.mark.parametrize(("construct", "category", "html", "expected"), TABLE, ids=IDS)
def test_each_construct_is_rewritten_once_for_all(
    construct: str, category: str, html: str, expected: str
) -> None:
    once = rewrite(fill(html))
    assert rewrite(once) == once


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(range(len(TABLE))), min_size=1, max_size=8), st.data())
def test_any_mix_of_constructs_gives_the_same_output_however_it_is_chunked(picks, data) -> None:
    page = b"<p>x</p>".join(fill(TABLE[i][2]) for i in picks)
    cuts = data.draw(st.lists(st.integers(min_value=1, max_value=len(page) - 1), max_size=10))
    assert chunked(page, cuts) == chunked(page, [])


# -- base URLs --------------------------------------------------------------------


def test_only_the_first_base_with_href_counts() -> None:
    html = (
        b'<base target=_top><base href="/sub/"><base href="https://www.googletagmanager.com/">'
        b'<script src="gtm.js"></script>'
    )
    assert rewrite(html) == html


def test_a_base_on_a_host_that_is_no_trackers_changes_nothing() -> None:
    html = b'<base href="https://cdn.example.org/"><img src="p.gif"><div style="x:url(a.png)">'
    assert rewrite(html) == html


def test_a_tracker_base_reaches_every_relative_url_after_it_not_before() -> None:
    html = (
        b'<img src="/before.gif"><base href="//www.facebook.com/"><img src="tr?x=1">'
        b'<div style="background:url(tr)"></div><a href="/x" ping="tr">x</a>'
        b'<script>fetch("/tr?y")</script><img src="https://cdn.example.org/ok.png">'
    )
    out = rewrite(html)
    assert out.startswith(b'<img src="/before.gif">')
    assert out.count(b'data-consent-category="advertising"') == 4
    assert out.endswith(b'<img src="https://cdn.example.org/ok.png">')


def test_a_srcdoc_document_inherits_the_tracker_base() -> None:
    html = b'<base href="https://www.facebook.com/"><iframe srcdoc="<img src=tr>"></iframe>'
    assert b'srcdoc="<img data-consent-category=&quot;advertising&quot; data-consent-src=tr>"' in (
        rewrite(html)
    )


def test_a_srcdoc_documents_own_base_takes_over_from_its_parents() -> None:
    html = (
        b'<base href="https://www.facebook.com/">'
        b'<iframe srcdoc="<base href=https://cdn.example.org/><img src=tr>"></iframe>'
        b'<iframe srcdoc="<base href=/sub/><img src=../tr>"></iframe>'
    )
    out = rewrite(html)
    assert b'srcdoc="<base href=https://cdn.example.org/><img src=tr>"' in out
    # A relative one is read against the parent's: /sub/../tr is www.facebook.com/tr.
    assert b"<base href=/sub/><img data-consent-category=&quot;advertising&quot;" in out


# -- srcdoc -----------------------------------------------------------------------


def test_srcdoc_documents_are_rewritten_inside_one_another() -> None:
    inner = f'<img src="{FB}">'.replace("&", "&amp;").replace('"', "&quot;")
    middle = f'<iframe srcdoc="{inner}"></iframe>'.replace("&", "&amp;").replace('"', "&quot;")
    out = rewrite(f'<iframe srcdoc="{middle}"></iframe>'.encode())
    # Two levels of escaping down, the pixel is renamed; each level keeps its original.
    assert b"data-consent-src=&amp;quot;https://www.facebook.com/tr" in out
    assert out.count(b"data-consent-srcdoc=") == 2
    assert out.count(b'data-consent-category="advertising"') == 1


def test_a_srcdoc_without_trackers_keeps_its_bytes_and_its_references() -> None:
    html = b"<iframe srcdoc='<p title=&quot;a&amp;b&quot;>&copy=1 &#x2603;</p>'></iframe>"
    assert rewrite(html) == html


def test_an_author_marked_iframe_moves_its_whole_srcdoc() -> None:
    html = b'<iframe data-consent-category="analytics" srcdoc="<p>hi</p>"></iframe>'
    assert rewrite(html) == (
        b'<iframe data-consent-srcdoc="<p>hi</p>" data-consent-category="analytics" srcdoc="">'
        b"</iframe>"
    )


# -- refresh --------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        f"0;url={FB}",
        f"5, URL = '{FB}'",
        f"  3.5 ; url=&quot;{FB}&quot;",
        f"0 {FB}",
        f"0;{FB}",
    ],
)
def test_every_way_to_write_a_refresh_to_a_tracker(content: str) -> None:
    html = f'<meta http-equiv=Refresh content="{content}">'.encode()
    assert b"data-consent-content=" in rewrite(html)


@pytest.mark.parametrize(
    "html",
    [
        f'<meta name=description content="{FB}">',
        f'<meta property="og:image" content="{FB}">',
        '<meta http-equiv=refresh content="30">',
        '<meta http-equiv="X-UA-Compatible" content="IE=edge">',
    ],
)
def test_other_meta_content_is_no_fetch(html: str) -> None:
    assert rewrite(html.encode()) == html.encode()


# -- CSS ---------------------------------------------------------------------------


def test_a_style_attribute_keeps_the_urls_of_allowed_and_unknown_hosts() -> None:
    html = f'<div style="background:url(/a.png),url({FB});cursor:url({GA}),auto">'.encode()
    out = rewrite(html, NOTHING | {"analytics"})
    assert out.endswith(f'style="background:url(/a.png),url();cursor:url({GA}),auto">'.encode())
    assert b'data-consent-category="advertising"' in out


def test_an_author_category_blanks_every_url_of_the_element() -> None:
    html = b'<div data-consent-category=functional style="background:url(/banner.png)">'
    assert rewrite(html) == (
        b'<div data-consent-style="background:url(/banner.png)" '
        b'data-consent-category=functional style="background:url()">'
    )
    assert rewrite(html, NOTHING | {"functional"}) == html


def test_a_sheet_longer_than_max_hold_is_blanked_without_its_copy() -> None:
    sheet = f"p{{background:url({FB})}}".encode() + b" " * 200
    rewriter = HTMLRewriter(MATCHER, NOTHING, max_hold=64)
    out = rewriter.feed(b"<style>" + sheet + b"</style><p>x") + rewriter.close()
    assert out.startswith(b'<style data-consent-category="advertising">p{background:url()}')
    assert b"data-consent-text" not in out and out.endswith(b"</style><p>x")


@pytest.mark.parametrize("kind", ["text/plain", "text/less"])
def test_a_sheet_the_browser_does_not_apply_is_kept(kind: str) -> None:
    html = f'<style type="{kind}">p{{background:url({FB})}}</style>'.encode()
    assert rewrite(html) == html


def test_a_sheet_inside_noscript_and_svg_is_judged_too() -> None:
    html = f"<noscript><style>p{{background:url({FB})}}</style></noscript>".encode()
    assert b"url()" in rewrite(html)
    svg = f"<svg><style>@import '{GTM}';</style></svg>".encode()
    assert b'@import ""' in rewrite(svg)


# -- inline scripts and speculation rules ------------------------------------------


@pytest.mark.parametrize(
    "script",
    [
        f'fetch("{GA}")',
        f"fetch ( '{GA}', {{keepalive: true}})",
        f"window.fetch(`{GA}`)",
        f"navigator.sendBeacon('{GA}')",
        f"new Request('{GA}')",
        f"r.open('POST', '{GA}', true)",
        f'document.createElement("img").src = "{GA}"',
        f"new Image().src='{GA}'",
        f'new Worker("{GTM}")',
        f"new SharedWorker('{GTM}')",
        f"importScripts('{GTM}')",
        f"import('{GTM}')",
        f'import {{ x }} from "{GTM}"',
        f"import '{GTM}';",
        f"new EventSource('{GA}')",
        "fetch('https:\\/\\/www.google-analytics.com\\/g\\/collect')",
        "fetch('https://www\\x2egoogle-analytics\\u002ecom/g/collect')",
    ],
)
def test_a_literal_request_to_a_tracker_neutralises_the_script(script: str) -> None:
    out = rewrite(f"<script>{script}</script>".encode())
    assert out.startswith(b'<script type="text/plain" data-consent-category=')


@pytest.mark.parametrize(
    "script",
    [
        f"var u = '{GA}';",  # a URL merely mentioned
        f"location.href = '{GA}'",  # a navigation
        "fetch('https://' + 'www.google-analytics.com/g/collect')",  # put together at run time
        "fetch(`https://${host}/g/collect`)",
        f"myfetch('{GA}')",
        f"a.src == '{GA}'",
        "fetch('/api/own')",
        "fetch('https://cdn.example.org/x')",
    ],
)
def test_what_is_no_literal_request_to_a_tracker_is_left(script: str) -> None:
    html = f"<script>{script}</script>".encode()
    assert rewrite(html) == html


@pytest.mark.parametrize(
    "rules",
    [
        '{"prefetch": [{"source": "list", "urls": ["/next"]}]}',
        '{"prefetch": [{"where": {"href_matches": "/*"}}]}',
        "{not json",
    ],
)
def test_speculation_rules_without_a_tracker_url_are_kept(rules: str) -> None:
    html = f'<script type="speculationrules">{rules}</script>'.encode()
    assert rewrite(html) == html


# -- several fetches in one element -------------------------------------------------


def test_an_allowed_tracker_no_longer_shields_a_refused_one_in_the_same_element() -> None:
    html = f'<img src="{GA}" srcset="{FB} 2x">'.encode()
    assert (
        rewrite(html, NOTHING | {"analytics"})
        == (
            f'<img data-consent-category="advertising" src="{GA}" data-consent-srcset="{FB} 2x">'
        ).encode()
    )


def test_an_element_lists_every_category_it_was_neutralised_for() -> None:
    rewriter = HTMLRewriter(MATCHER, NOTHING)
    html = f'<video poster="{FB}" src="{GA}" style="background:url({GTM})"></video>'.encode()
    out = rewriter.feed(html) + rewriter.close()
    assert out.startswith(b'<video data-consent-category="analytics advertising" ')
    assert rewriter.blocked == 1
    assert rewriter.blocked_categories == {"analytics": 1, "advertising": 1}
