"""What a tag comes to: the rewriter's verdicts on the tags it must judge.

A start tag is kept as it is, neutralised for the refused categories its fetches
belong to, or held until its body shows what it does: an inline script that
could run (its signatures and literal URLs), a speculation-rules set, a
``<style>`` sheet. What fetches is :mod:`consent_mw.html.fetches`'s table; the
verdicts follow the rules in :mod:`consent_mw.html.rewrite`'s docstring. Whole
tags and held bodies are remembered in the page's
:class:`~consent_mw.html.plan.Plan`, with the page's CSP nonce marked where it
changes from page to page (:class:`~consent_mw.html.plan.Nonce`); not under a
base URL on a tracker's host, where a tag's verdict depends on the page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from ..policy.trackers import Matcher
from .attrs import (
    CATEGORY,
    SERVICE,
    Attr,
    attribute_value,
    names_a_host,
    neutralise,
    parse_attrs,
    runs,
    srcset_urls,
    text,
    web_url,
)
from .css import CSSURL, blank, css_urls, may_fetch
from .fetches import ANYWHERE, CSS, FETCHES, HTML, MARKS, REFRESH, SRCSET, URLS
from .placeholder import placeholder, size_style
from .plan import Nonce, Plan
from .script_urls import call_urls, rule_urls

__all__ = ["BLOCK", "INLINE", "KEEP", "Judge", "Nested", "Verdict"]

_TYPE = frozenset({b"type"})
#: the tags an embedded player or widget comes in (see .placeholder)
_EMBED_TAGS = frozenset({b"iframe", b"script"})
_SCRIPT_URLS = frozenset(FETCHES[b"script"])

#: a tag passes as it is; is neutralised for its categories; is held for its body
KEEP, BLOCK, INLINE = range(3)
#: (what to do, the categories neutralised for, what the tag becomes)
Verdict = tuple[int, tuple[str, ...], bytes]
#: rewrites a srcdoc document: (what it becomes, the categories neutralised in it)
Nested = Callable[[bytes, "str | None"], tuple[bytes, tuple[str, ...]]]

_ASCII_WS = " \t\n\f\r"
# https://html.spec.whatwg.org/#shared-declarative-refresh-steps: a delay, then
# ";" or "," and an optional "url=", then the URL (in quotes or not).
_REFRESH = re.compile(r"[ \t\n\f\r]*[0-9]*(?:\.[0-9.]*)?[ \t\n\f\r]*[;,]?[ \t\n\f\r]*")
_URL_EQ = re.compile(r"[uU][rR][lL][ \t\n\f\r]*=[ \t\n\f\r]*")


class Judge:
    """The verdicts for one page, under one plan and the page's nonce."""

    __slots__ = (
        "_locale",
        "_matcher",
        "_nested",
        "_nonce",
        "_plan",
        "_suffix",
        "base",
        "base_seen",
    )

    def __init__(
        self,
        matcher: Matcher,
        plan: Plan,
        nonce: Nonce | None,
        nested: Nested,
        locale: str = "en",
    ) -> None:
        self._matcher = matcher
        self._plan = plan
        self._nonce = nonce
        self._nested = nested
        #: the language of embed placeholders; it joins the memo keys of the tags
        #: that may get one (none when the policy has no embeds)
        self._locale = locale
        self._suffix = b"\0" + locale.encode("ascii", "replace") if matcher.embeds else b""
        #: the document's base URL, when it is on a tracker's host (else None:
        #: relative URLs then stay on the page's own host)
        self.base: str | None = None
        #: a <base href> was seen: only the first one counts
        self.base_seen = False

    def tag(self, tag: bytes, name_end: int, name: bytes) -> Verdict:
        """The verdict on a whole start tag (no longer than ``max_hold``) whose
        lowercase ``name`` ends at ``name_end``; judged once and remembered."""
        plan, nonce = self._plan, self._nonce
        memo = self.base is None and name != b"base"
        suffix = self._suffix if name in _EMBED_TAGS else b""
        known = plan.tags.get(tag + suffix if suffix else tag) if memo else None
        key = None
        if known is None and memo and nonce is not None and (key := nonce.key(tag)) is not None:
            key += suffix
            marked = plan.nonce_tags.get(key)
            if marked is not None:
                known = (marked[0], marked[1], nonce.fill(marked[2]))
        if known is not None:
            return known
        attrs = parse_attrs(tag.lower(), name_end, len(tag), complete=True)
        verdict, categories, output = self._judge(tag, name_end, name, attrs)
        if not memo:
            return verdict, categories, output
        if (
            nonce is not None
            and key is not None
            and (template := nonce.template(tag, attrs, output)) is not None
        ):
            plan.remember(plan.nonce_tags, key, (verdict, categories, template))
        else:
            plan.remember(plan.tags, tag + suffix, (verdict, categories, output))
        return verdict, categories, output

    def long_tag(self, head: bytes, name_end: int, name: bytes) -> tuple[tuple[str, ...], bytes]:
        """A start tag too long to hold, judged on its first ``max_hold`` bytes
        (``head``): the attributes that end there, and a URL cut short there once
        its host shows. The categories it is neutralised for, and what ``head``
        becomes."""
        attrs = parse_attrs(head.lower(), name_end, len(head), complete=False)
        verdict, categories, output = self._judge(head, name_end, name, attrs)
        return (categories, output) if verdict == BLOCK else ((), head)

    def inline(self, tag: bytes, body: bytes, limit: int) -> tuple[tuple[str, ...], bytes]:
        """A held inline script or speculation-rules set, judged on the first
        ``limit`` bytes of its body: the categories it is neutralised for, and
        what ``tag`` becomes."""
        plan = self._plan
        # (find, not "in": see plan._NONCE_MARK)
        if tag.lower().find(b"speculationrules") >= 0 and _is_rules(tag):
            category = self._first_refused(rule_urls(body[:limit]))
        else:
            category = plan.find(body, limit) or self._calls(body, limit)
        if category is None:
            return (), tag
        suffix = b"\0" + category.encode()
        memo = self.base is None
        rewritten = plan.inline_tags.get(tag + suffix) if memo else None
        nonce = self._nonce
        marked = None
        if rewritten is None and memo and nonce is not None and (marked := nonce.key(tag)):
            template = plan.nonce_inline_tags.get(marked + suffix)
            if template is not None:
                rewritten = nonce.fill(template)
        if rewritten is not None:
            return (category,), rewritten
        attrs = parse_attrs(tag.lower(), 7, len(tag), complete=True)  # after "<script"
        rewritten = neutralise(tag, 7, attrs, b"script", (category,), _TYPE, {})
        if not memo:
            pass
        elif (
            nonce is not None
            and marked is not None
            and (template := nonce.template(tag, attrs, rewritten)) is not None
        ):
            plan.remember(plan.nonce_inline_tags, marked + suffix, template)
        else:
            plan.remember(plan.inline_tags, tag + suffix, rewritten)
        return (category,), rewritten

    def style(self, tag: bytes, body: bytes, limit: int) -> tuple[tuple[str, ...], bytes, bytes]:
        """A held ``<style>`` element, judged on the first ``limit`` bytes of its
        sheet: the categories it is neutralised for, what ``tag`` becomes and what
        ``body`` becomes: its fetches of refused categories made empty, and the
        original sheet kept in ``data-consent-text`` for the banner when it was
        held whole (a longer one comes back with the next page after consent)."""
        sheet = body[:limit].decode("latin-1")
        if not may_fetch(sheet):
            return (), tag, body
        sheets = self._plan.sheets
        key = tag + b"\0" + body if self.base is None and len(body) <= limit else None
        if key is not None and (known := sheets.get(key)) is not None:
            return known
        attrs = parse_attrs(tag.lower(), 6, len(tag), complete=True)  # after "<style"
        categories, blanked = self._css(sheet, _author(tag, attrs))
        verdict = (categories, tag, body)
        if categories:
            tag = neutralise(tag, 6, attrs, b"style", categories, frozenset(), {})
            if len(body) <= limit:
                tag = tag[:6] + b" data-consent-text=" + attribute_value(sheet) + tag[6:]
            verdict = (categories, tag, blanked.encode("latin-1") + body[limit:])
        if key is not None:
            self._plan.remember(sheets, key, verdict)
        return verdict

    # -- the verdicts ------------------------------------------------------------

    def _judge(self, tag: bytes, name_end: int, name: bytes, attrs: list[Attr]) -> Verdict:
        fetches = {**FETCHES.get(name, {}), **ANYWHERE}
        # A value an over-long tag cuts short counts only for a URL whose host shows.
        if attrs and attrs[-1].cut and fetches.get(attrs[-1].name, CSS) in (CSS, HTML):
            attrs = attrs[:-1]
        first: dict[bytes, Attr] = {}
        for attr in attrs:
            first.setdefault(attr.name, attr)  # the first of duplicate attributes wins
        if not MARKS.isdisjoint(first):
            return KEEP, (), tag
        if name == b"base":
            self._set_base(first, tag)
            return KEEP, (), tag
        if name == b"script":
            if _first(tag, attrs, b"type") == b"speculationrules":
                return (INLINE if self._plan.refuses else KEEP), (), tag
            if not runs(_value(tag, first, b"type"), _value(tag, first, b"language")):
                return KEEP, (), tag
        elif name == b"style":
            sheet_type = _first(tag, attrs, b"type")
            inert = sheet_type is not None and sheet_type not in (b"", b"text/css")
            return (INLINE if self._plan.refuses and not inert else KEEP), (), tag
        if name == b"meta" and _first(tag, attrs, b"http-equiv") != b"refresh":
            del fetches[b"content"]
        present = {key: kind for key, kind in fetches.items() if key in first}
        author = _author(tag, attrs)
        if author is not None and self._plan.allows(author):
            return KEEP, (), tag
        categories: list[str] = []
        renamed: set[bytes] = set()
        rewritten: dict[bytes, bytes] = {}
        for key, kind in present.items():
            attr = first[key]
            raw = tag[attr.value_start : attr.value_end] if attr.value_start >= 0 else b""
            if kind == CSS:
                found, blanked = self._css(text(raw), author)
                if found:
                    rewritten[key] = attribute_value(blanked)
            elif kind == HTML:
                found = self._srcdoc(raw, author, rewritten)
            else:
                found = (author,) if author else self._refused(_urls(kind, raw), attr.cut)
                if found:
                    renamed.add(key)
            categories += (c for c in found if c not in categories)
        if name == b"script" and not present.keys() & _SCRIPT_URLS:  # an inline script
            if author is not None:
                categories = [author]
            elif self._plan.refuses:
                return INLINE, (), tag
        if not categories:
            return KEEP, (), tag
        if name == b"script":
            renamed |= _TYPE
        output = neutralise(
            tag, name_end, attrs, name, tuple(categories), frozenset(renamed), rewritten
        )
        if self._matcher.embeds and name in _EMBED_TAGS and b"src" in renamed:
            output = self._embed(tag, first, name, name_end, output)
        return BLOCK, tuple(categories), output

    def _embed(
        self, tag: bytes, first: dict[bytes, Attr], name: bytes, name_end: int, output: bytes
    ) -> bytes:
        """``output`` (a neutralised iframe or script) hidden, after the placeholder of
        the embed service it loads from, if it loads from one (see .placeholder)."""
        url = web_url(text(_value(tag, first, b"src") or b""), self.base)
        found = self._matcher.url_owner(url) if url else None
        service = self._matcher.embeds.get(found[1]) if found else None
        if service is None or service.category != found[0]:  # type: ignore[index]
            return output
        if name == b"iframe":
            width, height = _value(tag, first, b"width"), _value(tag, first, b"height")
            own = _value(tag, first, b"style")
            style = size_style(
                text(width) if width is not None else None,
                text(height) if height is not None else None,
            )
            if own and b"(" not in own:  # the iframe's own sizes, never a fetch (url())
                style += text(own)
            shown = placeholder(service, self._locale, url=url, style=style)
            return shown + output[:name_end] + b" hidden" + output[name_end:]
        # A widget script shows nothing itself: the placeholder stays small.
        return placeholder(service, self._locale, url=None, style="") + output

    def _set_base(self, first: dict[bytes, Attr], tag: bytes) -> None:
        """The first ``<base href>`` sets the document's base URL, resolved against
        the one it had (a srcdoc document's is its parent's)."""
        if self.base_seen or b"href" not in first:
            return
        self.base_seen = True
        url = web_url(text(_value(tag, first, b"href") or b""), self.base)
        host = urlsplit(url).hostname if url else None
        tracked = url and host and self._matcher.host_category(host) is not None
        self.base = url if tracked else None

    def _css(self, sheet: str, author: str | None) -> tuple[tuple[str, ...], str]:
        """The refused categories a sheet or declaration list fetches for, and the
        sheet with those fetches made empty (all of them for an ``author`` category)."""
        refused: list[CSSURL] = []
        categories: list[str] = []
        for url in css_urls(sheet):
            category = author or self._category(url.url, False)
            if category is not None and not self._plan.allows(category):
                refused.append(url)
                categories += () if category in categories else (category,)
        return tuple(categories), blank(sheet, refused) if refused else sheet

    def _srcdoc(
        self, raw: bytes, author: str | None, rewritten: dict[bytes, bytes]
    ) -> tuple[str, ...]:
        """A srcdoc document, rewritten as one; its new value into ``rewritten``."""
        if author:
            rewritten[b"srcdoc"] = b'""'
            return (author,)
        html = text(raw).encode("latin-1", "xmlcharrefreplace")
        output, categories = self._nested(html, self.base)
        if categories:
            rewritten[b"srcdoc"] = attribute_value(output.decode("latin-1"))
        return categories

    def _refused(self, urls: Iterable[str], cut: bool) -> tuple[str, ...]:
        """The refused categories of ``urls``, in order (``cut``: they may be cut short)."""
        found: list[str] = []
        for url in urls:
            category = self._category(url, cut)
            if category is not None and not self._plan.allows(category) and category not in found:
                found.append(category)
        return tuple(found)

    def _first_refused(self, urls: Iterable[str]) -> str | None:
        for url in urls:
            category = self._category(url, False)
            if category is not None and not self._plan.allows(category):
                return category
        return None

    def _calls(self, body: bytes, limit: int) -> str | None:
        """The refused category of the first literal URL the script sends a request to."""
        calls = self._plan.calls
        memo = self.base is None and len(body) <= limit
        if memo and body in calls:
            return calls[body]
        found = self._first_refused(call_urls(body[:limit]))
        if memo:
            self._plan.remember(calls, body, found)
        return found

    def _category(self, url: str, cut: bool) -> str | None:
        found = web_url(url, self.base)
        if found is None or (cut and not names_a_host(found)):
            return None
        owner = self._matcher.url_owner(found)
        return None if owner is None else self._plan.label(*owner)


