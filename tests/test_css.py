"""Reading CSS for the URLs it fetches (consent_mw.html.css), as CSS Syntax Level 3
tokenizes it: comments and strings taken whole, escapes decoded."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consent_mw.html.css import blank, css_urls, may_fetch, unescape


@pytest.mark.parametrize(
    ("css", "urls"),
    [
        ("a{background:url(https://t.example/x.png) no-repeat}", ["https://t.example/x.png"]),
        ("a{background:URL( 'https://t.example/q' )}", ["https://t.example/q"]),
        ('a{background:url("//t.example/d")}', ["//t.example/d"]),
        ('@import "https://t.example/a.css";', ["https://t.example/a.css"]),
        ("@import url(https://t.example/b.css) screen;", ["https://t.example/b.css"]),
        ("@IMPORT/* c */'https://t.example/c.css';", ["https://t.example/c.css"]),
        (
            "@font-face{src:url(https://t.example/f.woff2) format('woff2')}",
            ["https://t.example/f.woff2"],
        ),
        (
            'b{x:image-set("a.png" 1x, url(b.png) 2x, "c.avif" type("image/avif"))}',
            ["a.png", "b.png", "c.avif"],
        ),
        ('b{x:-webkit-image-set("w.png" 1x)}', ["w.png"]),
        ("b{x:u\\72l(https://e.example/1)}", ["https://e.example/1"]),
        ('b{x:\\75 rl("https://e.example/2")}', ["https://e.example/2"]),
        ("b{x:url(https\\3a //e.example/3)}", ["https://e.example/3"]),
        ('b{x:url("https:\\\n//e.example/4")}', ["https://e.example/4"]),
        ("p{cursor:url(c.cur),auto;list-style:url(l.png)}", ["c.cur", "l.png"]),
        # none of these fetches
        ("/* url(https://c.example/x) */", []),
        ('p{content:"url(https://s.example/x)"}', []),
        ("p{content:'@import \"x\"'}", []),
        ("q{b:url(bad url)}", []),
        ("q{b:url(bad'quote)}", []),
        ("q{b:url()}", []),
        ('q{b:url("")}', [""]),
        ("q{b:myurl(https://n.example/x)}", []),
        ('q{b:type("image/png")}', []),
        ('q{b:image-set(type("x") 1x)}', []),
        ('q{font-family:"Noto Sans"}', []),
        ('q{x:"unclosed\n url(https://n.example/y)}', ["https://n.example/y"]),
    ],
)
def test_the_urls_css_fetches(css: str, urls: list[str]) -> None:
    assert [u.url for u in css_urls(css)] == urls


def test_spans_cover_the_url_text_and_blanking_keeps_the_rest() -> None:
    css = "a{background:url( https://t.example/x ) red}@import 'https://t.example/i';"
    urls = css_urls(css)
    assert [css[u.start : u.end] for u in urls] == ["https://t.example/x", "'https://t.example/i'"]
    assert blank(css, urls) == 'a{background:url(  ) red}@import "";'


def test_escapes_decode_as_css_reads_them() -> None:
    assert unescape("\\41 B\\000043\\\\\\0") == "ABC\\\ufffd"
    assert unescape("\\110000x") == "\ufffdx"


def test_the_gate_lets_through_everything_that_could_fetch() -> None:
    assert not may_fetch("p{color:red;margin:calc(1px + 2px)}")
    for css in ("a{b:url(x)}", "@import 'x';", "a{b:image-set('x' 1x)}", "a{b:u\\72l(x)}"):
        assert may_fetch(css)


PIECES = st.sampled_from(
    [
        "url(",
        "URL(",
        "u\\72l(",
        "image-set(",
        "-webkit-image-set(",
        "type(",
        "@import ",
        "@media ",
        ")",
        "(",
        '"',
        "'",
        "/*",
        "*/",
        "\\",
        "\n",
        " ",
        ",",
        ";",
        "{",
        "}",
        "a",
        "https://t.example/x",
        "//t.example/y",
        "1x",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(PIECES, max_size=40).map("".join))
def test_after_blanking_nothing_fetches_and_the_rest_is_as_it_was(css: str) -> None:
    urls = css_urls(css)
    assert all(a.end <= b.start for a, b in zip(urls, urls[1:], strict=False))
    blanked = blank(css, urls)
    assert all(u.url == "" for u in css_urls(blanked))
    # Outside the spans, not a character changed.
    expected, pos = [], 0
    for u in urls:
        expected += (css[pos : u.start], '""' if css[u.start] in "\"'" else "")
        pos = u.end
    assert blanked == "".join(expected) + css[pos:]
