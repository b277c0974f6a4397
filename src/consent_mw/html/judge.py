"""What a tag comes to: the rewriter's verdicts on the tags it must judge.

A start tag of ``<script>``, ``<iframe>``, ``<img>``/``<image>``, ``<link>``,
``<source>`` or ``<embed>`` is kept as it is, neutralised for a refused category,
or (an inline script that could run) held until its body shows whether it is a
tracker snippet. The verdicts follow the rules in :mod:`consent_mw.html.rewrite`'s
docstring; whole tags and held scripts are remembered in the page's
:class:`~consent_mw.html.plan.Plan`, with the page's CSP nonce marked where it
changes from page to page (:class:`~consent_mw.html.plan.Nonce`).
"""

from __future__ import annotations

from ..policy.trackers import Matcher
from .attrs import (
    CATEGORY,
    MARKS,
    SRCSETS,
    URL_ATTRS,
    Attr,
    absolute_url,
    names_a_host,
    neutralise,
    parse_attrs,
    runs,
    srcset_urls,
    text,
)
from .plan import Nonce, Plan

__all__ = ["BLOCK", "INLINE", "KEEP", "Judge", "Verdict"]

#: a tag passes as it is; is neutralised for its category; is a script held for its body
KEEP, BLOCK, INLINE = range(3)
#: (what to do, the category or None, what the tag becomes)
Verdict = tuple[int, str | None, bytes]


class Judge:
    """The verdicts for one page, under one plan and the page's nonce."""

    __slots__ = ("_matcher", "_nonce", "_plan")

    def __init__(self, matcher: Matcher, plan: Plan, nonce: Nonce | None) -> None:
        self._matcher = matcher
        self._plan = plan
        self._nonce = nonce

    def tag(self, tag: bytes, name_end: int, name: bytes) -> Verdict:
        """The verdict on a whole start tag (no longer than ``max_hold``) whose
        lowercase ``name`` ends at ``name_end``; judged once and remembered."""
        plan, nonce = self._plan, self._nonce
        known = plan.tags.get(tag)
        key = None
        if known is None and nonce is not None and (key := nonce.key(tag)) is not None:
            marked = plan.nonce_tags.get(key)
            if marked is not None:
                known = (marked[0], marked[1], nonce.fill(marked[2]))
        if known is not None:
            return known
        attrs = parse_attrs(tag.lower(), name_end, len(tag), complete=True)
        verdict, category = self._verdict(name, attrs, tag)
        output = tag
        if verdict == BLOCK and category is not None:
            output = neutralise(tag, 0, name_end, len(tag), attrs, name, category)
        if (
            nonce is not None
            and key is not None
            and (template := nonce.template(tag, attrs, output)) is not None
        ):
            plan.remember(plan.nonce_tags, key, (verdict, category, template))
        else:
            plan.remember(plan.tags, tag, (verdict, category, output))
        return verdict, category, output

    def long_tag(self, head: bytes, name_end: int, name: bytes) -> tuple[str | None, bytes]:
        """A start tag too long to hold, judged on its first ``max_hold`` bytes
        (``head``): the attributes that end there, and a URL cut short there once
        its host shows. The category it is neutralised for (or None), and what
        ``head`` becomes."""
        attrs = parse_attrs(head.lower(), name_end, len(head), complete=False)
        verdict, category = self._verdict(name, attrs, head)
        if verdict == BLOCK and category is not None:
            return category, neutralise(head, 0, name_end, len(head), attrs, name, category)
        return None, head

    def inline(self, tag: bytes, body: bytes, limit: int) -> tuple[str | None, bytes]:
        """A held inline script, judged on the first ``limit`` bytes of its body:
        the category it is neutralised for (or None), and what ``tag`` becomes."""
        plan = self._plan
        category = plan.find(body, limit)
        if category is None:
            return None, tag
        suffix = b"\0" + category.encode()
        rewritten = plan.inline_tags.get(tag + suffix)
        nonce = self._nonce
        marked = None
        if rewritten is None and nonce is not None and (marked := nonce.key(tag)) is not None:
            template = plan.nonce_inline_tags.get(marked + suffix)
            if template is not None:
                rewritten = nonce.fill(template)
        if rewritten is None:
            attrs = parse_attrs(tag.lower(), 7, len(tag), complete=True)  # after "<script"
            rewritten = neutralise(tag, 0, 7, len(tag), attrs, b"script", category)
            if (
                nonce is not None
                and marked is not None
                and (template := nonce.template(tag, attrs, rewritten)) is not None
            ):
                plan.remember(plan.nonce_inline_tags, marked + suffix, template)
            else:
                plan.remember(plan.inline_tags, tag + suffix, rewritten)
        return category, rewritten

    def _verdict(self, name: bytes, attrs: list[Attr], tag: bytes) -> tuple[int, str | None]:
        first: dict[bytes, Attr] = {}
        for attr in attrs:
            first.setdefault(attr.name, attr)  # the first of duplicate attributes wins
        # A value an over-long tag cuts short counts only for a URL whose host shows.
        last = attrs[-1] if attrs else None
        if last and last.cut and first[last.name] is last and last.name not in URL_ATTRS[name]:
            del first[last.name]
        if not MARKS.isdisjoint(first):
            return KEEP, None

        def value(key: bytes) -> bytes | None:
            a = first.get(key)
            return None if a is None else tag[a.value_start : a.value_end]

        if name == b"script" and not runs(value(b"type"), value(b"language")):
            return KEEP, None
        category = text(value(CATEGORY) or b"").strip().lower() or None
        urls = [key for key in URL_ATTRS[name] if key in first]
        for key in urls if category is None else ():
            category = self._owner(value(key) or b"", key in SRCSETS, first[key].cut)
            if category is not None:
                break
        if category is None:
            if name == b"script" and b"src" not in first and self._plan.signatures:
                return INLINE, None
            return KEEP, None
        if category in self._plan.allowed or (name != b"script" and not urls):
            return KEEP, None
        return BLOCK, category

    def _owner(self, raw: bytes, srcset: bool, cut: bool) -> str | None:
        """The category of the first tracker URL in an attribute value, or None."""
        for url in srcset_urls(raw) if srcset else (raw,):
            found = absolute_url(url)
            if found is None or (cut and not names_a_host(found)):
                continue
            owner = self._matcher.url_owner(found)
            if owner is not None:
                return owner[0]
        return None
