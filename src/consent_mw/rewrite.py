"""Streaming HTML rewriter: neutralise tracker tags before the browser sees them.

The rewriter works on bytes (any ASCII-compatible encoding: UTF-8, EUC-KR,
Latin-1), chunk by chunk, holding at most ``max_hold`` bytes: an unfinished
tag, or an inline script being classified. Its output does not depend on how
the input was chunked. It is not a full HTML tokenizer: it finds the few start
tags that can make a browser contact another host (``script``, ``img``,
``iframe``, ``link``, ``source``, ``embed``) and the constructs whose content
is not markup (comments, ``<!…>``/``<?…>``, and the raw-text and RCDATA
elements ``script``, ``style``, ``textarea``, ``title``, ``xmp``, ``noembed``,
``noframes``; HTML spec 13.2.5), and copies everything else untouched.

A neutralised element keeps its other attributes, their quoting and case:

- ``<script src=…>`` → ``<script type="text/plain" data-consent-category="…"
  data-consent-src="…">`` (an original ``type`` moves to ``data-consent-type``);
- an inline tracker script → ``type="text/plain"`` + ``data-consent-category``;
- ``img``/``source``/``embed``/``iframe`` → ``src`` and ``srcset`` renamed to
  ``data-consent-src``/``data-consent-srcset`` (an iframe gets ``about:blank``);
- ``link`` → ``href`` renamed to ``data-consent-href``.

The banner re-activates them once their category is allowed. ``<noscript>``
content is scanned as markup: it is what a browser without JavaScript renders.
"""

from __future__ import annotations

import re
from html import unescape

from .trackers import Matcher

__all__ = ["HTMLRewriter", "rewrite_html"]

# Where something interesting may start: comments and other markup declarations,
# and the start tags that matter (HTML tag names are ASCII case-insensitive).
# Matched on lowercased bytes. Branching on two letters first is measurably faster
# than the plain alternation: most '<' are rejected after one comparison.
_INTERESTING = re.compile(
    rb"<(?:!|\?|(?:s(?:cript|tyle)|he(?:ad)|bo(?:dy)|t(?:itle|extarea)|xmp"
    rb"|no(?:embed|frames)|plaintext)(?=[\t\n\f\r />]|\Z))"
)
_TAG_NAME = re.compile(rb"[a-z][a-z0-9]*(?=[\t\n\f\r />]|\Z)")
# One attribute inside a start tag (spec 13.2.5.32-13.2.5.39, simplified: the
# name runs to whitespace, '/', '>' or '='; values quoted or not).
_ATTRIBUTE = re.compile(
    rb"""[\t\n\f\r /]*([^\t\n\f\r />][^\t\n\f\r />=]*)"""
    rb"""(?:[\t\n\f\r ]*=[\t\n\f\r ]*(?:"([^"]*)"|'([^']*)'|([^\t\n\f\r >]*)))?"""
)
_RAW_TEXT = frozenset({b"script", b"style", b"textarea", b"title", b"xmp", b"noembed", b"noframes"})
_URL_ATTRIBUTES = {
    b"script": (b"src",),
    b"img": (b"src", b"srcset"),
    b"source": (b"src", b"srcset"),
    b"embed": (b"src",),
    b"iframe": (b"src",),
    b"link": (b"href",),
}
_JS_TYPES = frozenset(
    {
        b"",
        b"module",
        b"text/javascript",
        b"application/javascript",
        b"application/ecmascript",
        b"text/ecmascript",
        b"application/x-javascript",
        b"text/jscript",
    }
)
_END_TAGS = {
    name: re.compile(rb"</" + name + rb"[\t\n\f\r />]", re.IGNORECASE)
    for name in (*_RAW_TEXT, b"noscript")
}