def _value(tag: bytes, first: dict[bytes, Attr], key: bytes) -> bytes | None:
    a = first.get(key)
    return None if a is None else tag[a.value_start : a.value_end]


def _first(tag: bytes, attrs: list[Attr], key: bytes) -> bytes | None:
    """The value of the first ``key`` attribute, decoded, trimmed and lowercased."""
    for a in attrs:
        if a.name == key:
            value = tag[a.value_start : a.value_end] if a.value_start >= 0 else b""
            return text(value).strip(_ASCII_WS).lower().encode("latin-1", "replace")
    return None


def _is_rules(script: bytes) -> bool:
    """Whether a ``<script>`` start tag holds a speculation-rules set."""
    attrs = parse_attrs(script.lower(), 7, len(script), complete=True)
    return _first(script, attrs, b"type") == b"speculationrules"


def _author(tag: bytes, attrs: list[Attr]) -> str | None:
    """The category the page's author marked the element with, if any, as
    ``category/service`` when the author named the service too."""
    category = service = ""
    for a in attrs:
        if a.name in (CATEGORY, SERVICE):
            value = tag[a.value_start : a.value_end] if a.value_start >= 0 else b""
            if a.name == CATEGORY and not category:
                category = text(value).strip().lower()
            elif a.name == SERVICE and not service:
                service = text(value).strip()  # a service name keeps its case
    if not category:
        return None
    return f"{category}/{service}" if service and " " not in category else category


def _urls(kind: int, raw: bytes) -> list[str]:
    """The URLs of an attribute value of one of the URL kinds, decoded."""
    if kind == SRCSET:
        return [text(url) for url in srcset_urls(raw)]
    if kind == URLS:
        return text(raw).split()
    if kind == REFRESH:
        content = text(raw)
        pos = _REFRESH.match(content).end()  # type: ignore[union-attr]  # always matches
        if (eq := _URL_EQ.match(content, pos)) is not None:
            pos = eq.end()
        url = content[pos:]
        if url[:1] in ("'", '"'):
            url = url[1:].partition(url[0])[0]
        return [url] if url else []
    return [text(raw)]
