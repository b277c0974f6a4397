"""The C speedups (consent_mw.html._speedups) against their pure-Python twin.

The extension exports one function, ``skim``, the rewriter's pass-through steps;
``consent_mw.html._pure.skim`` takes the same arguments and must give the same
results. These tests drive both on the same inputs and want the same answer:
``skim`` itself from every position of generated markup, in every mode (which
also puts every HTML element name and every bound of the plain-tag test to
both), and the whole rewriter (output, counts, the state after every window)
whatever the chunking and the hold limit, on generated documents and on a
corpus of pages. In CI the extension must be built. The same tests also run
once more against a build with AddressSanitizer and UndefinedBehaviorSanitizer,
which fail on any read outside the page's bytes (that build also takes the
portable path other C libraries get).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import itertools
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consent_mw.html import _pure, fetches, native, scan
from consent_mw.html.rewrite import HTMLRewriter
from consent_mw.html.scan import DATA, SCRIPT, TAG, UNTIL, ScanState
from consent_mw.policy.trackers import BUILTIN_TRACKERS, Matcher
from support.html_apps import TRACKER_PAGE, flip_case, rewriter_steps

SANITIZED = os.environ.get("CONSENT_MW_TEST_SANITIZED_SPEEDUPS")
if SANITIZED:  # the sanitizer run below: this module's tests against that build
    _loader = importlib.machinery.ExtensionFileLoader("consent_mw.html._speedups", SANITIZED)
    _spec = importlib.util.spec_from_loader("consent_mw.html._speedups", _loader)
    assert _spec is not None
    _speedups = importlib.util.module_from_spec(_spec)
    _loader.exec_module(_speedups)
else:
    try:
        from consent_mw.html import _speedups
    except ImportError:  # not compiled here
        _speedups = None  # type: ignore[assignment]

if _speedups is None:
    if os.environ.get("CI"):
        pytest.fail(
            "consent_mw.html._speedups is not built"
            " (`pip install -e .` compiles it with a C compiler)",
            pytrace=False,
        )
    pytest.skip("consent_mw.html._speedups is not built here", allow_module_level=True)

MATCHER = Matcher(BUILTIN_TRACKERS)
HOLDS = [64, 100, 130, 300, 1000, 256 * 1024]


class _Truthy:
    def __bool__(self) -> bool:
        return True


def _new_state(
    max_hold: int = 256 * 1024,
    mode: int = DATA,
    until_kind: bytes = b"",
    script_state: int = scan.SCRIPT_DATA,
    *,
    noscript: bool = False,
    held: bool = False,
    injected: bool = True,
) -> ScanState:
    state = ScanState(max_hold, injected=injected)
    state.mode, state.until_kind, state.script_state = mode, until_kind, script_state
    state.noscript = noscript
    state.held = [b"<script>"] if held else None
    return state


def _fields(state: ScanState) -> tuple[Any, ...]:
    return tuple(getattr(state, name) for name in ScanState.__slots__)


def _skim_both(html: bytes, pos: int, final: bool, **state: Any) -> list[tuple[Any, ...]]:
    """What skim() answers, and the state it reaches, from the same state: C, Python."""
    answers = []
    for skim in (_speedups.skim, _pure.skim):
        moved = _new_state(**state)
        answers.append((skim(moved, html, pos, final), _fields(moved)))
    return answers


#: every mode skim() starts in: (mode, until_kind)
MODES = [
    (DATA, b""),
    *((UNTIL, kind) for kind in (b"!--", b"!", b"", *sorted(scan.RAW))),
    (SCRIPT, b""),
    (TAG, b""),
]


# What the C steps branch on: every tag name they know in both cases, the
# raw-text and script-data ends and escapes, attribute shapes that can or cannot
# name a host, and the bytes that end names and values.
PIECES = st.sampled_from(
    [
        *(b"<" + name for name in (b"script", b"style", b"iframe", b"textarea", b"title")),
        *(b"<" + name for name in (b"xmp", b"noembed", b"noframes", b"noscript", b"plaintext")),
        *(b"<" + name for name in (b"img", b"image", b"link", b"source", b"embed", b"imgx")),
        *(b"<" + name for name in sorted(fetches.SPECIFIC)),
        *(b"<" + name for name in (b"base", b"feImage", b"framex")),
        *(b"<" + name for name in (b"div", b"meta", b"body", b"td", b"Table", b"html", b"a-b")),
        *(b"</" + name for name in (b"script", b"style", b"title", b"noscript", b"xmp")),
        b"<SCRIPT",
        b"<Img",
        b"</NoScript",
        b"<TITLE",
        b"<p",
        b"<a",
        b"</",
        b"<",
        b">",
        b"/>",
        b" ",
        b"\t",
        b"\n",
        b"\f",
        b"\r",
        b"/",
        b"=",
        b'"',
        b"'",
        b"<!--",
        b"-->",
        b"--!>",
        b"--",
        b"-",
        b"<!-->",
        b"<!--->",
        b"<!",
        b"<?",
        b"<!doctype html>",
        b" src=",
        b' src="/a.png"',
        b" src=/a.png",
        b' alt="x"',
        b" x:y=1",
        b" data-consent-category=analytics",
        b" DATA-CONSENT-x=1",
        b' src="https://www.facebook.com/tr?id=1"',
        b" src=//www.googletagmanager.com/gtm.js",
        b' src=" /\t/host"',
        b" href=https:host",
        b" srcset='a.png 1x, b.png 2x'",
        b' style="color:red"',
        b" style='background:url(/a.png)'",
        b' STYLE="width:calc(1px)"',
        b" style=x:image-set(y)",
        b' style="b:u\\72l(x)"',
        b" background=/a.png",
        b' background="https://www.facebook.com/tr"',
        b" ping='https://a.b/c /d'",
        b" manifest=//a.b/c",
        b" http-equiv=refresh",
        b' content="0;url=https://www.facebook.com/tr"',
        b' srcdoc="<img src=https://www.facebook.com/tr>"',
        b" poster=//www.facebook.com/tr",
        b" data=https://a.b/c",
        b" formaction=https:host",
        b"url(",
        b"SET(",
        b"(",
        b"&#47;",
        b"\\",
        b":",
        b"&",
        b"fbq('init')",
        b"gtag('config')",
        b"text",
        b"\xea\xb3\xb5",
        b"x" * 40,
        b"<head>",
        b"<body>",
        b"<html>",
    ]
)
MARKUP = st.lists(PIECES, max_size=50).map(b"".join)


@settings(max_examples=600, deadline=None)
@given(
    MARKUP,
    st.lists(st.booleans(), min_size=1, max_size=8),
    st.sampled_from(HOLDS),
    st.sampled_from(MODES),
    st.sampled_from([scan.SCRIPT_DATA, scan.SCRIPT_ESCAPED, scan.SCRIPT_DOUBLE]),
    st.lists(st.booleans(), min_size=4, max_size=4),
)
def test_skim_gives_what_its_twin_gives_from_every_position(
    html: bytes,
    flips: list[bool],
    max_hold: int,
    mode: tuple[int, bytes],
    script_state: int,
    flags: list[bool],
) -> None:
    html = flip_case(html, flips)
    noscript, held, injected, final = flags
    for pos in range(len(html) + 1):
        c, python = _skim_both(
            html,
            pos,
            final,
            max_hold=max_hold,
            mode=mode[0],
            until_kind=mode[1],
            script_state=script_state,
            noscript=noscript,
            held=held,
            injected=injected,
        )
        assert c == python, pos


# An <img>'s attributes, built to land on both sides of every bound that
# plain_tag_rest derives from max_hold (whitespace runs, name and value lengths,
# attribute count) with values that can and cannot name a host.
_WS_RUN = st.one_of(
    st.sampled_from([b"", b" ", b"  ", b"/", b"\n"]),
    st.integers(min_value=0, max_value=10).map(lambda k: b" " * k),
    st.text(alphabet="\t\n\f\r /", max_size=11).map(str.encode),
)
_NAME = st.one_of(
    st.integers(min_value=1, max_value=30).map(lambda k: b"n" * k),
    st.text(alphabet="abz-:=", min_size=1, max_size=20).map(str.encode),
    st.sampled_from([b"data-consent-x", b"DATA-Consent-", b"src", b"srcset"]),
    st.sampled_from([*fetches.GENERIC_TRIGGERS, b"STYLE"]),
    st.sampled_from([b"styles", b"pings", b"Http-Equiv", b"backgroundx"]),
)
_VALUE_TEXT = st.one_of(
    st.integers(min_value=0, max_value=40).map(lambda k: b"v" * k),
    st.text(alphabet="ab/ :&\\\x01\t.", max_size=30).map(str.encode),
    st.lists(st.sampled_from([b"url(", b"URL(", b"set(", b"(", b"ur", b"l(", b"x", b":"])).map(
        b"".join
    ),
)
_VALUE = st.one_of(
    _VALUE_TEXT.map(lambda v: b'"' + v.replace(b'"', b"") + b'"'),
    _VALUE_TEXT.map(lambda v: b"'" + v.replace(b"'", b"") + b"'"),
    _VALUE_TEXT.map(lambda v: v.replace(b" ", b"").replace(b"\t", b"")),
    _VALUE_TEXT.map(lambda v: b'"' + v),  # never closed
    st.just(b""),
)
_ATTRIBUTE = st.tuples(_WS_RUN, _NAME, st.sampled_from([b"", b"=", b" =", b"= ", b" \t= "]), _VALUE)
ATTRIBUTES = st.tuples(
    st.lists(_ATTRIBUTE, max_size=4), _WS_RUN, st.sampled_from([b">", b"/>", b"", b" >"])
).map(
    lambda t: (
        b"".join(ws + name + eq + (value if eq else b"") for ws, name, eq, value in t[0])
        + t[1]
        + t[2]
    )
)


@settings(max_examples=3000, deadline=None)
@given(
    st.sampled_from(
        [b"<" + name for name in sorted(fetches.SPECIFIC)]
        + [b"<IMAGE", b"<Use", b"<div", b"<a", b"<TD", b"<meta", b"<x-y", b"<script", b"<base"]
        + [b"<noscript"]
    ),
    st.sampled_from([b" ", b"\t", b"/", b">", b"\n"]),
    ATTRIBUTES,
    st.sampled_from([64, 65, 100, 127, 128, 130, 200, 256, 300, 1000, 256 * 1024]),
)
def test_a_tag_is_skipped_exactly_when_the_plain_pattern_says_so(
    name: bytes, after: bytes, rest: bytes, max_hold: int
) -> None:
    html = name + after + rest
    for final in (False, True):
        c, python = _skim_both(html, 0, final, max_hold=max_hold)
        assert c == python


def _state(rewriter: HTMLRewriter) -> tuple[Any, ...]:
    """Everything a later window reads: the same both ways."""
    return (
        _fields(rewriter._scan),
        rewriter._carry,
        rewriter._held_body,
        rewriter._doc_start,
        rewriter._tag_state,
        rewriter._tag_name,
    )


def _run(html: bytes, cuts: list[int], allowed: frozenset[str], max_hold: int, c: bool):
    with rewriter_steps(_speedups.skim if c else _pure.skim):
        rewriter = HTMLRewriter(MATCHER, allowed, inject=b"@", max_hold=max_hold)
        out, states, previous = [], [], 0
        for cut in [*sorted(set(cuts)), len(html)]:
            out.append(rewriter.feed(html[previous:cut]))
            states.append(_state(rewriter))
            previous = cut
        out.append(rewriter.close())
        return b"".join(out), rewriter.blocked, rewriter.blocked_categories, states


# Script bodies: the escape states and their ends, as the C step walks them.
_SCRIPT_BODY = st.lists(
    st.sampled_from(
        [b"<!--", b"-->", b"<!-->", b"<script", b"<script>", b"</script", b"</script>"]
        + [b"</SCRIPT ", b"<Script/", b"</noscript>", b"<", b"-", b"--", b">", b" ", b"x"]
        + [b"fbq('init');", b"gtag('config');", b"\n"]
    ),
    max_size=12,
).map(b"".join)
_RAW_BODY = st.lists(
    st.sampled_from([b"</style>", b"</title ", b"</textarea>", b"</xmp>", b"</noscript>"])
    | st.sampled_from([b"</STYLE/", b"</titlex>", b"<", b"x", b"<img src=//a.b/c>"])
    | st.sampled_from([b"--!>", b"--!", b"-->", b"--", b"->", b">"]),
    max_size=6,
).map(b"".join)
_ELEMENT = st.one_of(
    PIECES,
    st.tuples(st.sampled_from([b"<script", b"<SCRIPT"]), ATTRIBUTES, _SCRIPT_BODY).map(b"".join),
    st.tuples(
        st.sampled_from([b"<style>", b"<title>", b"<textarea>", b"<xmp>", b"<noembed>"]),
        _RAW_BODY,
    ).map(b"".join),
    st.tuples(st.sampled_from([b"<img", b"<link", b"<iframe"]), st.just(b" "), ATTRIBUTES).map(
        b"".join
    ),
    st.tuples(
        st.sampled_from([b"<!--", b"<!", b"<?"]),
        _RAW_BODY,
        st.sampled_from([b"-->", b">", b"--!>", b"--->"]),
    ).map(b"".join),
)
DOCUMENTS = st.lists(_ELEMENT, max_size=30).map(b"".join)


@settings(max_examples=1500, deadline=None)
@given(
    DOCUMENTS,
    st.lists(st.booleans(), min_size=1, max_size=8),
    st.sampled_from([64, 100, 256 * 1024]),
    st.sampled_from(
        [frozenset({"necessary"}), frozenset({"analytics"}), frozenset({"advertising"})]
    ),
    st.data(),
)
def test_the_rewriter_gives_the_same_with_and_without_the_speedups(
    html: bytes, flips: list[bool], max_hold: int, allowed: frozenset[str], data
) -> None:
    html = flip_case(html, flips)
    cuts = data.draw(st.lists(st.integers(min_value=1, max_value=max(len(html), 1)), max_size=30))
    cuts = [c for c in cuts if c < len(html)]
    assert _run(html, cuts, allowed, max_hold, c=True) == _run(
        html, cuts, allowed, max_hold, c=False
    )


# Shapes at the edges the steps measure: a tag that may hold what follows it, at
# lengths around max_hold; the bytes kept back at a window's end; a comment
# start too short to read; a candidate the window cuts short.
EDGES = [
    *(b"<div title='" + b"x" * k + b"'><img src=//www.facebook.com/tr>" for k in range(44, 56)),
    *(b"<div title='" + b"x" * k + b"<img src=//www.facebook.com/tr>'>" for k in range(44, 56)),
    *(b"<img alt='" + b"x" * k + b"' src=//www.facebook.com/tr>" for k in range(40, 56)),
    *(b"<p>" + b"y" * k + b"<!-- c --!><img src=//www.facebook.com/tr>" for k in range(0, 20)),
    *(
        b"<script>" + b"y" * k + b"<!--><script></script><img src=//www.facebook.com/tr>"
        for k in range(0, 20)
    ),
    *(
        b"<style>" + b"y" * k + b"</style ><img src=//www.facebook.com/tr></style>"
        for k in range(0, 20)
    ),
    b"<noscript><!-- </noscript><img src=//www.facebook.com/tr> -->",
    b"<noscript><script>a</noscript><img src=//www.facebook.com/tr></script>",
    b"<noscript><title>a</noscript><img src=//www.facebook.com/tr></title>",
    b"<plaintext><img src=//www.facebook.com/tr>",
    b"<noscript><plaintext></noscript><img src=//www.facebook.com/tr>",
    b"<!-><img src=//www.facebook.com/tr>-->",
    b"<!---><img src=//www.facebook.com/tr>",
    b"<!--><img src=//www.facebook.com/tr>",
    b"<? x <img src=//www.facebook.com/tr>",
    b"</ x <img src=//www.facebook.com/tr>",
]


@pytest.mark.parametrize("html", EDGES)
def test_every_cut_at_the_edges_gives_the_same_with_and_without_the_speedups(html: bytes) -> None:
    html = b"<head>" + html
    for allowed in (frozenset({"necessary"}), frozenset({"advertising"})):
        for cut in range(1, len(html)):
            assert _run(html, [cut], allowed, 64, c=True) == _run(
                html, [cut], allowed, 64, c=False
            ), cut


# Where the injection goes: what may come before <head>, and what ends the search.
STARTS = [
    b"\xef\xbb\xbf \n<!-- a --> <!doctype html>\n<html lang=ko>\n<!-- b -->\n<head><p>",
    b"<!DOCTYPE html><HTML x='<head>'><BODY class=x>t",
    b"</><? pi ><! x ></ 1><html><head",
    b"<html><p>x<head>",
    b"<htmlx><head>",
    b"<html\n><hea",
    b"</x><head>",
    b"<html><!--><head>",
    b"<html><!---><body>",
    b"\t\n<html>   text",
    b"<htm",
]


@pytest.mark.parametrize("html", STARTS)
def test_every_cut_before_the_injection_gives_the_same_with_and_without_the_speedups(
    html: bytes,
) -> None:
    for cut in range(1, len(html)):
        for cuts in ([cut], list(range(cut, len(html), cut))):
            assert _run(html, cuts, frozenset(), 64, c=True) == _run(
                html, cuts, frozenset(), 64, c=False
            ), cuts


def test_a_page_with_every_step_gives_the_same_with_and_without_the_speedups() -> None:
    page = (
        b"\xef\xbb\xbf<!DOCTYPE html><!-- c --><html><head><title>t <b></title>"
        b"<style>p{}</style><link rel=stylesheet href=/s.css>"
        b'<script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>'
        b"<script>gtag('config','G-1');</script><script>var a = '<!--<script>x</script>-->';"
        b"</script></head><body><noscript><img src='https://www.facebook.com/tr?id=1'>"
        b'<iframe src="https://www.googletagmanager.com/ns.html"></iframe><!-- x </noscript>'
        b"<textarea><script src=//connect.facebook.net/x.js></script></textarea><xmp></xmp>"
        b"<?php ?><! bogus><div title='<img src=//www.facebook.com/tr>'></div>"
        b"<img src=/a.png alt='a'><IMG SRC=https://cdn.example/b.png><plaintext><script>"
    )
    for allowed in (frozenset({"necessary"}), frozenset({"analytics", "advertising"})):
        for step in (1, 2, 3, 7, 16, 61, len(page)):
            cuts = list(range(step, len(page), step))
            assert _run(page, cuts, allowed, 256 * 1024, c=True) == _run(
                page, cuts, allowed, 256 * 1024, c=False
            )


# Pages as sites send them (trackers in head and body, comments, styles, forms,
# lazy images, an over-long tag, upper case), each cut at many sizes: both twins
# give the same bytes, counts and states.
_SITE = (
    b"\xef\xbb\xbf<!DOCTYPE html>\n<!--[if IE]><p>old</p><![endif]-->\n<html lang=ko>\n"
    b"<head><meta charset=utf-8><title>Ticketbox &amp; <b>co</b></title>"
    b"<link rel=preconnect href='https://www.googletagmanager.com'>"
    b'<link rel=stylesheet href="/static/site.css"><style>a>b{color:red}</style>'
    b'<script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>'
    b"<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}"
    b"gtag('js',new Date());gtag('config','G-1');</script>"
    b"<SCRIPT TYPE=text/javascript>!function(f,b,e,v){f.fbq=1}(window);fbq('init','1');"
    b"</SCRIPT>"
    b'<script type="application/ld+json">{"@context":"https://schema.org","x":"gtag("}</script>'
    b"<script>var s='<!--<script>x</script>-->';</script></head>\n<body class=home>"
    b"<noscript><iframe src='https://www.googletagmanager.com/ns.html?id=GTM-1' height=0>"
    b"</iframe><img height=1 src='https://www.facebook.com/tr?id=1&amp;ev=PageView'></noscript>"
    + b"".join(
        b'<article id=a%d><h2><a href="/show/%d">Show %d</a></h2>'
        b'<img src="/img/%d.jpg" alt="poster %d" loading=lazy width=320>'
        b"<picture><source srcset='/img/%d.webp 1x, /img/%d@2x.webp 2x'></picture>"
        b"<p>Seats left: %d. <!-- note %d --> <em>Book now</em></p></article>\n" % ((i,) * 9)
        for i in range(40)
    )
    + b"<form><textarea name=t><script src=//connect.facebook.net/x.js></script></textarea>"
    + b'<input name=q value="<img src=//www.facebook.com/tr>"></form>'
    + b"<div title='"
    + b"x" * 300
    + b"'><IMG SRC=https://www.facebook.com/tr?id=2></div>"
    + b'<img alt="'
    + b"y" * 400
    + b'" src="https://www.facebook.com/tr?id=3">'
    + b'<script type="text/javascript" src="//wcs.naver.net/wcslog.js"></script>'
    + b"<script>if(window.wcs){wcs_do();}</script></body>\n</html>\n"
)
CORPUS = [TRACKER_PAGE, _SITE, _SITE.upper(), b"".join(EDGES), b"".join(STARTS)]


@pytest.mark.parametrize("page", range(len(CORPUS)))
def test_a_corpus_of_pages_gives_the_same_bytes_both_ways(page: int) -> None:
    html = CORPUS[page]
    for max_hold, allowed in itertools.product(
        (64, 1000, 256 * 1024), (frozenset(), frozenset({"analytics", "advertising"}))
    ):
        for size in (1, 3, 16, 61, 1000, 16 * 1024, len(html)):
            cuts = list(range(size, len(html), size))
            assert _run(html, cuts, allowed, max_hold, c=True) == _run(
                html, cuts, allowed, max_hold, c=False
            ), (max_hold, size)


class _Unsettable:
    """A state skim() can read but not move."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(name)


