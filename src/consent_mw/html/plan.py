"""What a visitor's allowed set refuses, and what tags came to before.

A :class:`Plan` is built once per (matcher, allowed set) pair and shared by every
page rewritten for it: the inline-script signatures of the refused categories,
and bounded memos of what tags and snippets came to, since a site sends the
same tracker tags on every page. :class:`Nonce` lets tags that carry a page's
CSP nonce be remembered across pages too.
"""

from __future__ import annotations

import re
from typing import Final, TypeVar

from .._memo import remember
from ..policy.trackers import Matcher
from .attrs import Attr

__all__ = ["NONCE_MARK", "Nonce", "Plan", "plan_for"]

_IDENT: Final = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$")
_HOST_CHARS: Final = _IDENT | {0x2D}
_CACHE_SIZE: Final = 512
_CACHE_KEY_MAX: Final = 4096
_FOLD_COPY_MAX: Final = 64 * 1024
_T = TypeVar("_T")


class Plan:
    """What one (matcher, allowed set) pair refuses: categories and inline signatures."""

    def __init__(self, matcher: Matcher, allowed: frozenset[str]) -> None:
        self.allowed = allowed
        # A tracker is labelled with its service ("advertising/Meta") in a category
        # the policy lists services in or the visitor chose service by service, so
        # the element says which switch activates it; elsewhere with its category.
        self._split = matcher.listed | {a.partition("/")[0] for a in allowed if "/" in a}
        self._service_of = matcher.service_of
        hosts = {h.lower().partition("/")[0] for t in matcher.signed for h in t.hosts}
        sigs: list[tuple[bytes, bool, frozenset[int], str]] = []
        for tracker in matcher.signed:
            label = self.label(tracker.category, tracker.owner)
            if self.allows(label):
                continue
            loaders = [h for h in tracker.hosts if "." in h.rpartition("/")[2] and "/" in h]
            for sig in (*tracker.inline, *loaders):
                low = sig.lower()
                if "/" in sig:
                    sigs.append((low.encode(), True, _HOST_CHARS, label))
                elif _is_host(low, hosts):
                    continue  # a bare host name: scripts mention those in strings
                else:
                    needle = sig.encode()
                    guard = _IDENT if needle[:1] and needle[0] in _IDENT else frozenset()
                    sigs.append((needle, False, guard, label))
        self.signatures = tuple(sigs)
        #: some tracker's category is refused: inline scripts and sheets are judged
        self.refuses = not matcher.categories <= allowed
        self.anycase = tuple(re.compile(re.escape(sig[0]), re.IGNORECASE) for sig in sigs)
        # A site sends the same tracker tags and snippets on every page: remember
        # what they came to (bounded; per plan, so the same allowed set).
        self.tags: dict[bytes, tuple[int, tuple[str, ...], bytes]] = {}
        self.bodies: dict[bytes, str | None] = {}
        self.inline_tags: dict[bytes, bytes] = {}
        #: the category of a script body's first literal request URL; what a
        #: <style> element (its start tag, NUL, its sheet) came to
        self.calls: dict[bytes, str | None] = {}
        self.sheets: dict[bytes, tuple[tuple[str, ...], bytes, bytes]] = {}
        # The same, for tags whose CSP nonce changes on every page: keyed and
        # stored with the nonce's value replaced by _NONCE_MARK (see Nonce).
        self.nonce_tags: dict[bytes, tuple[int, tuple[str, ...], bytes]] = {}
        self.nonce_inline_tags: dict[bytes, bytes] = {}

    def label(self, category: str, owner: str) -> str:
        """What a tracker of ``owner`` in ``category`` is judged and marked as."""
        if category in self._split:
            service = self._service_of(category, owner)
            if service:
                return f"{category}/{service}"
        return category

    def allows(self, label: str) -> bool:
        """Whether a category, or a ``category/service`` label, is allowed."""
        allowed = self.allowed
        return label in allowed or ("/" in label and label.partition("/")[0] in allowed)

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


#: stands for a page's CSP nonce in the memos (a tag that holds it is not remembered so).
#: It begins with a NUL, which pages hardly ever hold: ``0 in tag`` (an int needle) is
#: asked first, as CPython 3.11 reads a bytes needle only after failing to read it as an
#: int (a TypeError raised and cleared, ~10x the cost, on every tag).
_NONCE_MARK: Final = b"\x00nonce\x00"
NONCE_MARK: Final = _NONCE_MARK
# A nonce as CSP writes it (base64 or base64url), long enough not to occur by chance.
_NONCE_VALUE = re.compile(rb"[A-Za-z0-9+/_-]{16,}={0,2}")


class Nonce:
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
        if tag.count(value) != 1 or (0 in tag and _NONCE_MARK in tag):
            return None
        return tag.replace(value, _NONCE_MARK)

    @classmethod
    def of(cls, nonce: str | None) -> Nonce | None:
        """The page's nonce, if it looks like one CSP would send; else None."""
        if nonce and nonce.isascii() and _NONCE_VALUE.fullmatch(value := nonce.encode()):
            return cls(value)
        return None

    def template(self, tag: bytes, attrs: list[Attr], output: bytes) -> bytes | None:
        """``output`` (what ``tag`` became) with the nonce marked, if the nonce in
        ``tag`` is its ``nonce`` attribute's value (``attrs`` index ``tag``); else None."""
        value = self.value
        start = tag.find(value)
        if not any(
            a.name == b"nonce" and a.value_start == start and a.value_end == start + len(value)
            for a in attrs
        ):
            return None
        if output.count(value) != 1 or (0 in output and _NONCE_MARK in output):
            return None
        return output.replace(value, _NONCE_MARK)

    def fill(self, template: bytes) -> bytes:
        return template.replace(_NONCE_MARK, self.value)


def _is_host(name: str, hosts: set[str]) -> bool:
    """Whether ``name`` is one of ``hosts`` or a subdomain of one."""
    labels = name.split(".")
    return any(".".join(labels[i:]) in hosts for i in range(len(labels)))


def plan_for(matcher: Matcher, allowed: frozenset[str]) -> Plan:
    """The plan for ``allowed`` (``necessary`` included) under ``matcher``, built once
    and kept on the matcher (:attr:`Matcher.plans`)."""
    plans = matcher.plans
    plan = plans.get(allowed)
    if plan is None:
        plan = Plan(matcher, allowed)
        remember(plans, allowed, plan, 64)
    return plan
