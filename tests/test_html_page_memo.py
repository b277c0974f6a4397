"""The memo of whole pages (consent_mw.html.pages): a page answered from it is byte for
byte what rewriting it afresh gives, with the response's own nonce, and its counts."""

from __future__ import annotations

import pytest

from consent_mw.demo import demo_policy, trackers
from consent_mw.html import pages
from consent_mw.html.plan import Nonce, plan_for
from consent_mw.html.rewrite import HTMLRewriter

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
    plan = plan_for(MATCHER, ALLOWED)
    assert pages.page_key(plan, inject(nonce), body, Nonce.of(nonce)) is None
    rewriter = HTMLRewriter(MATCHER, ALLOWED, inject=inject(nonce), nonce=nonce)
    assert rewriter.whole(body) == fresh(body, nonce)[0]
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
