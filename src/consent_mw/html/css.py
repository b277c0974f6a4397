"""Where CSS makes a browser fetch: the URLs of a style sheet or a ``style`` attribute.

CSS is read the way the tokenizer of CSS Syntax Level 3 reads it
(https://www.w3.org/TR/css-syntax-3/#tokenization), as far as URLs go: comments and
strings are taken whole, so a URL in a comment or in ``content: "…"`` is none; a
name is read with its escapes decoded (``u\\72l(`` is ``url(``). A URL is

* the value of a url token, ``url(x)``, or the string of ``url("x")``;
* a string given straight to ``image-set()`` or ``-webkit-image-set()``
  (https://drafts.csswg.org/css-images-4/#image-set-notation), not one inside a
  nested function such as ``type("image/avif")``;
* the string after ``@import``.

:func:`css_urls` gives each with the span of its text; :func:`blank` turns spans
into the empty URL, which resolves to an invalid resource and fetches nothing
(https://drafts.csswg.org/css-values-4/#url-empty), while the declaration around
it stays valid, so the rest of the rule still applies.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

__all__ = ["CSSURL", "blank", "css_urls", "may_fetch"]

#: nothing can fetch without one of these (escapes may spell the names)
_GATE: Final = re.compile(r"(?i:url|image-set|@import)|\\")
# What the scan stops at: a comment, a string, a name that may matter (any name
# holding an escape, since escapes can spell one), a "(" or ")" (counted only
# inside image-set()). A string may not hold a raw newline (bad-string token);
# CR and FF are newlines too (input preprocessing).
_STRING = r"(?P<q>[\"'])(?P<s>(?:(?!(?P=q))[^\\\n\r\f]|\\[\s\S])*+)(?P<end>(?P=q))?"
_ESC = r"\\(?:[0-9a-fA-F]{1,6}[ \t\n\r\f]?|[^\n\r\f0-9a-fA-F])"
_NAME_CHAR = rf"(?:[-\w\u0080-\U0010ffff]|{_ESC})"
_NAME = (
    rf"(?P<at>@)?(?P<name>(?<![-\w\\]){_NAME_CHAR}*?"
    rf"(?:{_ESC}|(?i:url|image-set|import)){_NAME_CHAR}*+)"
)
_SCAN: Final = re.compile(rf"/\*[\s\S]*?(?:\*/|\Z)|{_STRING}|{_NAME}|(?P<open>\()|(?P<close>\))")
_ONE_STRING: Final = re.compile(_STRING)
_ESCAPE: Final = re.compile(r"\\(?:([0-9a-fA-F]{1,6})[ \t\n\r\f]?|(\r\n|[\n\r\f])|([\s\S]))")
_WS: Final = re.compile(r"[ \t\n\r\f]*+")
#: an unquoted url token: up to ")" (escapes taken whole); anything else is a
#: bad url token, which fetches nothing
_URL_TOKEN: Final = re.compile(
    rf"((?:[^)\\\"'( \t\n\r\f\x00-\x08\x0b\x0e-\x1f\x7f]|{_ESC})*+)[ \t\n\r\f]*+\)"
)


class CSSURL(NamedTuple):
    """A URL in CSS: ``css[start:end]`` is its text (a string with its quotes, or
    what is inside ``url(…)``); ``url`` is its value, escapes decoded."""

    start: int
    end: int
    url: str


def may_fetch(css: str) -> bool:
    """Whether ``css`` could hold a URL at all (a cheap test before :func:`css_urls`)."""
    return _GATE.search(css) is not None


def css_urls(css: str) -> list[CSSURL]:
    """Every URL the sheet (or declaration list) ``css`` fetches, in order."""
    found: list[CSSURL] = []
    if not may_fetch(css):
        return found
    pos, n = 0, len(css)
    depth = 0  # inside image-set(): the depth of parentheses, 1 being its own
    after_import = False
    while pos < n and (m := _SCAN.search(css, pos)) is not None:
        pos = m.end()
        kind = m.lastgroup
        was_import, after_import = after_import, False
        if kind in ("s", "end"):  # a string: a URL given to @import or image-set()
            if (depth == 1 or was_import) and m["end"] is not None:
                found.append(CSSURL(m.start(), m.end(), unescape(m["s"])))
        elif kind == "open":
            depth += depth > 0
        elif kind == "close":
            depth -= depth > 0
        elif kind == "name":
            name = unescape(m["name"]).lower()
            if m["at"]:
                after_import = name == "import"
                pos = _skip_space(css, pos)
            elif css.startswith("(", pos):
                pos += 1
                if name == "url":
                    pos, still_open = _url(css, pos, found)
                    depth += still_open and depth > 0
                elif depth:
                    depth += 1
                elif name in ("image-set", "-webkit-image-set"):
                    depth = 1
    return found


def _skip_space(css: str, pos: int) -> int:
    """Past whitespace and comments (between ``@import`` and its URL)."""
    while True:
        pos = _WS.match(css, pos).end()  # type: ignore[union-attr]  # always matches
        if not css.startswith("/*", pos):
            return pos
        close = css.find("*/", pos + 2)
        pos = len(css) if close < 0 else close + 2


def _url(css: str, pos: int, found: list[CSSURL]) -> tuple[int, bool]:
    """After ``url(``: its URL, a string or a url token, into ``found``; where the
    scan goes on, and whether that is still inside the parentheses."""
    start = _WS.match(css, pos).end()  # type: ignore[union-attr]  # always matches
    string = _ONE_STRING.match(css, start)
    if string is not None:
        if string["end"] is not None:
            found.append(CSSURL(start, string.end(), unescape(string["s"])))
        return string.end(), True
    token = _URL_TOKEN.match(css, start)
    if token is None:
        return start, True  # a bad url token fetches nothing
    if token[1]:
        found.append(CSSURL(start, token.end(1), unescape(token[1])))
    return token.end(), False


def _decode(m: re.Match[str]) -> str:
    hex_, newline, char = m.groups()
    if newline is not None:
        return ""  # an escaped newline continues a string
    if char is not None:
        return char
    code = int(hex_, 16)
    return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"


def unescape(text: str) -> str:
    """``text`` with CSS escapes decoded."""
    return _ESCAPE.sub(_decode, text) if "\\" in text else text


def blank(css: str, urls: list[CSSURL]) -> str:
    """``css`` with each of ``urls`` made the empty URL (``""`` for a string)."""
    pieces: list[str] = []
    pos = 0
    for url in urls:
        pieces.append(css[pos : url.start])
        pieces.append('""' if css[url.start] in "\"'" else "")
        pos = url.end
    pieces.append(css[pos:])
    return "".join(pieces)
