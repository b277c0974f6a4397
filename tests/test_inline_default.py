"""Where the Consent Mode default goes: inline whenever the page's CSP lets an inline
script run (with the nonce it names), from a URL per decision only when nothing inline
can run; that URL's answer, the same for everyone, cached for a year. Both adapters."""

from __future__ import annotations

import re
from typing import Any

import pytest

from consent_mw.html.inject import MODE_NAMES, defaults_script
from consent_mw.html.inline import ANY, inline_nonce
from consent_mw.policy.parts import Signals
from support.html_apps import HEAD_START, AppRequest, Harness, RawResult, Reply, build, html

# The seven modes, then "h" while the visitor has not chosen (TikTok's calls are held).
DEFAULTS_URL = re.compile(rb'<script src="(/_consent/defaults/[gd]{7}h?\.[0-9a-f]{12}\.js)"')
INLINE = re.compile(rb"<script( nonce=\"[^\"]*\")?>window\.dataLayer=")


@pytest.fixture(params=["asgi", "wsgi"])
def adapter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def serving(adapter: str, *csp: tuple[str, str], **options: Any) -> Harness:
    reply = html(headers=list(csp))

    def handler(request: AppRequest) -> Reply:
        return reply

    return build(adapter, handler, **options)


def get(harness: Harness, path: str = "/", **kwargs: Any) -> RawResult:
    result = harness.request("GET", path, **kwargs)
    assert isinstance(result, RawResult)
    return result


def block(body: bytes) -> bytes:
    """The injected block (it ends where the page's own head continues)."""
    assert body.startswith(HEAD_START)
    rest = body[len(HEAD_START) :]
    return rest[: rest.index(b'<meta charset="utf-8">')]


CSP = "Content-Security-Policy"

#: (the page's CSP headers, where the default goes: "inline", a nonce, or "url")
TABLE: list[tuple[list[tuple[str, str]], str]] = [
    ([], "inline"),
    ([(CSP, "img-src 'self'; object-src 'none'")], "inline"),  # nothing governs scripts
    ([(CSP, "script-src 'self' 'unsafe-inline'")], "inline"),
    ([(CSP, "default-src 'self' 'unsafe-inline'")], "inline"),
    ([(CSP, "script-src-elem 'unsafe-inline'; script-src 'self'")], "inline"),
    ([(CSP + "-Report-Only", "default-src 'none'")], "inline"),  # reports, blocks nothing
    ([(CSP, "script-src 'nonce-Zm9vYmFy' 'strict-dynamic'")], "Zm9vYmFy"),
    ([(CSP, "script-src 'NONCE-CaseKept' 'unsafe-inline'")], "CaseKept"),
    ([(CSP, "script-src 'nonce-a1'"), (CSP, "script-src 'nonce-b2' 'nonce-a1'")], "a1"),
    ([(CSP, "default-src 'self'")], "url"),
    ([(CSP, "script-src 'self' 'unsafe-inline' 'strict-dynamic'")], "url"),
    ([(CSP, "script-src 'unsafe-inline' 'sha256-AAAA'")], "url"),
    ([(CSP, "script-src 'nonce-a1'"), (CSP, "script-src 'nonce-b2'")], "url"),
    ([(CSP, "script-src 'unsafe-inline'"), (CSP, "default-src 'self'")], "url"),
    ([(CSP, "script-src 'unsafe-inline', script-src 'self'")], "url"),  # two policies
    ([(CSP, "script-src 'self'; script-src 'unsafe-inline'")], "url"),  # the first wins
]


@pytest.mark.parametrize(("csp", "where"), TABLE)
def test_where_the_default_goes(adapter: str, csp: list[tuple[str, str]], where: str) -> None:
    body = get(serving(adapter, *csp)).raw
    injected = block(body)
    assert injected.count(b"gtag('consent','default'") == (0 if where == "url" else 1)
    if where == "url":
        assert DEFAULTS_URL.match(injected)
        assert b"nonce=" not in injected
        return
    match = INLINE.match(injected)
    assert match is not None
    nonce = None if where == "inline" else where
    assert match.group(1) == (None if nonce is None else f' nonce="{nonce}"'.encode())
    # The banner carries the same nonce: under a nonce policy it would not load otherwise.
    assert injected.count(b"nonce=") == (0 if nonce is None else 2)