class _Tag:
    """A parsed start tag: name, attributes with their byte spans, and the raw bytes."""

    __slots__ = ("attributes", "end", "name", "raw")

    def __init__(
        self, raw: bytes, name: bytes, attributes: list[tuple[bytes, bytes | None, int, int, int]]
    ) -> None:
        self.raw = raw
        self.name = name
        #: (lowercased name, value or None, attr start, attr end, name end)
        self.attributes = attributes

    def get(self, name: bytes) -> bytes | None:
        # Duplicate attributes: the first one wins (spec 13.2.5.33).
        for key, value, *_ in self.attributes:
            if key == name:
                return value if value is not None else b""
        return None


# A whole start tag in one match (name, attributes, '>'). Possessive quantifiers
# (Python 3.11+) keep it linear: an unfinished tag fails at once, no backtracking.
_START_TAG = re.compile(
    rb"<([^\t\n\f\r />]*+)"
    rb"""(?:[\t\n\f\r /]*+[^\t\n\f\r />][^\t\n\f\r />=]*+"""
    rb"""(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+(?:"[^"]*+"|'[^']*+'|[^\t\n\f\r >]*+))?+)*+"""
    rb"[\t\n\f\r /]*+>"
)


def _parse_tag(data: bytes, start: int) -> tuple[_Tag, int] | None:
    """Parse the start tag at ``data[start]`` ('<'); None when it is not complete."""
    whole = _START_TAG.match(data, start)
    if whole is None:
        return None
    stop = whole.end()
    raw = data[start:stop]
    pos = whole.end(1) - start
    name = whole.group(1).lower()
    attributes: list[tuple[bytes, bytes | None, int, int, int]] = []
    for match in _ATTRIBUTE.finditer(raw, pos, len(raw) - 1):
        if match.end() == match.start():
            break
        value = match.group(2)
        if value is None:
            value = match.group(3)
        if value is None:
            value = match.group(4)
        attributes.append(
            (match.group(1).lower(), value, match.start(1), match.end(), match.end(1))
        )
    return _Tag(raw, name, attributes), stop


