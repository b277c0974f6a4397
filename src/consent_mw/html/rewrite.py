"""Neutralise what would fetch from a tracker in a ``text/html`` body as it streams.

:class:`HTMLRewriter` takes the body chunk by chunk and hands back what is
ready; its output does not depend on where the chunks were cut. For every
category the visitor has not allowed (``necessary`` always is) it neutralises
every way the markup makes the browser fetch from that category's hosts, as
``docs/rewriter.md`` lists them from the specifications
(:mod:`consent_mw.html.fetches` holds the table): scripts and the URL attributes
of images, frames, links, media, objects, forms, pings, SVG references and
legacy backgrounds are renamed ``data-consent-…``; CSS ``url()``,
``image-set()`` and ``@import`` in ``style`` attributes and ``<style>`` sheets
are emptied with the original kept beside them; ``srcdoc`` documents are
rewritten as documents; a ``<meta http-equiv=refresh>`` loses its ``content``;
inline scripts are held and judged on the registry's snippet signatures
(``gtag(``, ``fbq(``, never a bare host name a script may merely mention; a
signature that starts with an identifier character must not follow one) and on
the requests they write as literal URLs; speculation rules on their URLs. A
``<base href>`` on a tracker's host makes every relative URL after it a URL on
that host. Each neutralised element gets ``data-consent-category`` (the
author's own, where the page set one, wins); a JS banner undoes the renames
after consent, without a reload.

URLs are read the way the browser reads them (``docs/rewriter.md``: character
references, stripped controls, ``\\`` as ``/``, ``//host`` and ``https:host``).
Attributes are renamed in place, so the rest of the element (other attributes,
quoting, case) and everything else in the document is passed on byte for byte.
An element that does not run (a script whose ``type`` is not JavaScript,
``text/plain`` included) or that already carries one of the ``data-consent-…``
originals is left alone, so rewriting twice gives what rewriting once gave.

**Injection.** ``inject`` goes right after the ``<head>`` start tag; if the
first thing after a byte-order mark, the doctype, comments, whitespace and the
``<html>`` start tag is not ``<head>``, it goes right after ``<body>`` if that
comes first, or else right before whatever comes first (another tag, an end
tag or text), where the parser would open an implied ``<head>``. A document
with none of these gets it at :meth:`HTMLRewriter.close`. It is inserted once.

**Scanning.** The tokenizer states that decide what is markup are followed as
the HTML standard defines them (see :mod:`consent_mw.html.scan`): comments,
bogus comments (``<!…>``, ``<?…>``, ``</`` + non-letter, ``<![CDATA[`` in HTML
content), RAWTEXT/RCDATA elements, PLAINTEXT and the script data escape states.
``<noscript>`` content is read as markup, as a browser without JavaScript does,
but ``</noscript>`` also ends a comment or raw-text element opened inside it,
as a browser with JavaScript sees it, so nothing live in either reading is
missed. For speed only the tags that matter are tokenized, found with one
regular-expression search; a tag whose attributes cannot make the browser fetch
from another host is skipped there without Python (under a base URL on a
tracker's host, none is). So a candidate is checked against the last
tag before it: if it sits inside that tag's attribute value
(``<div title='<img src=…>'>``) the whole tag is passed on as it is. Only one
level is checked: a candidate inside an attribute value that itself holds an
earlier complete tag is taken for markup (and then rewriting twice may differ
from once). Foreign content is not tracked (a CDATA section in SVG is read as
a bogus comment up to its first ``>``), nor is lazy-loading ``data-src``.

**Speed.** The steps that pass bytes on unchanged (text, comments, raw text,
script bodies, tags that need no judging) are one function, ``skim``
(:mod:`consent_mw.html.native`): the C extension's ``consent_mw.html._speedups``
where it is built (``pip install`` compiles it when a C compiler is there;
``CONSENT_MW_PURE_PYTHON=1`` leaves it unused), or its pure-Python twin
(:mod:`consent_mw.html._pure`), which takes the same arguments and gives the
same results. It stops where the rewriter must judge a tag or a held inline
script (:mod:`consent_mw.html.judge`). The tests run the rewriter with each and
compare the output and the state after every window. A tag is judged once per
allowed set and remembered (bounded, :mod:`consent_mw.html.plan`); given the
page's CSP nonce (``nonce=``), tags that carry it are remembered across pages too.

**Memory.** At most ``max_hold`` bytes are held back: a tag of interest until
its ``>``, an inline script or a sheet until its end so its body can be judged.
A longer tag is judged on its first ``max_hold`` bytes: the attributes that end
there, and a URL cut short there once its host shows; a longer inline body on
its first ``max_hold`` bytes (a longer sheet keeps no copy of its original). A
tag that is not of interest and is longer than ``max_hold`` is not checked as a
container of candidates.
"""