def test_the_middlewares_own_csp_lets_the_default_run_inline(adapter: str) -> None:
    # Its policy restricts hosts only and keeps 'unsafe-inline' (see core.csp).
    result = get(serving(adapter, csp="enforce"))
    assert result.header("content-security-policy") is not None
    assert INLINE.match(block(result.raw))


def test_the_option_nonce_wins_when_the_policy_accepts_it(adapter: str) -> None:
    csp = (CSP, "script-src 'nonce-other1' 'nonce-mine22'")
    reply = html(headers=[csp], nonce="mine22")
    harness = build(adapter, lambda request: reply, csp_nonce="csp_nonce")
    assert b'<script nonce="mine22">' in block(get(harness).raw)


@pytest.mark.parametrize(
    ("choices", "granted"),
    [
        ({}, {"security_storage"}),
        ({"analytics": True}, {"security_storage", "analytics_storage"}),
    ],
)
def test_the_default_url_is_the_decisions_and_cached_for_a_year(
    adapter: str, choices: dict[str, bool], granted: set[str]
) -> None:
    harness = serving(adapter, (CSP, "script-src 'self'"))
    cookies = {"consent_mw": harness.token(choices)} if choices else None
    match = DEFAULTS_URL.match(block(get(harness, cookies=cookies).raw))
    assert match is not None
    url = match.group(1).decode()
    # Anyone asking gets the same answer, whatever their own consent.
    for asking in (None, {"consent_mw": harness.token({"advertising": True})}):
        result = get(harness, url, cookies=asking)
        assert result.status == 200
        assert result.header("cache-control") == "public, max-age=31536000, immutable"
        assert "cookie" not in (result.header("vary") or "").lower()
        assert result.header("content-type") == "text/javascript; charset=utf-8"
        modes = {name: "granted" if name in granted else "denied" for name in MODE_NAMES}
        assert result.raw.decode() == defaults_script(modes, Signals(), pending=not choices)
        assert result.header("etag")


def test_the_default_url_of_another_decision_differs(adapter: str) -> None:
    harness = serving(adapter, (CSP, "default-src 'self'"))
    urls = {
        DEFAULTS_URL.match(block(get(harness, cookies=cookies).raw)).group(1)  # type: ignore[union-attr]
        for cookies in (None, {"consent_mw": harness.token({"analytics": True})})
    }
    assert len(urls) == 2


@pytest.mark.parametrize(
    "path",
    [
        "/_consent/defaults/ddddddg.000000000000.js",  # a wrong digest
        "/_consent/defaults/ddddddx.js",
        "/_consent/defaults/",
        "/_consent/defaults/dddddddg.js",
        "/_consent/defaults/ddddddgh.000000000000.js",
        "/_consent/defaults/ddddddghh.js",
        "/_consent/defaults/" + "d" * 5000 + ".js",
    ],
)
def test_a_default_url_that_names_nothing_is_404(adapter: str, path: str) -> None:
    result = get(serving(adapter), path)
    assert result.status == 404
    assert result.header("content-type") == "application/json; charset=utf-8"


def test_the_default_url_revalidates(adapter: str) -> None:
    harness = serving(adapter, (CSP, "script-src 'self'"))
    url = DEFAULTS_URL.match(block(get(harness).raw)).group(1).decode()  # type: ignore[union-attr]
    etag = get(harness, url).header("etag")
    assert etag is not None
    again = get(harness, url, headers={"if-none-match": etag})
    assert again.status == 304 and again.raw == b""


@pytest.mark.parametrize(
    ("csp", "preferred", "expected"),
    [
        ([], None, ANY),
        ([], "opt", "opt"),
        ([b"script-src 'nonce-x1'"], "opt", "x1"),
        ([b"script-src 'nonce-x1' 'nonce-opt'"], "opt", "opt"),
        ([b"script-src 'nonce-'"], None, None),  # an empty nonce is no nonce
        ([b"default-src 'self'"], "opt", None),
        ([b"  ;; script-src  'unsafe-inline'  ;"], None, ANY),
    ],
)
def test_inline_nonce(csp: list[bytes], preferred: str | None, expected: str | None) -> None:
    assert inline_nonce(csp, preferred) == expected