class HTMLRewriter:
    """Rewrite an HTML document as it streams::

    rewriter = HTMLRewriter(matcher, frozenset({"necessary"}), inject=b"<script …>")
    for chunk in body:
        send(rewriter.feed(chunk))
    send(rewriter.close())
    """

    def __init__(
        self,
        matcher: Matcher,
        allowed: frozenset[str],
        *,
        inject: bytes = b"",
        max_hold: int = 256 * 1024,
    ) -> None:
        self.matcher = matcher
        self.allowed = allowed | {"necessary"}
        self.max_hold = max_hold
        self._inject = inject
        self._buffer = b""
        #: None in markup; else the raw-text element whose end tag is awaited, or a
        #: comment/declaration terminator
        self._mode: bytes | None = None
        self._script: _Tag | None = None
        self._closed = False
        self.blocked = 0
        self.blocked_categories: dict[str, int] = {}

    # -- the public face ---------------------------------------------------------

    def feed(self, chunk: bytes) -> bytes:
        if self._closed:
            raise ValueError("feed() after close()")
        data = self._buffer + chunk if self._buffer else chunk
        out: list[bytes] = []
        self._buffer = data[self._process(data, out, final=False) :]
        return b"".join(out)

    def close(self) -> bytes:
        out: list[bytes] = []
        data = self._buffer
        consumed = self._process(data, out, final=True)
        rest = data[consumed:]
        if self._script is not None:
            out.append(self._finish_script(rest))
            rest = b""
        out.append(rest)
        self._buffer = b""
        if self._inject:
            out.append(self._take_inject())
        self._closed = True
        return b"".join(out)

    # -- scanning ------------------------------------------------------------------

    def _take_inject(self) -> bytes:
        inject, self._inject = self._inject, b""
        return inject

    def _process(self, data: bytes, out: list[bytes], *, final: bool) -> int:
        """Emit what can be decided; return how many bytes of ``data`` were used."""
        pos = 0
        size = len(data)
        lowered = data.lower()
        slashes = marked = start = -1
        match = None
        while pos < size:
            if self._mode is not None:
                pos = self._in_raw(data, pos, out, final)
                if self._mode is not None:
                    return pos
                continue
            if start < pos:
                match = _INTERESTING.search(lowered, pos)
                start = match.start() if match else size
            # Elements that load a URL are not stopped at one by one: only where a
            # URL with a host ("//") or an author's data-consent mark appears.
            if 0 <= slashes < pos or slashes == -1:
                slashes = data.find(b"//", pos)
                if slashes < 0:
                    slashes = size
            if 0 <= marked < pos or marked == -1:
                marked = lowered.find(b"data-consent", pos)
                if marked < 0:
                    marked = size
            suspect = min(slashes, marked)
            if suspect < start:
                tag_start, tag_end = _enclosing_tag(data, lowered, pos, suspect)
                if tag_start == _UNFINISHED:
                    # A tag cut by the chunking: hold it (at the very end, keep it as is).
                    out.append(data[pos:tag_end])
                    if not final:
                        return tag_end
                    out.append(data[tag_end:])
                    return size
                if tag_start < 0:
                    # In text, or inside a tag that loads nothing: copy past it.
                    out.append(data[pos:tag_end])
                    pos = tag_end
                    continue
                out.append(data[pos:tag_start])
                end = self._start_tag(data, tag_start, out, final)
                if end is None:
                    return tag_start
                pos = end
                continue
            if match is None:
                # A tag may be unfinished at the end of this chunk: keep it for next time.
                keep = 0 if final else _unfinished_tail(data, pos, self.max_hold)
                out.append(data[pos : size - keep])
                return size - keep
            if start > pos:
                out.append(data[pos:start])
            if data[start + 1 : start + 2] in (b"!", b"?"):
                end = self._declaration(data, start, out, final)
            else:
                end = self._start_tag(data, start, out, final)
            if end is None:
                return start
            pos = end
        return pos

    def _declaration(self, data: bytes, start: int, out: list[bytes], final: bool) -> int | None:
        if len(data) - start < 6 and not final:
            return None  # "<!--", "<!-->" or "<!--->" cannot be told apart yet
        if data.startswith(b"<!--", start):
            # "<!-->" and "<!--->" are whole (empty) comments (spec 13.2.5.43-44).
            for empty in (b"<!-->", b"<!--->"):
                if data.startswith(empty, start):
                    out.append(empty)
                    return start + len(empty)
            stop = data.find(b"-->", start + 4)
            if stop < 0:
                return self._open_raw(b"-->", data, start, start + 4, out)
            out.append(data[start : stop + 3])
            return stop + 3
        # Doctype, CDATA outside foreign content, processing instructions: a bogus
        # comment up to the next '>' (spec 13.2.5.42).
        stop = data.find(b">", start + 2)
        if stop < 0:
            return self._open_raw(b">", data, start, start + 2, out)
        out.append(data[start : stop + 1])
        return stop + 1

    def _open_raw(
        self, terminator: bytes, data: bytes, start: int, body: int, out: list[bytes]
    ) -> int:
        out.append(data[start:body])
        self._mode = terminator
        return body

    def _start_tag(self, data: bytes, start: int, out: list[bytes], final: bool) -> int | None:
        parsed = _parse_tag(data, start)
        if parsed is None:
            if final or len(data) - start > self.max_hold:
                # Unfinished at the end, or absurdly long: leave it as it is.
                out.append(data[start:])
                return len(data)
            return None
        tag, end = parsed
        name = tag.name
        if name in (b"head", b"body"):
            out.append(tag.raw)
            if self._inject:
                out.append(self._take_inject())
            return end
        if self._inject:
            # A tag before any head or body: the defaults must still come first.
            out.append(self._take_inject())
        if name == b"plaintext":
            out.append(data[start:])
            self._mode = b"\x00plaintext"
            return len(data)
        if name == b"script":
            return self._script_start(tag, end, out)
        if name in _RAW_TEXT:
            out.append(tag.raw)
            self._mode = b"</" + name
            return end
        out.append(self._element(tag))
        return end

    # -- raw text ------------------------------------------------------------------

    def _in_raw(self, data: bytes, pos: int, out: list[bytes], final: bool) -> int:
        mode = self._mode
        if mode is None:
            return pos
        if mode == b"\x00plaintext":
            out.append(data[pos:])
            return len(data)
        if mode.startswith(b"</"):
            stop = _find_end_tag(data, pos, mode[2:])
        else:
            stop = data.find(mode, pos)
        if self._script is not None:
            return self._script_body(data, pos, stop, out, final)
        if stop < 0:
            keep = 0 if final else min(len(data) - pos, 16)
            out.append(data[pos : len(data) - keep])
            return len(data) - keep
        if not mode.startswith(b"</"):
            stop += len(mode)
        out.append(data[pos:stop])
        self._mode = None
        return stop

    # -- scripts -------------------------------------------------------------------

    def _script_start(self, tag: _Tag, end: int, out: list[bytes]) -> int:
        self._mode = b"</script"
        kind = (tag.get(b"type") or b"").strip().lower()
        if kind not in _JS_TYPES:
            # JSON-LD, templates, already neutralised (text/plain): not executable.
            out.append(tag.raw)
            return end
        category = self._category(tag)
        if category is not None or tag.get(b"src") is not None:
            out.append(self._neutralise(tag, category) if category else tag.raw)
            return end
        # An inline script: hold the start tag until the body is classified.
        self._script = tag
        return end

    def _script_body(self, data: bytes, pos: int, stop: int, out: list[bytes], final: bool) -> int:
        tag = self._script
        if tag is None:
            return pos
        limit = pos + self.max_hold
        if stop < 0 and not final and len(data) <= limit:
            return pos  # hold until the end tag arrives
        # Classify on the body, or on its first max_hold bytes when it is longer:
        # the same bytes whatever the chunking.
        body_end = stop if 0 <= stop <= limit else min(len(data), limit)
        out.append(self._finish_script(data[pos:body_end]))
        if body_end == stop:
            self._mode = None
        return body_end

    def _finish_script(self, body: bytes) -> bytes:
        tag = self._script
        self._script = None
        if tag is None:
            return body
        found = self.matcher.inline_category(body.decode("latin-1"))
        if found is None or found in self.allowed:
            return tag.raw + body
        return self._neutralise(tag, found) + body

    # -- elements ------------------------------------------------------------------

    def _category(self, tag: _Tag) -> str | None:
        """The refused category of ``tag``, or None when it may stay as it is."""
        marked = tag.get(b"data-consent-category")
        if marked is not None:
            if _neutralised(tag):
                return None  # rewriting is idempotent
            category = marked.decode("latin-1").strip().lower()
            return None if category in self.allowed else category
        for attribute in _URL_ATTRIBUTES.get(tag.name, ()):
            value = tag.get(attribute)
            if not value:
                continue
            urls = (
                [value]
                if attribute != b"srcset"
                else [part.strip().split()[0] for part in value.split(b",") if part.strip()]
            )
            for url in urls:
                found = self.matcher.url_category(unescape(url.decode("latin-1")))
                if found is not None and found not in self.allowed:
                    return found
        return None

    def _element(self, tag: _Tag) -> bytes:
        if tag.name not in _URL_ATTRIBUTES:
            return tag.raw
        category = self._category(tag)
        return self._neutralise(tag, category) if category else tag.raw

    def _neutralise(self, tag: _Tag, category: str) -> bytes:
        self.blocked += 1
        self.blocked_categories[category] = self.blocked_categories.get(category, 0) + 1
        raw = tag.raw
        name = tag.name
        added: list[bytes] = []
        if tag.get(b"data-consent-category") is None:
            added.append(b' data-consent-category="' + _quote(category.encode()) + b'"')
        edits: list[tuple[int, int, bytes]] = []  # (start, end, replacement) in raw
        for key, value, a_start, a_end, n_end in tag.attributes:
            if name == b"script" and key in (b"src", b"type"):
                if key == b"type" and value:
                    added.append(b' data-consent-type="' + _quote(value) + b'"')
                if key == b"src":
                    added.append(b' data-consent-src="' + _quote(value or b"") + b'"')
                edits.append((a_start, a_end, b""))
            elif key in _URL_ATTRIBUTES[name]:
                # Every copy: a later duplicate would otherwise become the live one.
                edits.append((a_start, n_end, b"data-consent-" + key))
        if name == b"script":
            added.insert(0, b' type="text/plain"')
        elif name == b"iframe":
            added.append(b' src="about:blank"')
        for start, end, replacement in sorted(edits, reverse=True):
            raw = raw[:start] + replacement + raw[end:]
        at = 1 + len(name)
        return raw[:at] + b"".join(added) + raw[at:]


