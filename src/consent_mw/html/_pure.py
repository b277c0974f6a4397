"""The rewriter's pass-through steps in Python: :func:`skim`, the twin of the C
extension's (``_speedups.c``), with the same signature and the same results.

:mod:`consent_mw.html.native` chooses one of the two at import; the tests run
the rewriter with each and compare them on the same inputs.
"""

from __future__ import annotations

import functools
import re

from .scan import (
    DATA,
    FOLLOWED,
    INJECT,
    MORE,
    PYTHON,
    SCRIPT_DATA,
    SCRIPT_DOUBLE,
    SCRIPT_ESCAPED,
    SCRIPT_PATTERNS,
    TAG,
    TAG_NAME,
    TAG_REST,
    TAIL,
    UNTIL,
    WS_RUN,
    ScanState,
    candidates,
    end_pattern,
    generic_tag_rest,
    last_tag_start,
    run_end,
    tag_end,
)

__all__ = ["skim"]


@functools.cache
def generic_rest(max_hold: int) -> re.Pattern[bytes]:
    """:func:`~consent_mw.html.scan.generic_tag_rest`, compiled, for bytes in any case."""
    return re.compile(generic_tag_rest(max_hold, True))


#: a step that went on: the next one follows in the same call
_ON = 0
#: (where the step stopped, how, where the tag there has its name end, where it ends)
_Step = tuple[int, int, int, int]


def skim(state: ScanState, buf: bytes, pos: int, final: bool, /) -> _Step:
    """Take the steps that pass ``buf`` on unchanged, from ``pos``, moving ``state``.

    Returns ``(stop, status, name_end, end)``: ``buf[pos:stop]`` goes on as it is
    (into the held inline script, if there is one), and ``state`` is the one reached
    at ``stop``. ``status`` is :data:`~consent_mw.html.scan.MORE`: the window is
    done (the rest waits for the next one, unless ``final``);
    :data:`~consent_mw.html.scan.INJECT`: the injection goes at ``stop``; or
    :data:`~consent_mw.html.scan.PYTHON`: the step at ``stop`` is the rewriter's:
    the end of the held script or style sheet, a tag in TAG mode, or a start tag to judge or to
    stream, whose name ends at ``name_end`` and which ends at ``end`` (-1: not in
    this window). ``name_end`` and ``end`` are -1 but at a start tag.
    """
    n = len(buf)
    while True:
        mode = state.mode
        if mode == TAG:
            return pos, PYTHON, -1, -1
        if pos >= n and not final:
            return pos, MORE, -1, -1
        if mode == DATA:
            if state.injected:
                step = _data(state, buf, pos, n, final)
            else:
                step = _before_inject(state, buf, pos, n, final)
        elif mode == UNTIL:
            step = _until(state, buf, pos, n, final)
        else:
            step = _script(state, buf, pos, n, final)
        if step[1] != _ON:
            return step
        pos = step[0]


def _data(state: ScanState, buf: bytes, pos: int, n: int, final: bool) -> _Step:
    max_hold = state.max_hold
    m = candidates(max_hold, True, state.based)[state.noscript].search(buf, pos)
    if m is None:
        return (n if final else _safe_cut(buf, pos, n, max_hold)), MORE, -1, -1
    s, name_end = m.span()
    kind = m.lastgroup
    tag = kind == "t" or kind == "u" or kind == "g"
    rest = TAG_REST.match(buf, name_end) if tag else None
    # An <img>/<a>/… the window cuts short: the next window reads it whole, as the
    # whole document would (skipped whole when nothing in it can name a host).
    if tag and kind != "t" and not final and n - s <= max_hold and rest is None:
        return _cut(buf, pos, s, n, max_hold), MORE, -1, -1
    # Only candidates are tokenized, so one may sit inside an attribute value of the
    # tag before it (<div title='<img src=…>'>): then that tag is skipped whole.
    # Just the last tag before the candidate is looked at, and a tag longer than
    # max_hold never counts, so the verdict is the same whatever the chunking.
    q = -1 if buf.find(b"<", pos, s) < 0 else last_tag_start(buf, pos, s, n)
    if q >= 0:
        end = tag_end(buf, q)
        if end < 0 and n - q <= max_hold:  # at EOF the tokenizer drops it
            return (n if final else q), MORE, -1, -1
        if end > s and end - q <= max_hold:
            return end, _ON, -1, -1
    if tag:
        end = -1 if rest is None else rest.end()
        name = buf[s + 1 : name_end].lower()
        if end < 0 or name not in FOLLOWED:
            return s, PYTHON, name_end, end
        # After the start tag, as tree construction switches the tokenizer.
        if name == b"noscript":
            state.noscript = True
        else:  # a RAWTEXT or RCDATA element, or PLAINTEXT (nothing ends it)
            state.mode = UNTIL
            state.until_kind = b"" if name == b"plaintext" else name
        return end, _ON, -1, -1
    if kind == "e":  # </noscript>
        state.noscript = False
        return name_end, _ON, -1, -1
    return _markup_decl(state, buf, s, n, final)