def _bad(**changes: Any) -> dict[str, Any]:
    fields = {name: getattr(_new_state(256), name) for name in ScanState.__slots__}
    fields.update(changes)
    return fields


@pytest.mark.parametrize(
    ("state", "args", "error"),
    [
        (_bad(mode=UNTIL, until_kind=b"nope"), (b"x", 0, False), ValueError),
        (_bad(mode=UNTIL, until_kind="!--"), (b"x", 0, False), ValueError),
        (_bad(max_hold=10), (b"x", 0, False), ValueError),
        (_bad(max_hold=2**70), (b"x", 0, False), OverflowError),
        (_bad(), (b"x", 5, False), ValueError),
        (_bad(), (b"x", -1, False), ValueError),
        (_bad(mode=SCRIPT, script_state=7), (b"x", 0, False), ValueError),
        (_bad(script_state=2**32), (b"x", 0, False), ValueError),
        (_bad(mode=4), (b"x", 0, False), ValueError),
        (_bad(mode=2**32 + 1), (b"x", 0, False), ValueError),
        (_bad(), (b"x", 0), TypeError),
        (_bad(), ("x", 0, False), TypeError),
        (_bad(), (b"x", 1.5, _Truthy()), TypeError),
        (_bad(noscript=[]), (b"x y", 0, True), None),
        (_bad(mode="0"), (b"x", 0, False), TypeError),
        ({"mode": DATA}, (b"x", 0, False), AttributeError),
        (_bad(), (b"<title>x", 0, False), AttributeError),  # it cannot be moved
    ],
)
def test_skim_refuses_what_the_rewriter_never_passes(
    state: dict[str, Any], args: tuple[Any, ...], error: type[Exception] | None
) -> None:
    if error is None:  # read as the rewriter reads it: nothing to refuse
        assert _speedups.skim(_Unsettable(**state), *args)[1] == scan.MORE
        return
    with pytest.raises(error):
        _speedups.skim(_Unsettable(**state), *args)