from __future__ import annotations

from typing import Final

from ..policy.trackers import Matcher
from . import _pure, native
from .judge import BLOCK, INLINE, Judge
from .pages import page_key, recall, store
from .plan import Nonce, plan_for
from .scan import (
    DATA,
    FOLLOWED,
    INJECT,
    MORE,
    RAW,
    S_DONE,
    S_TAG_NAME,
    SCRIPT,
    SCRIPT_DATA,
    TAG,
    UNTIL,
    ScanState,
    walk_tag,
)

__all__ = ["HTMLRewriter", "rewrite_html"]

_BOM: Final = b"\xef\xbb\xbf"
#: how deep srcdoc documents are rewritten inside one another
_SRCDOC_DEPTH: Final = 8


class HTMLRewriter:
    """Rewrite one HTML body; see the module docstring for what changes."""

    def __init__(
        self,
        matcher: Matcher,
        allowed: frozenset[str],
        *,
        inject: bytes = b"",
        max_hold: int = 256 * 1024,
        nonce: str | None = None,
        locale: str = "en",
    ) -> None:
        if max_hold < 64:
            raise ValueError(f"max_hold must be at least 64 bytes, not {max_hold}")
        self._matcher = matcher
        # A decision's allowed set has "necessary" already: no new set per page then.
        self._allowed = (
            allowed
            if isinstance(allowed, frozenset) and "necessary" in allowed
            else frozenset(allowed) | {"necessary"}
        )
        #: how many srcdoc documents this one is inside
        self._depth = 0
        #: the page's CSP nonce, when it has one its tags can be remembered by
        self._nonce = Nonce.of(nonce)
        self._plan = plan_for(matcher, self._allowed)
        self._locale = locale
        self._judge = Judge(matcher, self._plan, self._nonce, self._srcdoc, locale)
        self._inject = bytes(inject)
        self._scan = ScanState(max_hold, injected=not inject)
        self._doc_start = True
        self._max_hold = max_hold
        self._carry = b""
        #: how much of the held inline script's body is held
        self._held_body = 0
        #: in TAG mode: the walk's state, and the name of the tag it walks
        self._tag_state = S_TAG_NAME
        self._tag_name = b""
        self._closed = False
        #: whether any body was fed (only a fresh rewriter may answer from the memo)
        self._fed = False
        #: elements neutralised so far
        self.blocked = 0
        #: elements neutralised so far, per category
        self.blocked_categories: dict[str, int] = {}

    def feed(self, chunk: bytes) -> bytes:
        """Take the next piece of the body; return the output that is ready."""
        if self._closed:
            raise ValueError("HTMLRewriter.feed() called after close()")
        if not chunk:
            return b""
        self._fed = True
        return self._run(self._carry + chunk if self._carry else bytes(chunk), final=False)

    def whole(self, body: bytes) -> bytes:
        """The whole body at once (``feed`` then ``close``), from the memo of pages
        when it was rewritten before (see :mod:`.pages`)."""
        body = bytes(body)
        fresh = not self._fed and not self._closed
        extra = self._locale.encode() if self._matcher.embeds else b""
        key = page_key(self._plan, self._inject, body, self._nonce, extra) if fresh else None
        if key is not None and (found := recall(key, self._nonce)) is not None:
            self._closed = True
            out, self.blocked, categories = found
            self.blocked_categories = dict(categories)
            return out
        out = self.feed(body) + self.close()
        if key is not None:
            store(key, self._nonce, (out, self.blocked, self.blocked_categories))
        return out

    def close(self) -> bytes:
        """End of the body: return everything still held back."""
        if self._closed:
            return b""
        self._closed = True
        return self._run(self._carry, final=True)

    # -- the scanning loop -------------------------------------------------

    def _run(self, buf: bytes, final: bool) -> bytes:
        st = self._scan
        # Under a base URL on a tracker's host every tag is judged: the pure steps
        # know that (ScanState.based); it is too rare a page to teach the C ones.
        skim = _pure.skim if st.based else native.skim
        n = len(buf)
        out: list[bytes] = []
        pos, more = 0, False
        if self._doc_start and not st.injected:
            pos = self._document_start(buf, final, out)
            if pos < 0:
                self._carry = buf
                return b""
        while not more:
            if st.mode == TAG:
                pos, more = self._tag_rest(buf, pos, n, out)
                continue
            # The steps that pass bytes on unchanged; they stop where one needs
            # more (a tag to judge, a held script's end, the injection point).
            stop, status, name_end, end = skim(st, buf, pos, final)
            held = st.held
            if held is None:
                if stop > pos:
                    out.append(buf[pos:stop])
            elif st.mode == DATA:  # stopped at the held script's end tag
                held.append(buf[pos:stop])
                self._release(out)
                pos = stop
                continue
            else:
                self._body(held, buf[pos:stop], out)
            pos = stop
            if status == MORE:
                break
            if status == INJECT:
                out.append(self._inject)
                st.injected = True
            else:  # a start tag to judge, or to follow to its end
                pos, more = self._start_tag(buf, pos, name_end, end, n, final, out)
                if st.based:  # that was <base href> on a tracker's host
                    skim = _pure.skim
        if final:
            if st.held is not None:
                self._release(out)
            if not st.injected:
                out.append(self._inject)
                st.injected = True
            self._carry = b""
        else:
            self._carry = buf[pos:]
        return b"".join(out)

    def _document_start(self, buf: bytes, final: bool, out: list[bytes]) -> int:
        """Where the first step starts: after a byte-order mark, which must stay
        first or the browser will not see it; -1 while ``buf`` may yet become one."""
        if not final and len(buf) < 3 and _BOM.startswith(buf):
            return -1
        self._doc_start = False
        if buf.startswith(_BOM):
            out.append(_BOM)
            return 3
        return 0

    def _body(self, held: list[bytes], piece: bytes, out: list[bytes]) -> None:
        """Hold ``piece`` of a held body, up to ``max_hold`` bytes."""
        held.append(piece)
        self._held_body += len(piece)
        if self._held_body >= self._max_hold:
            self._release(out)

    def _release(self, out: list[bytes]) -> None:
        """Judge a held inline script or style sheet on its body and send it on."""
        held = self._scan.held
        if held is None:
            return
        self._scan.held = None
        tag, body = held[0], b"".join(held[1:])
        held.clear()  # the pieces, no longer needed next to their joined copy
        if tag[1:6].lower() == b"style":
            categories, tag, body = self._judge.style(tag, body, self._max_hold)
        else:
            categories, tag = self._judge.inline(tag, body, self._max_hold)
        self._count(categories)
        out.append(tag)
        out.append(body)

    def _srcdoc(self, html: bytes, base: str | None) -> tuple[bytes, tuple[str, ...]]:
        """A srcdoc document rewritten as one, and the categories neutralised in it."""
        if self._depth >= _SRCDOC_DEPTH:
            return html, ()
        nested = HTMLRewriter(
            self._matcher, self._allowed, max_hold=self._max_hold, locale=self._locale
        )
        nested._depth = self._depth + 1
        if base is not None:  # the parent's base URL, on a tracker's host
            nested._judge.base = base
            nested._scan.based = True
        output = nested.feed(html) + nested.close()
        return output, tuple(nested.blocked_categories)

    # -- tags --------------------------------------------------------------

    def _start_tag(
        self,
        buf: bytes,
        s: int,
        name_end: int,
        end: int,
        n: int,
        final: bool,
        out: list[bytes],
    ) -> tuple[int, bool]:
        """The start tag at ``s`` that skim stopped at: its name ends at ``name_end``
        and it ends at ``end`` (-1: not in this window)."""
        name = buf[s + 1 : name_end].lower()
        if name in FOLLOWED:  # nothing to judge: follow it to its end
            return self._stream_tag(buf, s, name_end, name, n, final, out)
        limit = s + self._max_hold
        if (end if end >= 0 else n) > limit:
            # Too long to hold: judged on the attributes that end within max_hold bytes.
            categories, head = self._judge.long_tag(buf[s:limit], name_end - s, name)
            self._count(categories)
            out.append(head)
            if end < 0:
                return self._stream_tag(buf, limit, name_end, name, n, final, out)
            out.append(buf[limit:end])
            return self._after_tag(name, end, None, out)
        if end < 0:
            if final:  # EOF in a tag: the tokenizer drops it
                out.append(buf[s:n])
                return n, True
            return s, True
        verdict, categories, tag = self._judge.tag(buf[s:end], name_end - s, name)
        if verdict == INLINE:
            return self._after_tag(name, end, tag, out)
        if verdict == BLOCK:
            self._count(categories)
        out.append(tag)
        return self._after_tag(name, end, None, out)

    def _stream_tag(
        self,
        buf: bytes,
        emit_from: int,
        name_end: int,
        name: bytes,
        n: int,
        final: bool,
        out: list[bytes],
    ) -> tuple[int, bool]:
        """Pass on a tag from ``emit_from`` and follow it to its ``>``, in the
        following windows too (TAG mode)."""
        end, state = walk_tag(buf, name_end, n, S_TAG_NAME)
        out.append(buf[emit_from:end])
        if state == S_DONE:
            return self._after_tag(name, end, None, out)
        if not final:
            self._scan.mode, self._tag_state, self._tag_name = TAG, state, name
        return n, True

    def _tag_rest(self, buf: bytes, pos: int, n: int, out: list[bytes]) -> tuple[int, bool]:
        """TAG mode: the rest of the tag being followed to its ``>``."""
        end, state = walk_tag(buf, pos, n, self._tag_state)
        out.append(buf[pos:end])
        if state != S_DONE:
            self._tag_state = state
            return end, True
        self._scan.mode = DATA
        return self._after_tag(self._tag_name, end, None, out)

    def _after_tag(
        self, name: bytes, end: int, held_tag: bytes | None, out: list[bytes]
    ) -> tuple[int, bool]:
        """Switch the tokenizer state as tree construction would after a start tag."""
        st = self._scan
        if held_tag is not None:  # an inline script or a style sheet, held
            st.held, self._held_body = [held_tag], 0
        if name == b"script":
            st.mode, st.script_state = SCRIPT, SCRIPT_DATA
        elif name in RAW:
            st.mode, st.until_kind = UNTIL, name
        elif name == b"plaintext":
            st.mode, st.until_kind = UNTIL, b""
        elif name == b"noscript":
            st.noscript = True
        elif name in (b"head", b"body") and not st.injected:
            out.append(self._inject)
            st.injected = True
        elif name == b"base":
            st.based = self._judge.base is not None
        return end, False

    def _count(self, categories: tuple[str, ...]) -> None:
        """One element neutralised, for ``categories`` (none: kept)."""
        if categories:
            self.blocked += 1
        for label in categories:  # "category" or "category/service"
            category = label.partition("/")[0]
            self.blocked_categories[category] = self.blocked_categories.get(category, 0) + 1


def rewrite_html(
    html: bytes, matcher: Matcher, allowed: frozenset[str], *, inject: bytes = b""
) -> bytes:
    """Rewrite a whole document at once (see :class:`HTMLRewriter`)."""
    rewriter = HTMLRewriter(matcher, allowed, inject=inject)
    return rewriter.feed(html) + rewriter.close()
