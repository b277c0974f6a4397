"""Byte-level pieces of the HTML tokenizer that :mod:`consent_mw.html.rewrite` needs,
and the state its pass-through steps (:func:`consent_mw.html.native.skim`) move on.

The patterns here search the bytes of a window of the document as they are, in
any case, unless they say otherwise (markup is ASCII, so any ASCII-compatible
encoding works), and follow the WHATWG tokenizer
(https://html.spec.whatwg.org/#tokenization) for the states they model: tag and
attribute states, comments, bogus comments, RAWTEXT/RCDATA end tags, and the
script data escape states. What is inside a tag (attributes, URLs) is
:mod:`consent_mw.html.attrs`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Final

from .fetches import GENERIC_TRIGGERS, SPECIFIC


def fill(template: bytes, **parts: bytes) -> bytes:
    """``template`` with each ``%(name)s`` replaced by a regex piece."""
    return template % {key.encode(): value for key, value in parts.items()}


# The tokenizer's whitespace is TAB LF FF SPACE; CR is included because input
# preprocessing turns it into LF before the tokenizer sees it.
WS = rb"[\t\n\f\r ]"
#: what ends a tag name (tag name state: whitespace, "/" or ">")
TAG_NAME_END = rb"(?=[\t\n\f\r />])"
_T = rb"[\t\n\f\r />]"

# Attribute states: a name runs to whitespace, "/", "=" or ">"; its first byte
# may be "=" (before attribute name state, unexpected-equals-sign parse error).
ATTR_NAME = rb"[^\t\n\f\r />][^\t\n\f\r /=>]*+"
# Before attribute value state: a quote starts a quoted value, ">" ends the tag
# with an empty value (missing-attribute-value), anything else is unquoted.
_VALUE = rb"\"[^\"]*+\"|'[^']*+'|[^\t\n\f\r >\"'][^\t\n\f\r >]*+|(?=>)"
# An attribute whose name is followed by "=" must have its value, or the match
# would wrongly fall back to a bare name and read the "=" as the next name.
_ATTRIBUTE = rb"%(name)s(?:%(ws)s*+=%(ws)s*+(?:%(value)s)|(?!%(ws)s*+=))"
_TAG_REST = rb"(?:[\t\n\f\r /]++|%(attribute)s)*+>"
#: the rest of a start or end tag after its name, up to and including ">"
TAG_REST = re.compile(
    fill(_TAG_REST, attribute=fill(_ATTRIBUTE, name=ATTR_NAME, ws=WS, value=_VALUE))
)

# The same grammar for a tag that holds nothing a tracker check could need: no
# attribute named data-consent-*, and no value that could name another host. An
# absolute URL has a ":" ("https:host" reaches a host too), or starts with "//"
# (after the C0/space the URL parser strips, with TAB/LF it removes between); a
# "\" counts as "/" and a character reference ("&") can spell any of these.
# Every run is bounded so that such a tag is never longer than max_hold: the
# rewriter can then always hold one a window cuts short and read it whole, as
# it would in one piece (a longer tag is looked at like any candidate).
_NO_HOST = rb"(?![\x00-\x20]*+/[\t\n\r]*+/)"
_PLAIN_SIMPLE = (
    rb"(?:[\t\n\f\r ]{1,%(ws)d}+(?!%(mark)s)%(letter)s%(letters)s{0,%(name)d}+"
    rb"=\"%(no)s[^\"\\&:]{0,%(value)d}+\"){0,%(count)d}+[\t\n\f\r /]{0,%(ws)d}+>"
)
_PLAIN_FULL = (
    rb"[\t\n\f\r /]{0,%(ws)d}+(?:"
    rb"(?!%(mark)s)[^\t\n\f\r />][^\t\n\f\r /=>]{0,%(name)d}+(?![^\t\n\f\r /=>])"
    rb"(?:[\t\n\f\r ]{0,%(ws)d}+=[\t\n\f\r ]{0,%(ws)d}+(?:"
    rb"\"%(no)s[^\"\\&:]{0,%(value)d}+\"|'%(no)s[^'\\&:]{0,%(value)d}+'"
    rb"|%(no)s[^\t\n\f\r >\"'\\&:][^\t\n\f\r >\\&:]{0,%(value)d}+(?=[\t\n\f\r >])|(?=>))"
    rb"|(?![\t\n\f\r ]*+=))"
    rb"[\t\n\f\r /]{0,%(ws)d}+){0,%(count)d}+>"
)


def plain_bounds(max_hold: int) -> tuple[int, int, int, int]:
    """``(ws, name, value, count)``: how long a whitespace run, an attribute name and
    value may be, and how many attributes, in a tag plain_tag_rest skips: together
    never more than ``max_hold // 2`` bytes."""
    budget = max_hold // 2
    count = max(1, min(64, budget // 64))
    per = budget // count  # one attribute: separators, name, "=", quotes, value
    ws = max(1, min(64, per // 8))
    name = max(1, min(256, per // 4))
    return ws, name, max(0, per - 3 * ws - name - 4), count


# The same for any other tag (see fetches.GENERIC_TRIGGERS): an attribute that is
# no trigger may hold anything; background, ping and manifest must not name a
# host; style must not hold what could open a url() or image-set() ("url(" or
# "set(" in any case, an escape or a character reference); http-equiv may not be.
_GENERIC_FULL = (
    rb"[\t\n\f\r /]{0,%(ws)d}+(?:(?:"
    rb"(?!%(mark)s|%(triggers)s)[^\t\n\f\r />][^\t\n\f\r /=>]{0,%(name)d}+(?![^\t\n\f\r /=>])"
    rb"(?:[\t\n\f\r ]{0,%(ws)d}+=[\t\n\f\r ]{0,%(ws)d}+(?:"
    rb"\"[^\"]{0,%(value)d}+\"|'[^']{0,%(value)d}+'"
    rb"|[^\t\n\f\r >\"'][^\t\n\f\r >]{0,%(value)d}+(?=[\t\n\f\r >])|(?=>))"
    rb"|(?![\t\n\f\r ]*+=))"
    rb"|(?i:background|ping|manifest)(?![^\t\n\f\r /=>])"
    rb"(?:[\t\n\f\r ]{0,%(ws)d}+=[\t\n\f\r ]{0,%(ws)d}+(?:"
    rb"\"%(no)s[^\"\\&:]{0,%(value)d}+\"|'%(no)s[^'\\&:]{0,%(value)d}+'"
    rb"|%(no)s[^\t\n\f\r >\"'\\&:][^\t\n\f\r >\\&:]{0,%(value)d}+(?=[\t\n\f\r >])|(?=>))"
    rb"|(?![\t\n\f\r ]*+=))"
    rb"|(?i:style)(?![^\t\n\f\r /=>])"
    rb"(?:[\t\n\f\r ]{0,%(ws)d}+=[\t\n\f\r ]{0,%(ws)d}+(?:"
    rb"\"(?:[^\"\\&(]|%(paren)s){0,%(value)d}+\"|'(?:[^'\\&(]|%(paren)s){0,%(value)d}+'"
    rb"|(?:[^\t\n\f\r >\"'\\&(]|%(paren)s)(?:[^\t\n\f\r >\\&(]|%(paren)s){0,%(value)d}+"
    rb"(?=[\t\n\f\r >])|(?=>))"
    rb"|(?![\t\n\f\r ]*+=))"
    rb")[\t\n\f\r /]{0,%(ws)d}+){0,%(count)d}+>"
)
#: a "(" that does not open url( or (-webkit-)image-set( (escapes are refused apart)
_PAREN = rb"(?<![uU][rR][lL])(?<![sS][eE][tT])\("
#: the trigger names, each as a whole attribute name
_TRIGGERS = rb"(?i:%s)(?![^\t\n\f\r /=>])" % b"|".join(GENERIC_TRIGGERS)


def _bounds(max_hold: int, anycase: bool) -> dict[bytes, bytes | int]:
    ws, name, value, count = plain_bounds(max_hold)
    return {
        b"ws": ws,
        b"name": name,
        b"value": value,
        b"count": count,
        b"no": _NO_HOST,
        b"mark": b"(?i:data-consent-)" if anycase else b"data-consent-",
        b"letter": b"[a-zA-Z]" if anycase else b"[a-z]",
        b"letters": b"[a-zA-Z-]" if anycase else b"[a-z-]",
        b"triggers": _TRIGGERS,
        b"paren": _PAREN,
    }


@functools.cache
def plain_tag_rest(max_hold: int, anycase: bool = False) -> bytes:
    """The rest of an <img>/<link>/… tag (after its name) that cannot name a host,
    matching only tags no longer than ``max_hold``: the simple form first (the
    common case, cheaper), then the full grammar. On lowercased bytes, or with
    ``anycase`` on bytes in any case (the same tags)."""
    bounds = _bounds(max_hold, anycase)
    return _PLAIN_SIMPLE % bounds + b"|" + _PLAIN_FULL % bounds


@functools.cache
def generic_tag_rest(max_hold: int, anycase: bool = False) -> bytes:
    """The rest of any other tag that holds no trigger (see :data:`_GENERIC_FULL`),
    no longer than ``max_hold``; in the same cases as :func:`plain_tag_rest`."""
    return _GENERIC_FULL % _bounds(max_hold, anycase)


WS_RUN = re.compile(WS + rb"*+")
TAG_NAME = re.compile(rb"[^\t\n\f\r />]*+")
#: TAG_NAME then TAG_REST, in one match
_NAMED_TAG_REST = re.compile(TAG_NAME.pattern + rb"(?:" + TAG_REST.pattern + rb")")


def run_end(run: re.Pattern[bytes], data: bytes, pos: int, end: int | None = None) -> int:
    """Where a run pattern (one that also matches nothing) starting at ``pos`` stops."""
    m = run.match(data, pos) if end is None else run.match(data, pos, end)
    return pos if m is None else m.end()


# A resumable walk over a tag, for tags too long to hold: one state per
# attribute state of the tokenizer that matters for finding the closing ">".
# "Self-closing start tag" and "after attribute value (quoted)" behave like
# "before attribute name" here, so they share it.
S_TAG_NAME, S_BEFORE_NAME, S_NAME, S_AFTER_NAME, S_BEFORE_VALUE, S_DQ, S_SQ, S_UNQUOTED = range(8)
S_DONE = -1
_RUNS = (
    TAG_NAME,
    re.compile(rb"[\t\n\f\r /]*+"),
    re.compile(rb"[^\t\n\f\r /=>]*+"),
    WS_RUN,
    WS_RUN,
    re.compile(rb'[^"]*+'),
    re.compile(rb"[^']*+"),
    re.compile(rb"[^\t\n\f\r >]*+"),
)
_GT, _SLASH, _EQ, _DQ, _SQ = 0x3E, 0x2F, 0x3D, 0x22, 0x27


def walk_tag(buf: bytes, pos: int, end: int, state: int) -> tuple[int, int]:
    """Advance through a tag from ``state``; ``(position, state)``.

    Returns ``S_DONE`` with the position just past ``>`` when the tag ends
    before ``end``, otherwise ``end`` and the state to resume from.
    """
    while True:
        pos = run_end(_RUNS[state], buf, pos, end)
        if pos >= end:
            return end, state
        c = buf[pos]
        pos += 1
        if c == _GT and state not in (S_DQ, S_SQ):
            return pos, S_DONE
        if state in (S_TAG_NAME, S_UNQUOTED, S_DQ, S_SQ):
            state = S_BEFORE_NAME
        elif state == S_BEFORE_NAME:
            state = S_NAME
        elif state == S_BEFORE_VALUE:
            state = S_DQ if c == _DQ else S_SQ if c == _SQ else S_UNQUOTED
        elif c == _EQ:
            state = S_BEFORE_VALUE
        elif c == _SLASH:
            state = S_BEFORE_NAME
        elif state == S_NAME:
            state = S_AFTER_NAME
        else:  # after attribute name: anything else starts the next attribute
            state = S_NAME


# Script data (https://html.spec.whatwg.org/#script-data-state): "<!--" enters
# the escaped state, "<script" inside it the double-escaped state where
# "</script" only steps back out; "-->" always returns to plain script data.
# Inside <noscript>, its end tag ends the script too (see consent_mw.html.rewrite).
# Each "<" stands outside the named groups (only whole-match offsets are used), so
# that every alternative starts with a literal: the search then skips ahead to the
# next "<" instead of trying the whole pattern at every byte of a script body.
# Only the names are case-insensitive: the rest has no letters.
SCRIPT_DATA, SCRIPT_ESCAPED, SCRIPT_DOUBLE = range(3)
_NOSCRIPT_END = fill(rb"<(?P<ns>/(?i:noscript)(?=%(t)s))", t=_T)
_SCRIPT_EVENTS = (
    rb"<(?P<end>/(?i:script)(?=%(t)s))|<(?P<esc>!--)",
    rb"<(?P<end>/(?i:script)(?=%(t)s))|<(?P<dbl>(?i:script)%(t)s)|(?P<out>-->)",
    rb"<(?P<un>/(?i:script)%(t)s)|(?P<out>-->)",
)
#: by [inside noscript][script data state]: what changes the state, or ends the script
SCRIPT_PATTERNS = tuple(
    tuple(re.compile(fill(p, t=_T) + extra) for p in _SCRIPT_EVENTS)
    for extra in (b"", b"|" + _NOSCRIPT_END)
)


@functools.cache
def end_pattern(kind: bytes, noscript: bool) -> re.Pattern[bytes] | None:
    """What ends a comment (``!--``), a bogus comment (``!``), a RAWTEXT/RCDATA
    element (its lowercase name), or PLAINTEXT (``b""``: nothing, bar ``</noscript>``)."""
    if kind == b"!--":
        ends = [rb"--!?>"]  # comment end state: "-->", or "--!>" (incorrectly-closed)
    elif kind == b"!":
        ends = [rb">"]
    elif kind:
        # RCDATA/RAWTEXT end tag open: an appropriate end tag needs whitespace, "/" or ">".
        ends = [fill(rb"</(?i:%(name)s)(?=%(t)s)", name=kind, t=_T)]
    else:
        ends = []
    if noscript:
        ends.append(_NOSCRIPT_END)
    return re.compile(b"|".join(ends)) if ends else None


# -- finding the elements that matter ------------------------------------------

# A one-byte gate first: an end tag, or "<" followed by text, is dropped after a
# single comparison. A tag whose attributes could not make the browser fetch from
# another host is skipped here too (plain_tag_rest, generic_tag_rest), without
# Python; under a base URL on a tracker's host (``based``) no tag is.
_CANDIDATE_BODY = (
    rb"(?P<t>%(t)s)%(end)s|(?P<u>%(u)s)%(end)s%(plain)s"
    rb"|(?P<g>(?!(?:%(t)s|%(u)s)%(end)s)[a-zA-Z][^\t\n\f\r />]*+)%(generic)s|[!?]"
)
_T_NAMES = rb"s(?:cript|tyle)|iframe|t(?:extarea|itle)|xmp|no(?:embed|frames|script)|plaintext|base"
_U_NAMES = b"|".join(sorted(SPECIFIC))


@functools.cache
def candidates(
    max_hold: int, anycase: bool = False, based: bool = False
) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """Where something the rewriter acts on may start; the second one also finds
    ``</noscript>`` (for inside a <noscript>).

    With ``anycase`` (as the rewriter searches) they search the bytes as they
    are; without it, lowercased bytes, finding the same matches (the tests
    compare the two). Only the names and the ``data-consent-`` prefix are
    case-insensitive; the runs over attribute values have no letters.
    """
    ci: Callable[[bytes], bytes] = (lambda p: b"(?i:" + p + b")") if anycase else (lambda p: p)
    body = fill(
        _CANDIDATE_BODY,
        t=ci(_T_NAMES),
        u=ci(_U_NAMES),
        end=TAG_NAME_END,
        plain=b"" if based else b"(?!" + plain_tag_rest(max_hold, anycase) + b")",
        generic=b"" if based else b"(?!" + generic_tag_rest(max_hold, anycase) + b")",
    )
    first = b"[a-zA-Z!?" if anycase else b"[a-z!?"
    return (
        re.compile(rb"<(?=" + first + rb"])(?:" + body + rb")"),
        re.compile(
            fill(
                rb"<(?=%(first)s/])(?:%(b)s|/(?P<e>%(ns)s)%(end)s)",
                first=first,
                b=body,
                ns=ci(b"noscript"),
                end=TAG_NAME_END,
            )
        ),
    )


#: start tags the candidate search finds and the rewriter only follows to their end
#: (the tokenizer state after them changes: see rewrite._after_tag)
FOLLOWED: Final = frozenset(
    {b"textarea", b"title", b"xmp", b"noembed", b"noframes", b"noscript", b"plaintext"}
)
# Tree construction switches the tokenizer to RAWTEXT/RCDATA after these.
RAW: Final = frozenset(
    {b"style", b"xmp", b"iframe", b"noembed", b"noframes", b"textarea", b"title"}
)


def last_tag_start(buf: bytes, pos: int, before: int, n: int) -> int:
    """The last ``<`` in ``buf[pos:before]`` that starts a tag, or -1.

    ``</`` followed by neither a letter nor ``>`` counts: a bogus comment up to
    the next ``>`` (end tag open state), which the candidate patterns leave to
    this walk.
    """
    q = before
    for _ in range(32):
        q = buf.rfind(b"<", pos, q)
        if q < 0:
            return -1
        c = buf[q + 1] if q + 1 < n else 0
        # c | 0x20: a letter in either case
        if 0x61 <= c | 0x20 <= 0x7A or (c == 0x2F and q + 2 < n and buf[q + 2] != 0x3E):
            return q
    return -1


def tag_end(buf: bytes, q: int) -> int:
    """Where the tag or bogus comment at ``q`` ends, or -1 if not in ``buf``."""
    if buf[q + 1] == 0x2F:
        if not 0x61 <= buf[q + 2] | 0x20 <= 0x7A:
            end = buf.find(b">", q + 2)
            return end + 1 if end >= 0 else -1
        name_at = q + 2
    else:
        name_at = q + 1
    rest = _NAMED_TAG_REST.match(buf, name_at)
    return -1 if rest is None else rest.end()


# -- the state the pass-through steps move on --------------------------------------

#: the rewriter's modes: the tokenizer state a step starts in (data, a comment or
#: raw-text element, script data, the rest of a tag too long to hold)
DATA, UNTIL, SCRIPT, TAG = range(4)
#: how skim() stopped: the window is done (what follows waits for the next one);
#: the next step is the rewriter's (a tag to judge, a held body's end, a tag in
#: TAG mode); the injection goes here
MORE, PYTHON, INJECT = 1, 2, 3
#: bytes kept back at a window's end so that an end marker cut in two is found next time
TAIL: Final = 16


class ScanState:
    """What :func:`consent_mw.html.native.skim` reads, and moves on as it steps."""

    __slots__ = (
        "based",
        "held",
        "injected",
        "max_hold",
        "mode",
        "noscript",
        "script_state",
        "until_kind",
    )

    def __init__(self, max_hold: int, *, injected: bool) -> None:
        self.mode = DATA
        #: inside <noscript>: its end tag ends a comment or raw text opened there
        self.noscript = False
        self.script_state = SCRIPT_DATA
        #: what ends the comment, bogus comment or raw-text element in UNTIL mode
        #: (``!--``, ``!``, a lowercase element name, or ``b""`` for PLAINTEXT)
        self.until_kind = b""
        #: an inline script or a <style> held back until its end: its start tag,
        #: then its body (read only: skim stops at the end of what it holds)
        self.held: list[bytes] | None = None
        #: the injection is done (read only: until then skim stops where it goes)
        self.injected = injected
        self.max_hold = max_hold
        #: the document's base URL is on a tracker's host: every start tag is a
        #: candidate (read by the pure-Python steps only, which the rewriter then uses)
        self.based = False