# HTML's element names (and some that are not): every one is read the same both ways.
ELEMENTS = (
    b"a abbr address area article aside audio b base bdi bdo blockquote body br button canvas"
    b" caption cite code col colgroup data datalist dd del details dfn dialog div dl dt em"
    b" embed fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 head header hgroup hr"
    b" html i iframe img input ins kbd label legend li link main map mark menu meta meter nav"
    b" noscript object ol optgroup option output p picture pre progress q rp rt ruby s samp"
    b" script search section select slot small source span strong style sub summary sup table"
    b" tbody td template textarea tfoot th thead time title tr track u ul var video wbr xmp"
    b" noembed noframes plaintext image svg math frame frameset marquee listing"
    b" scripts imgx noscripts titles x-img"
).split()


@pytest.mark.parametrize("name", ELEMENTS)
def test_every_element_name_is_read_the_same_both_ways(name: bytes) -> None:
    for spelled in (name, name.upper(), name[:1].upper() + name[1:]):
        for html in (
            b"<" + spelled + b">a</" + spelled + b">b<img src=//www.facebook.com/tr>",
            b"<" + spelled + b" src=//www.facebook.com/tr alt=x",
            b"</" + spelled + b"><" + spelled,
            b"text <" + spelled,
        ):
            for mode, until_kind in MODES:
                for noscript, injected, final in itertools.product((False, True), repeat=3):
                    for pos in (0, 1, len(html) // 2):
                        c, python = _skim_both(
                            html,
                            pos,
                            final,
                            mode=mode,
                            until_kind=until_kind,
                            noscript=noscript,
                            injected=injected,
                        )
                        assert c == python, (html, mode, until_kind, noscript, injected, pos)
            for max_hold in (64, 256 * 1024):
                assert _run(html, [], frozenset(), max_hold, c=True) == _run(
                    html, [], frozenset(), max_hold, c=False
                )


# Tags at one less, exactly, and one more than every bound plain() has, for hold
# limits small and large: the twins must skip the same ones.
_BOUND_HOLDS = [64, 100, 128, 129, 255, 256, 257, 640, 4096, 8320, 65536, 256 * 1024]


@pytest.mark.parametrize("max_hold", _BOUND_HOLDS)
def test_a_tag_at_every_bound_is_skipped_by_both_or_neither(max_hold: int) -> None:
    ws, name, value, count = scan.plain_bounds(max_hold)
    tried = 0
    for dws, dname, dvalue, dcount in itertools.product((-1, 0, 1), repeat=4):
        w, nm = max(0, ws + dws), max(1, name + 1 + dname)
        v, c = max(0, value + dvalue), max(0, count + dcount)
        for quote, sep, end in itertools.product((b'"', b"'", b""), (b" ", b"/"), (b">", b"/>")):
            attribute = sep * max(1, w) + b"n" * nm + b"=" + quote + b"v" * v + quote
            spaced = b" " * w + b"=" + b" " * w
            for html in (
                b"<img" + attribute * c + end,
                b"<IMG" + sep * w + b"N" * nm + spaced + quote + b"v" * v + quote + end,
            ):
                for noscript in (False, True):
                    in_c, in_python = _skim_both(
                        html, 0, False, max_hold=max_hold, noscript=noscript
                    )
                    assert in_c == in_python
                    tried += 1
    assert tried == 81 * 12 * 2 * 2


@settings(max_examples=200, deadline=None)
@given(
    st.lists(_ELEMENT, min_size=20, max_size=120).map(b"".join),
    st.integers(min_value=1, max_value=5),
    st.sampled_from([64, 100]),
)
def test_long_documents_cut_every_few_bytes_give_the_same_both_ways(
    html: bytes, step: int, max_hold: int
) -> None:
    cuts = list(range(step, len(html), step))
    allowed = frozenset({"necessary"})
    assert _run(html, cuts, allowed, max_hold, c=True) == _run(
        html, cuts, allowed, max_hold, c=False
    )


def test_the_rewriter_uses_the_speedups_unless_asked_not_to() -> None:
    probe = "from consent_mw.html import native; print(native.skim.__module__)"
    env = {k: v for k, v in os.environ.items() if k != "CONSENT_MW_PURE_PYTHON"}
    for pure, expected in (("", "consent_mw.html._speedups"), ("1", "consent_mw.html._pure")):
        env["CONSENT_MW_PURE_PYTHON"] = pure
        done = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
        )
        assert done.stdout.strip() == expected


