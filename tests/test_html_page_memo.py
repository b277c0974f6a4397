"""The memo of whole pages (consent_mw.html.pages): a page answered from it is byte for
byte what rewriting it afresh gives, with the response's own nonce, and its counts."""

from __future__ import annotations

import pytest

from consent_mw.demo import create_app, demo_policy, trackers
from consent_mw.html import pages
from consent_mw.html.rewrite import HTMLRewriter
from support.harness import SECRET, consent_token, http_scope, run_asgi

MATCHER = demo_policy().matcher
ALLOWED = frozenset({"necessary", "analytics"})
NONCES = ("Zm9vYmFyYmF6cXV4MTIzNA", "QUJDREVGR0hJSktMTU5PUA")


def page(nonce: str) -> bytes:
    head = trackers(nonce).encode()
    return b"<!doctype html><html><head><title>t</title>" + head + b"</head><body>x</body></html>"


def inject(nonce: str) -> bytes:
    return f'<script nonce="{nonce}">window.dataLayer=[];</script>'.encode()


def fresh(body: bytes, nonce: str) -> tuple[bytes, int, dict[str, int]]:
    rewriter = HTMLRewriter(MATCHER, ALLOWED, inject=inject(nonce), nonce=nonce)
    out = rewriter.feed(body) + rewriter.close()
    return out, rewriter.blocked, rewriter.blocked_categories


@pytest.fixture(autouse=True)
def empty_memo() -> None:
    pages._pages.clear()


def test_a_remembered_page_is_what_a_fresh_rewrite_gives() -> None:
    for nonce in (*NONCES, *NONCES):
        rewriter = HTMLRewriter(MATCHER, ALLOWED, inject=inject(nonce), nonce=nonce)
        out = rewriter.whole(page(nonce))
        expected = fresh(page(nonce), nonce)
        assert (out, rewriter.blocked, rewriter.blocked_categories) == expected
        assert nonce.encode() in out and rewriter.blocked > 0
    assert len(pages._pages) == 1  # one page, whatever its nonce


def test_a_nonce_outside_nonce_attributes_is_not_remembered() -> None:
    nonce = NONCES[0]
    body = page(nonce).replace(b"<body>x", b"<body>" + nonce.encode())
    rewriter = HTMLRewriter(MATCHER, ALLOWED, inject=inject(nonce), nonce=nonce)
    assert rewriter.whole(body) == fresh(body, nonce)[0]
    assert pages._pages == {}


def test_a_block_holding_the_memos_nonce_mark_is_not_remembered() -> None:
    # The memo writes a mark where the nonce was: a block holding the mark itself
    # would get the next page's nonce in its place.
    for nonce in NONCES:
        block = inject(nonce) + b"<!--" + pages.NONCE_MARK + b"-->"
        rewriter = HTMLRewriter(MATCHER, ALLOWED, inject=block, nonce=nonce)
        out = rewriter.whole(page(nonce))
        expected = HTMLRewriter(MATCHER, ALLOWED, inject=block, nonce=nonce)
        assert out == expected.feed(page(nonce)) + expected.close()
        assert pages.NONCE_MARK in out
    assert pages._pages == {}


def test_another_plan_or_block_is_another_page() -> None:
    nonce = NONCES[0]
    body = page(nonce)
    HTMLRewriter(MATCHER, ALLOWED, inject=inject(nonce), nonce=nonce).whole(body)
    refused = HTMLRewriter(MATCHER, frozenset({"necessary"}), nonce=nonce)
    out = refused.whole(body)
    expected = HTMLRewriter(MATCHER, frozenset({"necessary"}), nonce=nonce)
    assert out == expected.feed(body) + expected.close()
    assert len(pages._pages) == 2


def test_a_fed_rewriter_does_not_answer_from_the_memo() -> None:
    nonce = NONCES[0]
    HTMLRewriter(MATCHER, ALLOWED, nonce=nonce).whole(page(nonce))
    rewriter = HTMLRewriter(MATCHER, ALLOWED, nonce=nonce)
    head = rewriter.feed(b"<!doctype html>")
    assert head + rewriter.whole(page(nonce)[15:]) == fresh(page(nonce), nonce)[0].replace(
        inject(nonce), b""
    )


def test_large_pages_are_not_remembered_and_the_memo_is_bounded() -> None:
    big = page(NONCES[0]) + b" " * pages.PAGE_MAX
    HTMLRewriter(MATCHER, ALLOWED).whole(big)
    assert pages._pages == {}
    for n in range(pages.PAGES + 10):
        HTMLRewriter(MATCHER, ALLOWED).whole(page("") + str(n).encode())
    assert len(pages._pages) == pages.PAGES


# -- through the middleware: the block's template in the key, the page's nonce filled in --


def _demo_page(app: object, cookie: str) -> tuple[dict[str, str], bytes]:
    call = run_asgi(
        app, http_scope("/shows/1", headers=[("cookie", cookie)], query_string="lang=en")
    )
    [start] = call.of_type("http.response.start")
    body = b"".join(m.get("body", b"") for m in call.of_type("http.response.body"))
    return {k.decode(): v.decode() for k, v in start["headers"]}, body


@pytest.mark.parametrize("report", [False, True])
def test_a_page_answered_from_the_memo_is_the_page_rewritten_afresh(report: bool) -> None:
    app = create_app(
        store="memory://", secret_key=SECRET, record_requests=False, report_blocked=report
    )
    cookie = "consent_mw=" + consent_token(demo_policy(), {"analytics": True})
    fresh_pages = []
    for _ in range(2):
        pages._pages.clear()
        fresh_pages.append(_demo_page(app, cookie))
    remembered = [_demo_page(app, cookie) for _ in range(3)]
    assert len(pages._pages) == 1

    def nonce_of(headers: dict[str, str]) -> bytes:
        return headers["content-security-policy"].split("'nonce-")[1].split("'")[0].encode()

    first = fresh_pages[0][1].replace(nonce_of(fresh_pages[0][0]), b"N")
    for headers, body in [*fresh_pages, *remembered]:
        nonce = nonce_of(headers)
        # The page's own nonce on every script (the injected ones too), no other one.
        assert body.count(b"<script") == body.count(b'nonce="' + nonce + b'"') > 4
        assert headers["content-length"] == str(len(body))
        if report:
            assert headers["x-consent-blocked"] == fresh_pages[0][0]["x-consent-blocked"] != "0"
        # With its nonce taken out, every response is the same page.
        assert body.replace(nonce, b"N") == first