def _neutralised(tag: _Tag) -> bool:
    """Whether ``tag`` is already in the form this module leaves behind."""
    if tag.name == b"script":
        return (tag.get(b"type") or b"").strip().lower() == b"text/plain"
    live = [tag.get(a) for a in _URL_ATTRIBUTES.get(tag.name, ())]
    return all(v is None or v.strip().lower() == b"about:blank" for v in live)


def _quote(value: bytes) -> bytes:
    # Values keep their character references; only the delimiter must be escaped.
    return value.replace(b'"', b"&quot;")


def _find_end_tag(data: bytes, pos: int, name: bytes) -> int:
    """Index of ``</name`` followed by whitespace, '/' or '>' (any case), or -1."""
    match = _END_TAGS[name].search(data, pos)
    return match.start() if match else -1


_UNFINISHED = -2


def _enclosing_tag(data: bytes, lowered: bytes, pos: int, at: int) -> tuple[int, int]:
    """Where the suspect at ``at`` sits: ``(tag start, tag end)`` for a URL-loading
    start tag around it; ``(-1, end)`` to copy up to ``end`` untouched (text, or a
    tag that loads nothing); ``(_UNFINISHED, tag start)`` for a tag cut by the
    chunking. A '<' inside an attribute value is not a tag: the tag around it is."""
    found: tuple[int, int, bytes] | None = None
    unfinished = -1
    cut = at
    for _ in range(8):
        lt = lowered.rfind(b"<", pos, cut)
        if lt < 0:
            break
        cut = lt
        name = _TAG_NAME.match(lowered, lt + 1)
        if name is None:
            continue
        parsed = _parse_tag(data, lt)
        if parsed is None:
            # Cut by the chunking; an earlier unfinished tag may enclose this one.
            unfinished = lt
            continue
        end = parsed[1]
        if end <= (unfinished if unfinished >= 0 else found[0] if found else at):
            break  # this tag closes before the suspect (or the tag found): done
        found = (lt, end, name.group())
    if unfinished >= 0:
        return _UNFINISHED, unfinished
    if found is None:
        return -1, at + 1
    start, end, tag = found
    return (start, end) if tag in _URL_ATTRIBUTES else (-1, end)


def _unfinished_tail(data: bytes, pos: int, limit: int) -> int:
    """How many trailing bytes belong to a tag the chunking cut (kept for next time).

    The last '<' may sit inside an attribute value of the unfinished tag
    (``<img alt='<``), so earlier ones are looked at too."""
    floor = max(pos, len(data) - limit)
    keep = 0
    cut = len(data)
    for _ in range(8):
        lt = data.rfind(b"<", floor, cut)
        if lt < 0:
            break
        if len(data) - lt < 16 or _parse_tag(data, lt) is None:
            keep = len(data) - lt
        else:
            break
        cut = lt
    return keep


def rewrite_html(
    html: bytes, matcher: Matcher, allowed: frozenset[str], *, inject: bytes = b""
) -> bytes:
    """Rewrite a whole document at once (same result as streaming it)."""
    rewriter = HTMLRewriter(matcher, allowed, inject=inject)
    return rewriter.feed(html) + rewriter.close()