def test_the_same_tests_pass_under_address_and_undefined_behaviour_sanitizers(
    tmp_path: Path,
) -> None:
    if SANITIZED:
        pytest.skip("this is the sanitized run")
    compiler = shutil.which("gcc") or shutil.which("cc")
    assert compiler, "a C compiler builds the speedups; none found"
    runtimes = [
        subprocess.run(
            [compiler, f"-print-file-name={name}"], capture_output=True, text=True, check=True
        ).stdout.strip()
        for name in ("libasan.so", "libubsan.so")
    ]
    if not all(os.path.isabs(path) for path in runtimes):
        if os.environ.get("CI"):
            pytest.fail(f"{compiler} has no sanitizer runtimes: {runtimes}")
        pytest.skip(f"{compiler} has no sanitizer runtimes here")
    source = Path(native.__file__).with_name("_speedups.c")
    built = tmp_path / ("_speedups" + sysconfig.get_config_var("EXT_SUFFIX"))
    subprocess.run(
        # CONSENT_MW_PORTABLE: the loops used where the C library has no memrchr
        [compiler, "-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
        + ["-DCONSENT_MW_PORTABLE"]
        + ["-fno-omit-frame-pointer", "-shared", "-fPIC"]
        + [f"-I{sysconfig.get_paths()['include']}", str(source), "-o", str(built)],
        check=True,
    )
    env = dict(os.environ)
    env.update(
        CONSENT_MW_TEST_SANITIZED_SPEEDUPS=str(built),
        LD_PRELOAD=" ".join(runtimes),
        ASAN_OPTIONS="detect_leaks=0",  # the interpreter's own allocations outlive it
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__],
        env=env,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    report = done.stdout[-3000:] + done.stderr[-3000:]
    assert done.returncode == 0, report
    assert "Sanitizer" not in done.stderr, report
    assert " passed" in done.stdout, report
