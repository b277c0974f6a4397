"""What is inside a tag: its attributes, the URLs in their values, and the
in-place renames that neutralise it.

:func:`parse_attrs` reads a lowercased copy of a tag; its offsets index the tag
as it is, which the renames then keep byte for byte around what they change.
"""

from __future__ import annotations

import re
from html import unescape
from typing import Final, NamedTuple
from urllib.parse import unquote

from .scan import ATTR_NAME, WS, WS_RUN, fill, run_end

# Groups: 1 the name; the value 2 double-quoted, 3 single-quoted, 4 unquoted, 5 empty.
_ATTR = re.compile(
    fill(
        rb"[\t\n\f\r /]*+(%(name)s)(?:%(ws)s*+=%(ws)s*+"
        rb"(?:\"([^\"]*+)\"|'([^']*+)'|([^\t\n\f\r >\"'][^\t\n\f\r >]*+)|(?=>)()))?",
        name=ATTR_NAME,
        ws=WS,
    )
)


#: "=" then a quoted value that the end of the visible prefix cuts short
_CUT_VALUE = re.compile(fill(rb"=%(ws)s*+(?:\"[^\"]*+|'[^']*+)\Z", ws=WS))


class Attr(NamedTuple):
    """One attribute of a tag; offsets index the bytes the tag was read from."""

    name: bytes  # lowercased
    start: int
    name_end: int
    value_start: int  # -1 without a value
    value_end: int
    #: the value runs past the visible prefix of an over-long tag
    cut: bool = False


def parse_attrs(low: bytes, start: int, end: int, *, complete: bool) -> list[Attr]:
    """Attributes of the tag whose name ends at ``start`` in ``low`` (lowercased).

    ``end`` is the tag's end (just past ``>``) when ``complete``; otherwise it is
    where the visible prefix of an over-long tag stops: an attribute whose name
    could still change past that point (cut, or bare and maybe yet followed by
    ``=value``) is left out, one whose value is cut comes last, marked ``cut``.
    """
    attrs: list[Attr] = []
    pos = start
    match = _ATTR.match
    while (m := match(low, pos, end)) is not None:
        group = m.lastindex or 1
        if group == 1:
            vs = ve = -1
        else:
            vs, ve = m.span(group)
        pos = m.end()
        if not complete:
            if group == 4 and pos >= end:
                attrs.append(Attr(low[m.start(1) : m.end(1)], m.start(1), m.end(1), vs, end, True))
                break
            if group == 1:
                after = run_end(WS_RUN, low, pos, end)
                if after < end and low[after] == 0x3D:  # "=": its value is cut off
                    cut = _CUT_VALUE.match(low, after, end)
                    if cut is not None:
                        vs = run_end(WS_RUN, low, after + 1, end) + 1
                        attrs.append(Attr(m[1], m.start(1), m.end(1), vs, end, True))
                    break
                if after >= end:
                    break
        attrs.append(Attr(low[m.start(1) : m.end(1)], m.start(1), m.end(1), vs, ve))
    return attrs


URL_ATTRS: Final = {
    b"script": (b"src", b"href", b"xlink:href"),
    b"img": (b"src", b"srcset"),
    b"image": (b"src", b"srcset", b"href", b"xlink:href"),
    b"iframe": (b"src",),
    b"link": (b"href", b"imagesrcset"),
    b"source": (b"src", b"srcset"),
    b"embed": (b"src",),
}
SRCSETS: Final = frozenset({b"srcset", b"imagesrcset"})
MOVED: Final = {a: b"data-consent-" + a.replace(b":", b"-") for a in URL_ATTRS[b"image"]}
MOVED[b"imagesrcset"] = b"data-consent-imagesrcset"
MARKS: Final = frozenset(MOVED.values())
CATEGORY: Final = b"data-consent-category"
# https://html.spec.whatwg.org/#javascript-mime-type
JS_TYPES: Final = frozenset(
    [
        "module",
        "application/ecmascript",
        "application/javascript",
        "application/x-ecmascript",
        "application/x-javascript",
        "text/ecmascript",
        "text/javascript",
        "text/jscript",
        "text/livescript",
        "text/x-ecmascript",
        "text/x-javascript",
    ]
    + [f"text/javascript1.{i}" for i in range(6)]
)


