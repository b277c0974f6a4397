"""What is inside a tag: its attributes, the URLs in their values, and the
in-place renames that neutralise it.

:func:`parse_attrs` reads a lowercased copy of a tag; its offsets index the tag
as it is, which the renames then keep byte for byte around what they change.
"""

from __future__ import annotations

import re
from html import unescape
from html.entities import html5
from typing import Final, NamedTuple
from urllib.parse import unquote, urljoin

from .fetches import moved
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


CATEGORY: Final = b"data-consent-category"
#: the service a neutralised element belongs to, in a category chosen service by service
SERVICE: Final = b"data-consent-service"
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
_OTHER_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:")
_C0_SPACE = "".join(chr(i) for i in range(0x21))


def web_url(url: str, base: str | None = None) -> str | None:
    """A URL as the URL parser would see its host: None when it is relative (and
    there is no ``base``) or not http(s).

    Leading and trailing C0/space are stripped and TAB/LF/CR removed, "\\"
    counts as "/" (all as in the URL standard for http and https), and
    ``https:host`` without slashes is read as a host — what it means from a page
    of the other scheme. A relative URL is resolved against ``base``, the
    document's base URL, when it has one.
    """
    url = url.strip(_C0_SPACE).replace("\t", "").replace("\n", "").replace("\r", "")
    url = url.replace("\\", "/")
    if url.startswith("//"):
        scheme, rest = "https", url.lstrip("/")
    elif (m := _SCHEME.match(url)) is not None:
        scheme, rest = m.group(1).lower(), url[m.end() :]
    elif base is not None and not _OTHER_SCHEME.match(url):
        try:
            return urljoin(base, url)
        except ValueError:
            return None
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


_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")


def _charref(m: re.Match[str]) -> str:
    ref = m[1]
    if ref[0] == "#" or ref in html5:
        return unescape(m[0])
    for x in range(len(ref) - 1, 1, -1):
        if ref[:x] in html5:
            # In an attribute value, a reference without ";" followed by "=" or an
            # alphanumeric stays as it is (https://html.spec.whatwg.org/#named-character-reference-state).
            if ref[x] == "=" or (ref[x].isascii() and ref[x].isalnum()):
                return m[0]
            return html5[ref[:x]] + ref[x:]
    return m[0]


def text(raw: bytes) -> str:
    """An attribute value as the tokenizer gives it: character references decoded."""
    value = raw.decode("latin-1")
    return _CHARREF.sub(_charref, value) if "&" in value else value


def attribute_value(value: str) -> bytes:
    """``value`` written as a double-quoted attribute value that reads back as it."""
    escaped = value.replace("&", "&amp;").replace('"', "&quot;")
    return b'"' + escaped.encode("latin-1", "xmlcharrefreplace") + b'"'


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
    tag: bytes,
    name_end: int,
    attrs: list[Attr],
    name: bytes,
    categories: tuple[str, ...],
    renamed: frozenset[bytes],
    rewritten: dict[bytes, bytes],
) -> bytes:
    """``tag`` neutralised for ``categories`` (a category, or ``category/service``:
    ``data-consent-category`` then names the category and ``data-consent-service`` the
    service, when all of them name the same one): the attributes named in ``renamed``
    renamed ``data-consent-…`` (every copy: the parser keeps the first, and the
    next would take over), those in ``rewritten`` given their new value with the
    original kept beside them, and what makes it inert or re-activatable added
    right after its name. ``attrs`` index ``tag``."""
    added = [b' type="text/plain"'] if name == b"script" else []
    if name in (b"iframe", b"frame") and b"src" in renamed:
        added.append(b' src="about:blank"')
    if all(a.name != CATEGORY for a in attrs):
        names: dict[str, None] = {}
        services: set[str] = set()
        for label in categories:
            category, _, service = label.partition("/")
            names[category] = None
            services.add(service)
        added.append(b" " + CATEGORY + b"=" + attribute_value(" ".join(names)))
        # One service for all it fetches: the banner activates it when that service is
        # allowed. Several (or a fetch of no service): only its categories whole do.
        service = services.pop() if len(services) == 1 else ""
        if service and all(a.name != SERVICE for a in attrs):
            added.append(b" " + SERVICE + b"=" + attribute_value(service))
    stash: list[bytes] = []
    rest: list[bytes] = []
    done: set[bytes] = set()  # a value is rewritten in its first copy, the one read
    pos = name_end
    for attr in attrs:
        if attr.name in renamed:
            rest += (tag[pos : attr.start], moved(attr.name))
            pos = attr.name_end
        elif attr.name in rewritten and attr.name not in done and attr.value_start >= 0:
            done.add(attr.name)
            end = value_end(tag, attr)
            stash += (b" ", moved(attr.name), tag[attr.name_end : end])
            rest += (tag[pos : attr.name_end], b"=", rewritten[attr.name])
            pos = end
    return b"".join([tag[:name_end], *added, *stash, *rest, tag[pos:]])


def value_end(tag: bytes, attr: Attr) -> int:
    """Where an attribute with a value ends in ``tag``: past its closing quote."""
    quoted = attr.value_start > 0 and tag[attr.value_start - 1] in b"\"'"
    return attr.value_end + 1 if quoted and attr.value_end < len(tag) else attr.value_end
