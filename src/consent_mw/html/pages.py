"""The memo of whole pages: a body that arrives in one piece and was rewritten before,
under the same plan and with the same injected block, is answered from memory.

A site sends the same page to many visitors (an article, a product, a landing page),
and its frameworks hand the body over in one piece (Starlette's ``HTMLResponse``,
Flask's and Django's responses). Rewriting is a pure function of the body, the plan
(the allowed set) and the injected block, so its output, with the counts of what was
neutralised, can be remembered. A strict CSP's nonce changes on every response: when
every occurrence of it in the body is a ``nonce="…"`` attribute's value (which no
verdict reads, see :class:`~consent_mw.html.plan.Nonce`), the page is remembered with
the nonce marked and the response's own nonce is put back.

Bounded: pages up to :data:`PAGE_MAX` bytes, :data:`PAGES` of them in all (a few MB
at most, keys and outputs together).
"""

from __future__ import annotations

from typing import Final

from .._memo import remember
from .plan import NONCE_MARK, Nonce, Plan

__all__ = ["PAGES", "PAGE_MAX", "page_key", "recall", "store"]

#: the largest body remembered
PAGE_MAX: Final = 32 * 1024
#: how many pages are remembered, across every plan
PAGES: Final = 64

Remembered = tuple[bytes, int, dict[str, int]]

_pages: dict[tuple[Plan, bytes], Remembered] = {}


def page_key(
    plan: Plan, inject: bytes, body: bytes, nonce: Nonce | None
) -> tuple[Plan, bytes] | None:
    """The memo key of ``body`` (None: not to be remembered)."""
    if len(body) > PAGE_MAX or NONCE_MARK in body:
        return None
    if nonce is None:
        return plan, inject + b"\x00" + body
    value = nonce.value
    count = body.count(value)
    if count and body.count(b'nonce="' + value + b'"') != count:
        return None
    return plan, inject.replace(value, NONCE_MARK) + b"\x00" + body.replace(value, NONCE_MARK)


def recall(key: tuple[Plan, bytes], nonce: Nonce | None) -> Remembered | None:
    found = _pages.get(key)
    if found is None or nonce is None:
        return found
    return nonce.fill(found[0]), found[1], found[2]


def store(key: tuple[Plan, bytes], nonce: Nonce | None, found: Remembered) -> None:
    output = found[0]
    if nonce is not None:
        if NONCE_MARK in output:
            return
        output = output.replace(nonce.value, NONCE_MARK)
    remember(_pages, key, (output, found[1], dict(found[2])), PAGES)