def _markup_decl(state: ScanState, buf: bytes, s: int, n: int, final: bool) -> _Step:
    """``<!…``, ``<?…`` or ``</`` + non-letter at ``s``: a comment or bogus comment."""
    if buf.startswith(b"<!--", s):
        # "<!-->" and "<!--->" close at once (abrupt-closing-of-empty-comment).
        if n - s < 6 and not final and not (n - s == 5 and buf[s + 4] == 0x3E):
            return s, MORE, -1, -1
        if buf.startswith(b">", s + 4):
            return s + 5, _ON, -1, -1
        if buf.startswith(b"->", s + 4):
            return s + 6, _ON, -1, -1
        state.mode, state.until_kind = UNTIL, b"!--"
        return s + 4, _ON, -1, -1
    if not final and n - s < 4 and b"<!--".startswith(buf[s:n]):
        return s, MORE, -1, -1
    state.mode, state.until_kind = UNTIL, b"!"
    return s + 2, _ON, -1, -1


def _until(state: ScanState, buf: bytes, pos: int, n: int, final: bool) -> _Step:
    """In a comment, bogus comment, raw-text element or PLAINTEXT: to its end."""
    rx = end_pattern(state.until_kind, state.noscript)
    m = rx.search(buf, pos) if rx is not None else None
    if m is None:
        return (n if final or rx is None else max(pos, n - TAIL)), MORE, -1, -1
    state.mode = DATA
    if state.held is not None:  # a held <style>: its body ends here
        return m.start(), PYTHON, -1, -1
    # "</noscript" stays for the data state to read
    return (m.start() if m.lastgroup == "ns" else m.end()), _ON, -1, -1


def _script(state: ScanState, buf: bytes, pos: int, n: int, final: bool) -> _Step:
    """In script data: through its escape states to its end tag."""
    patterns = SCRIPT_PATTERNS[state.noscript]
    script_state = state.script_state
    at = pos
    while (m := patterns[script_state].search(buf, at)) is not None:
        kind = m.lastgroup
        if kind == "end" or kind == "ns":
            state.mode, state.script_state = DATA, script_state
            return m.start(), (_ON if state.held is None else PYTHON), -1, -1
        if kind == "esc":
            script_state, at = SCRIPT_ESCAPED, m.start() + 2
        elif kind == "dbl":
            script_state, at = SCRIPT_DOUBLE, m.end()
        elif kind == "un":
            script_state, at = SCRIPT_ESCAPED, m.end()
        else:
            script_state, at = SCRIPT_DATA, m.end()
    state.script_state = script_state
    return (n if final else max(at, n - TAIL)), MORE, -1, -1


def _before_inject(state: ScanState, buf: bytes, pos: int, n: int, final: bool) -> _Step:
    """In data before the injection point: INJECT where it goes (see rewrite.py)."""
    pos = run_end(WS_RUN, buf, pos)
    if pos >= n:
        return n, MORE, -1, -1
    if buf[pos] == 0x3C and pos + 1 >= n and not final:
        return pos, MORE, -1, -1
    c = buf[pos + 1] if buf[pos] == 0x3C and pos + 1 < n else 0
    if c == 0x21 or c == 0x3F:  # "<!" or "<?"
        return _markup_decl(state, buf, pos, n, final)
    if c == 0x2F:  # "</"
        if pos + 2 >= n and not final:
            return pos, MORE, -1, -1
        c2 = buf[pos + 2] if pos + 2 < n else 0
        if c2 == 0x3E:  # "</>" is dropped by the tokenizer
            return pos + 3, _ON, -1, -1
        if not 0x61 <= c2 | 0x20 <= 0x7A:  # not a letter in either case
            return _markup_decl(state, buf, pos, n, final)
    elif 0x61 <= c | 0x20 <= 0x7A:
        name_end = run_end(TAG_NAME, buf, pos + 1)
        name = buf[pos + 1 : name_end].lower()
        if name_end >= n and not final and len(name) < 5:
            return pos, MORE, -1, -1
        if name == b"html" or name == b"head" or name == b"body":
            rest = TAG_REST.match(buf, name_end)
            if rest is None:
                return pos, PYTHON, name_end, -1
            if not generic_rest(state.max_hold).match(buf, name_end):  # <body background=…>
                return pos, PYTHON, name_end, rest.end()
            return rest.end(), (_ON if name == b"html" else INJECT), -1, -1
    return pos, INJECT, -1, -1


def _safe_cut(buf: bytes, pos: int, n: int, max_hold: int) -> int:
    """How far a window without candidates can be passed on.

    What stays is a candidate that may be cut short at the end (at most TAIL
    bytes), and the tag that may yet turn out to hold it or a later one.
    """
    cut = _cut(buf, pos, n, n, max_hold)
    tail = buf.rfind(b"<", max(pos, n - TAIL))
    if 0 <= tail <= cut:
        cut = _cut(buf, pos, tail, n, max_hold)
    return cut


def _cut(buf: bytes, pos: int, at: int, n: int, max_hold: int) -> int:
    """Where to stop passing bytes on when a candidate may start at ``at``: there,
    or at the tag before it if that tag may contain it."""
    q = last_tag_start(buf, pos, at, n)
    if q < 0:
        return at
    end = tag_end(buf, q)
    holds = n - q <= max_hold if end < 0 else end > at and end - q <= max_hold
    return q if holds else at
