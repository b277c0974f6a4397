"""Neutralise tracker elements in a ``text/html`` body as it streams.

:class:`HTMLRewriter` takes the body chunk by chunk and hands back what is
ready; its output does not depend on where the chunks were cut. For every
category the visitor has not allowed (``necessary`` always is) it neutralises

* ``<script>`` elements that would run (no ``type``, a JavaScript MIME type or
  ``module``) and load from a tracker host, or whose inline body holds one of
  the registry's snippet signatures: they get ``type="text/plain"`` and
  ``data-consent-category``; ``src`` becomes ``data-consent-src`` and an
  original ``type`` becomes ``data-consent-type``;
* ``<img>`` (and ``<image>``), ``<source>``, ``<embed>``, ``<iframe>`` and
  ``<link>`` pointing at a tracker host, inside ``<noscript>`` too: ``src``,
  ``srcset``, ``href`` and ``imagesrcset`` become ``data-consent-…``; an iframe
  also gets ``src="about:blank"``;
* any of those elements marked ``data-consent-category="…"`` by the author,
  whose category wins over the registry's.

A JS banner can undo these renames after consent, without a reload. Attributes
are renamed in place, so the rest of the element (other attributes, quoting,
case) and everything else in the document is passed on byte for byte. Every
copy of a duplicated attribute is renamed (the parser keeps the first; the next
would take over). An element that does not run (a script whose ``type`` is not
JavaScript, ``text/plain`` included) or that already carries a
``data-consent-src``/``-href``/``-srcset`` is left alone, so rewriting twice
gives what rewriting once gave.

URLs are read the way the URL parser reads them: character references decoded,
TAB/LF stripped, ``\\`` as ``/``, ``//host`` and ``https:host`` both absolute.
Inline scripts are matched on the registry's call-like signatures (``gtag(``,
``fbq(``, …) and full loader URLs (``googletagmanager.com/gtm.js``), never on a
bare host name, which a script may merely mention in a string; a signature that
starts with an identifier character must not follow one (``gtag(`` does not
match ``mygtag(``). The first signature found in registry order decides the
category, as :meth:`Matcher.inline_owner` does.

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
regular-expression search; an ``<img>``/``<link>``/… that cannot name a host
is skipped there without Python. So a candidate is checked against the last
tag before it: if it sits inside that tag's attribute value
(``<div title='<img src=…>'>``) the whole tag is passed on as it is. Only one
level is checked: a candidate inside an attribute value that itself holds an
earlier complete tag is taken for markup (and then rewriting twice may differ
from once). Foreign content is not tracked (a CDATA section in SVG is read as
a bogus comment up to its first ``>``), nor are ``srcdoc``, ``<base href>`` or
lazy-loading ``data-src``.

**Speed.** Where the C extension ``consent_mw.html._speedups`` is built (``pip
install`` compiles it when a C compiler is there; ``CONSENT_MW_PURE_PYTHON=1``
leaves it unused), it takes every step that passes bytes on unchanged (text,
comments, raw text, script bodies, tags that need no judging) and stops where
Python must judge a tag or a held inline script. The steps are the same either
way: the tests run both and compare the output and the state after every window.
A tag is judged once per allowed set and remembered (bounded); given the page's
CSP nonce (``nonce=``), tags that carry it are remembered across pages too.

**Memory.** At most ``max_hold`` bytes are held back: a tag of interest until
its ``>``, an inline script until its end so its body can be classified. A
longer tag is judged on its first ``max_hold`` bytes: the attributes that end
there, and a URL cut short there once its host shows; a longer inline body on
its first ``max_hold`` bytes. A tag that is not of interest and is longer than
``max_hold`` is not checked as a container of candidates.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from typing import Final, TypeVar

from .._memo import remember
from ..policy.trackers import Matcher
from . import scan
from .native import speedups

# The pass-through steps in C (_speedups.c, built by setup.py when a compiler is
# there); without them, or with CONSENT_MW_PURE_PYTHON=1, Python takes every step.
_Skim = Callable[
    [bytes, int, bool, int, int, bool, int, bytes, bool, bool, bool],
    tuple[int, int, int, bool, int, bytes, int, int],
]
#: what skim() says of where it stopped: the window is done; the next step is
#: Python's; the injection goes there
_SKIM_MORE, _SKIM_PYTHON, _SKIM_INJECT = 1, 2, 3
_skim: _Skim | None = None if speedups is None else speedups.skim
_lower: Callable[[bytes], bytes] = bytes.lower if speedups is None else speedups.lower

__all__ = ["HTMLRewriter", "rewrite_html"]

_DATA, _UNTIL, _SCRIPT, _TAG = range(4)
_KEEP, _BLOCK, _INLINE = range(3)
#: bytes kept back at a window's end so a marker cut in two is found next time
_TAIL: Final = 16
_BOM: Final = b"\xef\xbb\xbf"

_IDENT: Final = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$")
_HOST_CHARS: Final = _IDENT | {0x2D}
_CACHE_SIZE: Final = 512
_CACHE_KEY_MAX: Final = 4096
_FOLD_COPY_MAX: Final = 64 * 1024
_T = TypeVar("_T")


class _Plan:
    """What one (matcher, allowed set) pair refuses: categories and inline signatures."""

    def __init__(self, matcher: Matcher, allowed: frozenset[str]) -> None:
        self.allowed = allowed
        hosts = {h.lower().partition("/")[0] for t in matcher.trackers for h in t.hosts}
        sigs: list[tuple[bytes, bool, frozenset[int], str]] = []
        for tracker in matcher.trackers:
            if tracker.category in allowed:
                continue
            loaders = [h for h in tracker.hosts if "." in h.rpartition("/")[2] and "/" in h]
            for sig in (*tracker.inline, *loaders):
                low = sig.lower()
                if "/" in sig:
                    sigs.append((low.encode(), True, _HOST_CHARS, tracker.category))
                elif _is_host(low, hosts):
                    continue  # a bare host name: scripts mention those in strings
                else:
                    needle = sig.encode()
                    guard = _IDENT if needle[:1] and needle[0] in _IDENT else frozenset()
                    sigs.append((needle, False, guard, tracker.category))
        self.signatures = tuple(sigs)
        self.anycase = tuple(re.compile(re.escape(sig[0]), re.IGNORECASE) for sig in sigs)
        # A site sends the same tracker tags and snippets on every page: remember
        # what they came to (bounded; per plan, so the same allowed set).
        self.tags: dict[bytes, tuple[int, str | None, bytes]] = {}
        self.bodies: dict[bytes, str | None] = {}
        self.inline_tags: dict[bytes, bytes] = {}
        # The same, for tags whose CSP nonce changes on every page: keyed and
        # stored with the nonce's value replaced by _NONCE_MARK (see _Nonce).
        self.nonce_tags: dict[bytes, tuple[int, str | None, bytes]] = {}
        self.nonce_inline_tags: dict[bytes, bytes] = {}

    def remember(self, cache: dict[bytes, _T], key: bytes, value: _T) -> None:
        if len(key) <= _CACHE_KEY_MAX:
            remember(cache, key, value, _CACHE_SIZE)

    def find(self, body: bytes, limit: int) -> str | None:
        """The category of the first signature (in registry order, as
        :meth:`Matcher.inline_owner` reads them) found whole in ``body[:limit]``."""
        if len(body) <= limit:
            try:
                return self.bodies[body]
            except KeyError:
                pass
        found = self._find(body, limit)
        if len(body) <= limit:
            self.remember(self.bodies, body, found)
        return found

    def _find(self, body: bytes, limit: int) -> str | None:
        # URL signatures match in any case: on a lowercased copy of a short body,
        # and with a case-insensitive search in a long one (no copy held).
        folded = body.lower() if len(body) <= _FOLD_COPY_MAX else b""
        for (needle, fold, guard, category), anycase in zip(
            self.signatures, self.anycase, strict=True
        ):
            if fold and not folded:
                for m in anycase.finditer(body, 0, limit):
                    if m.start() == 0 or body[m.start() - 1] not in guard:
                        return category
                continue
            hay = folded if fold else body
            i = hay.find(needle, 0, limit)
            while i > 0 and hay[i - 1] in guard:
                i = hay.find(needle, i + 1, limit)
            if i >= 0:
                return category
        return None


#: stands for a page's CSP nonce in the memos (a tag that holds it is not remembered so)
_NONCE_MARK: Final = b"\x00nonce\x00"
# A nonce as CSP writes it (base64 or base64url), long enough not to occur by chance.
_NONCE_VALUE = re.compile(rb"[A-Za-z0-9+/_-]{16,}={0,2}")


class _Nonce:
    """A page's CSP nonce, for remembering tags that carry it.

    A site with a strict CSP sends a fresh nonce in every script tag, so no tag is
    ever the same twice. Such a tag is remembered with the nonce's value replaced
    by a mark, when that is safe: the value occurs once in the tag, it is exactly
    the value of its ``nonce`` attribute (which no verdict reads), and it occurs
    once in what the tag became. A later tag that differs only in that value (of
    the same characters, none of which ends a value) then gets the same verdict
    and the same output with its own value put back.
    """

    __slots__ = ("value",)

    def __init__(self, value: bytes) -> None:
        self.value = value

    def key(self, tag: bytes) -> bytes | None:
        """``tag`` with the nonce marked, or None if it does not carry it once."""
        value = self.value
        if tag.count(value) != 1 or _NONCE_MARK in tag:
            return None
        return tag.replace(value, _NONCE_MARK)

    def template(self, tag: bytes, attrs: list[scan.Attr], at: int, output: bytes) -> bytes | None:
        """``output`` (what ``tag`` became) with the nonce marked, if the nonce in
        ``tag`` is its ``nonce`` attribute's value (``attrs`` index ``tag`` from
        ``at``); else None."""
        value = self.value
        start = tag.find(value) + at
        if not any(
            a.name == b"nonce" and a.value_start == start and a.value_end == start + len(value)
            for a in attrs
        ):
            return None
        if output.count(value) != 1 or _NONCE_MARK in output:
            return None
        return output.replace(value, _NONCE_MARK)

    def fill(self, template: bytes) -> bytes:
        return template.replace(_NONCE_MARK, self.value)


def _is_host(name: str, hosts: set[str]) -> bool:
    """Whether ``name`` is one of ``hosts`` or a subdomain of one."""
    labels = name.split(".")
    return any(".".join(labels[i:]) in hosts for i in range(len(labels)))


_PLANS: weakref.WeakKeyDictionary[Matcher, dict[frozenset[str], _Plan]] = (
    weakref.WeakKeyDictionary()
)


def _plan(matcher: Matcher, allowed: frozenset[str]) -> _Plan:
    plans = _PLANS.setdefault(matcher, {})
    plan = plans.get(allowed)
    if plan is None:
        plan = _Plan(matcher, allowed)
        remember(plans, allowed, plan, 64)
    return plan


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
    ) -> None:
        if max_hold < 64:
            raise ValueError(f"max_hold must be at least 64 bytes, not {max_hold}")
        self._matcher = matcher
        #: the page's CSP nonce, when it has one its tags can be remembered by
        self._nonce: _Nonce | None = None
        if nonce and nonce.isascii() and _NONCE_VALUE.fullmatch(value := nonce.encode()):
            self._nonce = _Nonce(value)
        self._plan = _plan(matcher, frozenset(allowed) | {"necessary"})
        self._inject = bytes(inject)
        self._injected = not inject
        self._doc_start = True
        self._max_hold = max_hold
        self._candidates = scan.candidates(max_hold)
        self._anycase = scan.candidates(max_hold, anycase=True)
        self._carry = b""
        self._mode = _DATA
        #: what ends the comment, bogus comment or raw-text element in UNTIL mode
        self._until_kind = b""
        self._script_state = scan.SCRIPT_DATA
        self._held: list[bytes] | None = None
        self._held_body = 0
        self._tag_state = scan.S_TAG_NAME
        self._tag_name = b""
        self._noscript = False
        self._closed = False
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
        return self._run(self._carry + chunk if self._carry else bytes(chunk), final=False)

    def close(self) -> bytes:
        """End of the body: return everything still held back."""
        if self._closed:
            return b""
        self._closed = True
        return self._run(self._carry, final=True)

    # -- the scanning loop -------------------------------------------------

    def _run(self, buf: bytes, final: bool) -> bytes:
        # The lowercased copy is made only once something needs it: most windows of a
        # page hold no candidate, and the candidate patterns match in any case.
        low = b""
        n = len(buf)
        out: list[bytes] = []
        pos, more = 0, False
        skim = _skim
        while not more:
            if skim is not None and self._mode != _TAG:
                # The steps that pass bytes on unchanged, in C (see _speedups.c); it
                # stops where one needs more (a tag to judge, a held script's end).
                held = self._held
                (
                    stop,
                    status,
                    self._mode,
                    self._noscript,
                    self._script_state,
                    self._until_kind,
                    name_end,
                    end,
                ) = skim(
                    buf,
                    pos,
                    final,
                    self._max_hold,
                    self._mode,
                    self._noscript,
                    self._script_state,
                    self._until_kind,
                    held is not None,
                    self._injected,
                    self._doc_start,
                )
                more = status == _SKIM_MORE
                if held is None:
                    if stop > pos:
                        out.append(buf[pos:stop])
                    if status == _SKIM_INJECT:
                        out.append(self._inject)
                        self._injected = True
                        pos = stop
                        continue
                elif self._mode == _DATA:  # the held script's end tag
                    held.append(buf[pos:stop])
                    self._release(out)
                    pos = stop
                    continue
                elif more:
                    self._body(buf[pos:stop], out)
                pos = stop
                if more:
                    break
                # A tag to judge, whole and not over-long: one seen before needs no
                # more than what _start_tag does with a tag it knows.
                if 0 <= end <= pos + self._max_hold:
                    known = self._known(buf[pos:end])
                    if known is not None:
                        name = buf[pos + 1 : name_end].lower()
                        pos, more = self._known_tag(name, end, known, out)
                        continue
            mode = self._mode
            if not low:
                if mode == _DATA and self._injected:
                    m = self._anycase[self._noscript].search(buf, pos)
                    if m is None:
                        pos, more = self._no_candidate(buf, pos, n, final, out)
                        continue
                    cut = (
                        self._cut_short(buf, m, pos, n) if m.lastgroup == "u" and not final else -1
                    )
                    if cut >= 0:
                        out.append(buf[pos:cut])
                        pos, more = cut, True
                        continue
                    low = _lower(buf)
                    pos, more = self._data(buf, low, pos, n, final, out, m)
                    continue
                if mode == _DATA:
                    pos, more = self._before_inject(buf, pos, n, final, out)
                    continue
                low = _lower(buf)
            if mode == _DATA:
                if self._injected:
                    pos, more = self._data(buf, low, pos, n, final, out)
                else:
                    pos, more = self._before_inject(buf, pos, n, final, out)
            elif mode == _UNTIL:
                pos, more = self._until_end(buf, low, pos, n, final, out)
            elif mode == _SCRIPT:
                pos, more = self._script(buf, low, pos, n, final, out)
            else:
                pos, more = self._tag_rest(buf, low, pos, n, final, out)
        if final:
            if self._held is not None:
                self._release(out)
            if not self._injected:
                out.append(self._inject)
                self._injected = True
            self._carry = b""
        else:
            self._carry = buf[pos:]
        return b"".join(out)

    def _data(
        self,
        buf: bytes,
        low: bytes,
        pos: int,
        n: int,
        final: bool,
        out: list[bytes],
        m: re.Match[bytes] | None = None,
    ) -> tuple[int, bool]:
        if m is None:
            m = self._candidates[self._noscript].search(low, pos)
            if m is None:
                return self._no_candidate(low, pos, n, final, out, buf)
        kind = m.lastgroup
        if kind == "u" and not final and (cut := self._cut_short(low, m, pos, n)) >= 0:
            out.append(buf[pos:cut])
            return cut, True
        s, name_end = m.span()
        # Only candidates are tokenized, so one may sit inside an attribute value of the
        # tag before it (<div title='<img src=…>'>): then that tag is skipped whole.
        # Just the last tag before the candidate is looked at, and a tag longer than
        # max_hold never counts, so the verdict is the same whatever the chunking.
        q = -1 if low.find(b"<", pos, s) < 0 else scan.last_tag_start(low, pos, s, n)
        if q >= 0:
            end = scan.tag_end(low, q)
            if end < 0 and n - q <= self._max_hold:
                if final:  # EOF in a tag: the tokenizer drops it
                    out.append(buf[pos:])
                    return n, True
                out.append(buf[pos:q])
                return q, True
            if end > s and end - q <= self._max_hold:
                out.append(buf[pos:end])
                return end, False
        if s > pos:
            out.append(buf[pos:s])
        if kind == "t" or kind == "u":
            return self._start_tag(buf, low, s, name_end, low[s + 1 : name_end], n, final, out)
        if kind == "e":
            self._noscript = False
            out.append(buf[s:name_end])
            return name_end, False
        return self._markup_decl(buf, low, s, n, final, out)

    def _cut_short(self, low: bytes, m: re.Match[bytes], pos: int, n: int) -> int:
        """Where to stop in a window (not the last) whose candidate ``m`` is an
        <img>/<link>/… the window cuts short, or -1. The next window reads it as the
        whole document would (skipped whole when nothing in it can name a host).
        ``low`` may be the bytes before lowercasing: nothing here depends on case."""
        s = m.start()
        if n - s <= self._max_hold and scan.TAG_REST.match(low, m.end()) is None:
            return self._cut(low, pos, s, n)
        return -1

    def _no_candidate(
        self,
        low: bytes,
        pos: int,
        n: int,
        final: bool,
        out: list[bytes],
        buf: bytes | None = None,
    ) -> tuple[int, bool]:
        """Pass on a window without candidates from ``pos`` (``low`` may be the
        window's bytes before lowercasing, then also the output's)."""
        if buf is None:
            buf = low
        if final:
            out.append(buf[pos:])
            return n, True
        cut = self._safe_cut(low, pos, n)
        out.append(buf[pos:cut])
        return cut, True

    def _safe_cut(self, low: bytes, pos: int, n: int) -> int:
        """How far a window without candidates can be passed on.

        What stays is a candidate that may be cut short at the end (at most
        _TAIL bytes), and the tag that may yet turn out to hold it or a later one.
        """
        cut = self._cut(low, pos, n, n)
        tail = low.rfind(b"<", max(pos, n - _TAIL))
        if 0 <= tail <= cut:
            cut = self._cut(low, pos, tail, n)
        return cut

    def _cut(self, low: bytes, pos: int, at: int, n: int) -> int:
        """Where to stop passing bytes on when a candidate may start at ``at``: there,
        or at the tag before it if that tag may contain it."""
        q = scan.last_tag_start(low, pos, at, n)
        return q if q >= 0 and self._holds(low, q, at, n) else at

    def _holds(self, low: bytes, q: int, at: int, n: int) -> bool:
        """Whether the tag at ``q`` may contain position ``at`` (see _data)."""
        end = scan.tag_end(low, q)
        if end < 0:
            return n - q <= self._max_hold
        return end > at and end - q <= self._max_hold

    def _before_inject(
        self, buf: bytes, pos: int, n: int, final: bool, out: list[bytes]
    ) -> tuple[int, bool]:
        # No lowercased copy of the window is needed here: only the tag name at
        # ``pos`` has a case; the tag and comment grammars have no letters.
        if self._doc_start:
            # A byte-order mark must stay first or the browser will not see it.
            if not final and n - pos < 3 and _BOM.startswith(buf[pos:n]):
                return pos, True
            self._doc_start = False
            if buf.startswith(_BOM, pos):
                out.append(_BOM)
                pos += 3
        end = scan.run_end(scan.WS_RUN, buf, pos)
        if end > pos:
            out.append(buf[pos:end])
        pos = end
        if pos >= n:
            return n, True
        if buf[pos] == 0x3C and pos + 1 >= n and not final:
            return pos, True
        c = buf[pos + 1] if buf[pos] == 0x3C and pos + 1 < n else 0
        if c in b"!?" and c:
            return self._markup_decl(buf, buf, pos, n, final, out)
        if c == 0x2F:  # "</"
            if pos + 2 >= n and not final:
                return pos, True
            c2 = buf[pos + 2] if pos + 2 < n else 0
            if c2 == 0x3E:  # "</>" is dropped by the tokenizer
                out.append(buf[pos : pos + 3])
                return pos + 3, False
            if not 0x61 <= c2 | 0x20 <= 0x7A:  # not a letter in either case
                return self._markup_decl(buf, buf, pos, n, final, out)
        elif 0x61 <= c | 0x20 <= 0x7A:
            name_end = scan.run_end(scan.TAG_NAME, buf, pos + 1)
            name = buf[pos + 1 : name_end].lower()
            if name_end >= n and not final and len(name) < 5:
                return pos, True
            if name in (b"html", b"head", b"body"):  # judged on nothing with a case
                return self._start_tag(buf, buf, pos, name_end, name, n, final, out)
        out.append(self._inject)
        self._injected = True
        return pos, False

    def _markup_decl(
        self, buf: bytes, low: bytes, s: int, n: int, final: bool, out: list[bytes]
    ) -> tuple[int, bool]:
        """``<!…``, ``<?…`` or ``</`` + non-letter at ``s``: a comment or bogus comment."""
        if low.startswith(b"<!--", s):
            # "<!-->" and "<!--->" close at once (abrupt-closing-of-empty-comment).
            if n - s < 6 and not final and not (n - s == 5 and low[s + 4] == 0x3E):
                return s, True
            for closer in (b">", b"->"):
                if low.startswith(closer, s + 4):
                    end = s + 4 + len(closer)
                    out.append(buf[s:end])
                    return end, False
            return self._enter_until(b"!--", buf, s, s + 4, out)
        if not final and n - s < 4 and b"<!--".startswith(low[s:n]):
            return s, True
        return self._enter_until(b"!", buf, s, s + 2, out)

    def _enter_until(
        self, kind: bytes, buf: bytes, s: int, start: int, out: list[bytes]
    ) -> tuple[int, bool]:
        out.append(buf[s:start])
        self._mode = _UNTIL
        self._until_kind = kind
        return start, False

    def _until_end(
        self, buf: bytes, low: bytes, pos: int, n: int, final: bool, out: list[bytes]
    ) -> tuple[int, bool]:
        rx = scan.end_pattern(self._until_kind, self._noscript)
        m = rx.search(low, pos) if rx is not None else None
        if m is None:
            cut = n if final or rx is None else max(pos, n - _TAIL)
            out.append(buf[pos:cut])
            return cut, True
        end = m.start() if m.lastgroup == "ns" else m.end()
        out.append(buf[pos:end])
        self._mode = _DATA
        return end, False

    def _script(
        self, buf: bytes, low: bytes, pos: int, n: int, final: bool, out: list[bytes]
    ) -> tuple[int, bool]:
        patterns = scan.SCRIPT_PATTERNS[self._noscript]
        at = pos
        while (m := patterns[self._script_state].search(low, at)) is not None:
            kind = m.lastgroup
            if kind == "end" or kind == "ns":
                e = m.start()
                if self._held is None:
                    out.append(buf[pos:e])
                else:  # what _body then _release would do, in one step
                    self._held.append(buf[pos:e])
                    self._release(out)
                self._mode = _DATA
                return e, False
            if kind == "esc":
                self._script_state, at = scan.SCRIPT_ESCAPED, m.start() + 2
            elif kind == "dbl":
                self._script_state, at = scan.SCRIPT_DOUBLE, m.end()
            elif kind == "un":
                self._script_state, at = scan.SCRIPT_ESCAPED, m.end()
            else:
                self._script_state, at = scan.SCRIPT_DATA, m.end()
        cut = n if final else max(at, n - _TAIL)
        self._body(buf[pos:cut], out)
        return cut, True

    def _body(self, piece: bytes, out: list[bytes]) -> None:
        held = self._held
        if held is None:
            out.append(piece)
            return
        held.append(piece)
        self._held_body += len(piece)
        if self._held_body >= self._max_hold:
            self._release(out)

    def _release(self, out: list[bytes]) -> None:
        """Judge a held inline script on its body and send it on."""
        held = self._held
        if held is None:
            return
        self._held = None
        tag, body = held[0], b"".join(held[1:])
        held.clear()  # the pieces, no longer needed next to their joined copy
        plan = self._plan
        category = plan.find(body, self._max_hold)
        if category is not None:
            self._count(category)
            suffix = b"\0" + category.encode()
            rewritten = plan.inline_tags.get(tag + suffix)
            nonce = self._nonce
            marked = None
            if rewritten is None and nonce is not None and (marked := nonce.key(tag)) is not None:
                template = plan.nonce_inline_tags.get(marked + suffix)
                if template is not None:
                    rewritten = nonce.fill(template)
            if rewritten is None:
                attrs = scan.parse_attrs(tag.lower(), 7, len(tag), complete=True)
                rewritten = scan.neutralise(tag, 0, 7, len(tag), attrs, b"script", category)
                if (
                    nonce is not None
                    and marked is not None
                    and (template := nonce.template(tag, attrs, 0, rewritten)) is not None
                ):
                    plan.remember(plan.nonce_inline_tags, marked + suffix, template)
                else:
                    plan.remember(plan.inline_tags, tag + suffix, rewritten)
            tag = rewritten
        out.append(tag)
        out.append(body)

    def _tag_rest(
        self, buf: bytes, low: bytes, pos: int, n: int, final: bool, out: list[bytes]
    ) -> tuple[int, bool]:
        end, state = scan.walk_tag(low, pos, n, self._tag_state)
        out.append(buf[pos:end])
        if state != scan.S_DONE:
            self._tag_state = state
            return end, True
        self._mode = _DATA
        return self._after_tag(self._tag_name, end, None, out)

    # -- tags --------------------------------------------------------------

    def _start_tag(
        self,
        buf: bytes,
        low: bytes,
        s: int,
        name_end: int,
        name: bytes,
        n: int,
        final: bool,
        out: list[bytes],
    ) -> tuple[int, bool]:
        m = scan.TAG_REST.match(low, name_end)
        end = m.end() if m is not None else -1
        if name not in scan.CLASSIFIED:
            if end >= 0:
                out.append(buf[s:end])
                return self._after_tag(name, end, None, out)
            return self._stream_tag(buf, low, s, s, name_end, name, n, final, out)
        limit = s + self._max_hold
        if (end if end >= 0 else n) > limit:
            # Too long to hold: judge the attributes that end within the first max_hold bytes.
            attrs = scan.parse_attrs(low, name_end, limit, complete=False)
            verdict, category = self._judge(name, attrs, buf)
            if verdict == _BLOCK and category is not None:
                self._count(category)
                out.append(scan.neutralise(buf, s, name_end, limit, attrs, name, category))
            else:
                out.append(buf[s:limit])
            if end < 0:
                return self._stream_tag(buf, low, limit, s, name_end, name, n, final, out)
            out.append(buf[limit:end])
            return self._after_tag(name, end, None, out)
        if end < 0:
            if final:  # EOF in a tag: the tokenizer drops it
                out.append(buf[s:n])
                return n, True
            return s, True
        tag = buf[s:end]
        known = self._known(tag)
        if known is None:
            attrs = scan.parse_attrs(low, name_end, end, complete=True)
            verdict, category = self._judge(name, attrs, buf)
            if verdict == _BLOCK and category is not None:
                rewritten = scan.neutralise(buf, s, name_end, end, attrs, name, category)
                known = (verdict, category, rewritten)
            else:
                known = (verdict, category, tag)
            plan, nonce = self._plan, self._nonce
            if (
                nonce is not None
                and (key := nonce.key(tag)) is not None
                and (template := nonce.template(tag, attrs, s, known[2])) is not None
            ):
                plan.remember(plan.nonce_tags, key, (verdict, category, template))
            else:
                plan.remember(plan.tags, tag, known)
        return self._known_tag(name, end, known, out)

    def _known(self, tag: bytes) -> tuple[int, str | None, bytes] | None:
        """What a tag seen before came to (see _Plan.tags and _Nonce), or None."""
        known = self._plan.tags.get(tag)
        nonce = self._nonce
        if known is None and nonce is not None and (key := nonce.key(tag)) is not None:
            marked = self._plan.nonce_tags.get(key)
            if marked is not None:
                known = (marked[0], marked[1], nonce.fill(marked[2]))
        return known

    def _known_tag(
        self, name: bytes, end: int, known: tuple[int, str | None, bytes], out: list[bytes]
    ) -> tuple[int, bool]:
        """Send on a whole tag whose verdict is ``known``, and step past it."""
        verdict, category, tag = known
        if verdict == _INLINE:
            return self._after_tag(name, end, tag, out)
        if category is not None and verdict == _BLOCK:
            self._count(category)
        out.append(tag)
        return self._after_tag(name, end, None, out)

    def _stream_tag(
        self,
        buf: bytes,
        low: bytes,
        emit_from: int,
        s: int,
        name_end: int,
        name: bytes,
        n: int,
        final: bool,
        out: list[bytes],
    ) -> tuple[int, bool]:
        """Pass on a tag that does not end in this window, then follow it to its ``>``."""
        end, state = scan.walk_tag(low, name_end, n, scan.S_TAG_NAME)
        out.append(buf[emit_from:end])
        if state == scan.S_DONE:
            return self._after_tag(name, end, None, out)
        if final:
            return n, True
        self._mode, self._tag_state, self._tag_name = _TAG, state, name
        return n, True

    def _after_tag(
        self, name: bytes, end: int, held_tag: bytes | None, out: list[bytes]
    ) -> tuple[int, bool]:
        """Switch the tokenizer state as tree construction would after a start tag."""
        if name == b"script":
            self._mode, self._script_state = _SCRIPT, scan.SCRIPT_DATA
            if held_tag is not None:
                self._held, self._held_body = [held_tag], 0
        elif name in scan.RAW:
            self._mode = _UNTIL
            self._until_kind = name
        elif name == b"plaintext":
            self._mode = _UNTIL
            self._until_kind = b""
        elif name == b"noscript":
            self._noscript = True
        elif name in (b"head", b"body") and not self._injected:
            out.append(self._inject)
            self._injected = True
        return end, False

    def _judge(self, name: bytes, attrs: list[scan.Attr], buf: bytes) -> tuple[int, str | None]:
        first: dict[bytes, scan.Attr] = {}
        for attr in attrs:
            first.setdefault(attr.name, attr)  # the first of duplicate attributes wins
        # A value an over-long tag cuts short counts only for a URL whose host shows.
        last = attrs[-1] if attrs else None
        if last and last.cut and first[last.name] is last and last.name not in scan.URL_ATTRS[name]:
            del first[last.name]
        if not scan.MARKS.isdisjoint(first):
            return _KEEP, None

        def value(key: bytes) -> bytes | None:
            a = first.get(key)
            return None if a is None else buf[a.value_start : a.value_end]

        if name == b"script" and not scan.runs(value(b"type"), value(b"language")):
            return _KEEP, None
        category = scan.text(value(scan.CATEGORY) or b"").strip().lower() or None
        urls = [key for key in scan.URL_ATTRS[name] if key in first]
        for key in urls if category is None else ():
            raw = value(key) or b""
            cut = first[key].cut
            for url in scan.srcset_urls(raw) if key in scan.SRCSETS else (raw,):
                found = scan.absolute_url(url)
                if found is None or (cut and not scan.names_a_host(found)):
                    continue
                owner = self._matcher.url_owner(found)
                if owner is not None:
                    category = owner[0]
                    break
            if category is not None:
                break
        if category is None:
            if name == b"script" and b"src" not in first and self._plan.signatures:
                return _INLINE, None
            return _KEEP, None
        if category in self._plan.allowed or (name != b"script" and not urls):
            return _KEEP, None
        return _BLOCK, category

    def _count(self, category: str) -> None:
        self.blocked += 1
        self.blocked_categories[category] = self.blocked_categories.get(category, 0) + 1


def rewrite_html(
    html: bytes, matcher: Matcher, allowed: frozenset[str], *, inject: bytes = b""
) -> bytes:
    """Rewrite a whole document at once (see :class:`HTMLRewriter`)."""
    rewriter = HTMLRewriter(matcher, allowed, inject=inject)
    return rewriter.feed(html) + rewriter.close()