_SCHEME = re.compile(r"(https?):/*", re.IGNORECASE)
_C0_SPACE = "".join(chr(i) for i in range(0x21))


def absolute_url(raw: bytes) -> str | None:
    """An attribute value as the URL parser would see its host, or None if relative.

    Character references are decoded (the tokenizer does that), leading and
    trailing C0/space are stripped and TAB/LF/CR removed, "\\" counts as "/"
    (all as in the URL standard for http and https), and ``https:host``
    without slashes is read as a host — what it means from a page of the other
    scheme.
    """
    url = raw.decode("latin-1")
    if "&" in url:
        url = unescape(url)
    url = url.strip(_C0_SPACE).replace("\t", "").replace("\n", "").replace("\r", "")
    url = url.replace("\\", "/")
    if url.startswith("//"):
        scheme, rest = "https", url.lstrip("/")
    elif (m := _SCHEME.match(url)) is not None:
        scheme, rest = m.group(1).lower(), url[m.end() :]
    else:
        return None
    if "%" in rest:
        # The host parser percent-decodes: "%63onnect.facebook.net" is that host.
        authority, sep, tail = rest.partition("/")
        rest = unquote(authority) + sep + tail
    return scheme + "://" + rest


_SRCSET_GAP = re.compile(rb"[\t\n\f\r ,]*+")
_SRCSET_URL = re.compile(rb"[^\t\n\f\r ]*+")


def names_a_host(url: str) -> bool:
    """Whether the start of a URL cut short already holds its whole host."""
    rest = url.partition("://")[2]
    return any(c in rest for c in "/?#")


def srcset_urls(raw: bytes) -> list[bytes]:
    """The URLs of a ``srcset`` value (https://html.spec.whatwg.org/#parse-a-srcset-attribute)."""
    urls: list[bytes] = []
    pos, n = 0, len(raw)
    while True:
        pos = run_end(_SRCSET_GAP, raw, pos)
        if pos >= n:
            return urls
        end = run_end(_SRCSET_URL, raw, pos)
        url = raw[pos:end]
        pos = end
        if url.endswith(b","):
            urls.append(url.rstrip(b","))
            continue
        urls.append(url)
        # Descriptors run to the next comma outside parentheses.
        depth = 0
        while pos < n:
            c = raw[pos]
            if c == 0x28:
                depth += 1
            elif c == 0x29 and depth:
                depth -= 1
            elif c == 0x2C and not depth:
                break
            pos += 1


def text(raw: bytes) -> str:
    value = raw.decode("latin-1")
    return unescape(value) if "&" in value else value


def runs(type_: bytes | None, language: bytes | None) -> bool:
    """Whether a script with these attributes is classic or module JavaScript.

    https://html.spec.whatwg.org/#prepare-the-script-element: other types are
    data blocks the browser never runs.
    """
    if type_ is not None:
        kind = text(type_).strip(" \t\n\f\r").lower()
    elif language:
        kind = "text/" + text(language).lower()
    else:
        return True
    return not kind or kind in JS_TYPES


def neutralise(
    buf: bytes,
    s: int,
    name_end: int,
    end: int,
    attrs: list[Attr],
    name: bytes,
    category: str,
) -> bytes:
    added = b' type="text/plain"' if name == b"script" else b""
    if name == b"iframe":
        added = b' src="about:blank"'
    if all(a.name != CATEGORY for a in attrs):
        value = category.replace("&", "&amp;").replace('"', "&quot;")
        added += b' data-consent-category="' + value.encode("ascii", "xmlcharrefreplace") + b'"'
    moved = URL_ATTRS[name] + ((b"type",) if name == b"script" else ())
    pieces = [buf[s:name_end], added]
    pos = name_end
    for attr in attrs:
        if attr.name in moved:  # every duplicate, or the next one would take over
            pieces += (buf[pos : attr.start], MOVED.get(attr.name, b"data-consent-type"))
            pos = attr.name_end
    pieces.append(buf[pos:end])
    return b"".join(pieces)
