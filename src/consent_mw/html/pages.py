"""The memo of whole pages: a body that arrives in one piece and was rewritten before,
under the same plan and with the same injected block, is answered from memory.

A site sends the same page to many visitors (an article, a product, a landing page),
and its frameworks hand the body over in one piece (Starlette's ``HTMLResponse``,
Flask's and Django's responses). Rewriting is a pure function of the body, the plan
(the allowed set) and the injected block, so its output, with the counts of what was
neutralised, can be remembered. A strict CSP's nonce changes on every response: the
page is keyed by the body cut at the nonce, and remembered cut there too, when every
occurrence of the nonce in the body is a ``nonce="…"`` attribute's value (which no
verdict reads, see :class:`~consent_mw.html.plan.Nonce`) and the output has it only
where the body and the injected block put it; the response's own nonce joins the
pieces. Checked when a page is stored: a body cut into the same pieces as a stored
one has its nonce in the same places.

Bounded: pages up to :data:`PAGE_MAX` bytes, :data:`PAGES` of them in all (a few MB
at most, keys and outputs together).
"""

from __future__ import annotations

from typing import Final

from .._memo import remember
from .inject import NONCE_SLOT
from .plan import NONCE_MARK, Nonce, Plan

__all__ = ["PAGES", "PAGE_MAX", "PageKey", "page_key", "recall", "store"]

#: the largest body remembered
PAGE_MAX: Final = 32 * 1024
#: how many pages are remembered, across every plan
PAGES: Final = 64

Remembered = tuple[bytes, int, dict[str, int]]
#: (plan, what else sets the block apart, the block, the body cut at the nonce)
Key = tuple[Plan, bytes, bytes, tuple[bytes, ...]]
#: a memo key, and how many times the page's nonce is in its rewritten output
PageKey = tuple[Key, int]

#: the output cut at the nonce (put back with ``nonce.join``), and the counts
_pages: dict[Key, tuple[tuple[bytes, ...], int, dict[str, int]]] = {}

_ATTR: Final = b'nonce="'
_SLOTTED: Final = b"\x00slotted"

#: how many nonce slots a block's template has (a template is kept per decision, the
#: same object page after page: its hash is computed once)
_slots: dict[bytes, int] = {}


def page_key(
    plan: Plan,
    block: bytes,
    body: bytes,
    nonce: Nonce | None,
    extra: bytes = b"",
    *,
    slotted: bool = False,
) -> PageKey | None:
    """The memo key of ``body`` under ``plan`` with ``block`` injected (None: not to
    be remembered); ``extra``: anything else the output depends on (the locale of
    embed placeholders). ``slotted``: ``block`` is an :meth:`~.inject.Injector.template`
    whose slots take ``nonce`` (a key the same for every nonce, no copy of the block
    per page)."""
    if len(body) > PAGE_MAX:
        return None
    if nonce is None:
        return (plan, extra, block, (body,)), 0
    value = nonce.value
    # Cut at the nonce: the pieces are the same for every nonce when each cut is a
    # nonce="…" attribute's value (see store).
    parts = tuple(body.split(value))
    count = len(parts) - 1
    if slotted:
        # (Where the block has the nonce's value by chance, outside its slots, the
        # output has it once more than counted, and is not remembered: see store.)
        slots = _slots.get(block)
        if slots is None:
            slots = block.count(NONCE_SLOT)
            remember(_slots, block, slots, PAGES)
        count += slots
        extra = _SLOTTED + extra if extra else _SLOTTED
    else:
        # (An int needle first: see plan.NONCE_MARK.)
        if 0 in block and NONCE_MARK in block:
            return None
        count += block.count(value)
        block = block.replace(value, NONCE_MARK)
    return (plan, extra, block, parts), count


def recall(key: PageKey, nonce: Nonce | None) -> Remembered | None:
    found = _pages.get(key[0])
    if found is None:
        return None
    pieces, blocked, categories = found
    output = pieces[0] if nonce is None else nonce.value.join(pieces)
    return output, blocked, categories


def store(key: PageKey, nonce: Nonce | None, found: Remembered) -> None:
    output = found[0]
    if nonce is None:
        pieces: tuple[bytes, ...] = (output,)
    else:
        parts = key[0][3]
        # Each cut of the body a nonce="…" attribute's value: any other nonce cuts
        # the same body into the same pieces.
        if not all(part.endswith(_ATTR) for part in parts[:-1]) or not all(
            part[:1] == b'"' for part in parts[1:]
        ):
            return
        pieces = tuple(output.split(nonce.value))
        # The nonce only where the body and the block had it: then every other
        # nonce gives this output with its own value there.
        if len(pieces) - 1 != key[1]:
            return
    remember(_pages, key[0], (pieces, found[1], dict(found[2])), PAGES)
