"""The policy: consent categories, their texts and the rules that apply.

A policy is loaded once at start-up from a TOML file or a dict and never
changes while the process runs; every problem is reported as a
:class:`~consent_mw.exceptions.PolicyError` naming the key::

    policy = Policy.from_toml("policy.toml")
    policy = Policy.from_dict({"version": "1", "categories": [...]})
    policy = Policy.preset("gdpr")          # the four standard categories
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from os import PathLike
from typing import Any, Literal

from ..exceptions import PolicyError
from ..i18n import in_locale
from ..i18n.banner import DEFAULT_TEXTS
from .advanced import loaded_google_tags
from .embeds import embed_trackers
from .parse import policy_fields
from .parts import (
    CONSENT_MODE_TYPES,
    DEFAULT_CONSENT_MODE,
    Category,
    CookieSpec,
    EmbedsSpec,
    GppOptions,
    Localised,
    Processor,
    Service,
    Signals,
)
from .presets import preset_dict
from .regimes import REGIMES, Regime
from .registry import registry
from .trackers import BUILTIN_TRACKERS, Matcher, Tracker

__all__ = [
    "CONSENT_MODE_TYPES",
    "DEFAULT_CONSENT_MODE",
    "Category",
    "CookieSpec",
    "Localised",
    "Policy",
    "Processor",
    "Service",
    "register_notice_hash",
]

# The privacy notice (a room above this one) renders part of what a visitor is shown;
# it hands its hash over here when imported, so the policy needs no import of it.
_notice_hash: list[Callable[[Policy, str], str]] = []


def register_notice_hash(notice_hash: Callable[[Policy, str], str]) -> None:
    """Say how the notice shown in a locale is hashed (see :meth:`Policy.text_hash`)."""
    _notice_hash[:] = [notice_hash]


#: the built-in owners of Google's tags (Consent Mode is read by these)
_GOOGLE_OWNERS = ("Google Analytics", "Google Ads / DoubleClick")


@functools.lru_cache(maxsize=8)
def _owner_categories(own: tuple[Tracker, ...]) -> dict[str, str]:
    """Owner name -> category over the registry, the built-in entries and a policy's."""
    found = {t.owner: t.category for t in registry().trackers}
    found.update((t.owner, t.category) for t in (*BUILTIN_TRACKERS, *own))
    return found


@dataclass(frozen=True)
class Policy:
    """A validated policy. Build it with :meth:`from_toml`, :meth:`from_dict` or :meth:`preset`."""

    version: str
    categories: tuple[Category, ...]
    locales: tuple[str, ...]
    default_locale: str
    regime: str
    country_regimes: Mapping[str, str]
    consent_lifetime_days: int | None
    compatible_versions: frozenset[str]
    announced: dt.date | None
    effective: dt.date | None
    processors: tuple[Processor, ...]
    trackers: tuple[Tracker, ...]
    texts: Mapping[str, Mapping[str, str]]
    gpc_last_update: dt.date | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    #: the Content-Security-Policy mode the policy asks for ("off", "report", "enforce")
    csp: Literal["off", "report", "enforce"] = "off"
    #: how the decision reaches vendors' tags in the page (``[signals]``)
    signals: Signals = Signals()
    #: the IAB GPP string and ``__gpp`` API (``[gpp]``); no sections: off
    gpp: GppOptions = GppOptions()
    #: ``[embeds]``: click-to-load placeholders for embedded players (None: embeds pass)
    embeds: EmbedsSpec | None = None

    optional_ids: tuple[str, ...] = field(init=False, repr=False, compare=False)
    required_ids: frozenset[str] = field(init=False, repr=False, compare=False)
    matcher: Matcher = field(init=False, repr=False, compare=False)
    #: what the HTML rewriter holds: ``matcher``, less Google's tag loaders in
    #: Consent Mode's advanced mode (see :mod:`consent_mw.policy.advanced`)
    tag_matcher: Matcher = field(init=False, repr=False, compare=False)
    _by_id: dict[str, Category] = field(init=False, repr=False, compare=False)
    #: what the page's cleaner removes when a category (or a service in it) is
    #: refused: ``{category: {service: {"s": storage keys, "c": cookie names}}}``, the
    #: policy's own declarations under the service ``""``
    storage_map: dict[str, dict[str, dict[str, list[str]]]] = field(
        init=False, repr=False, compare=False
    )
    _hashes: dict[str, str] = field(init=False, repr=False, compare=False)
    #: the policy's own tracker entries (cookies, hosts) -> the service they belong to
    _own_services: dict[str, str] = field(init=False, repr=False, compare=False)
    #: (category, registry owner) -> the declared service standing for it
    _aliases: dict[tuple[str, str], str] = field(init=False, repr=False, compare=False)
    _google: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    # Derived once, shared by every request.
    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {c.id: c for c in self.categories})
        object.__setattr__(
            self, "optional_ids", tuple(c.id for c in self.categories if not c.required)
        )
        object.__setattr__(
            self, "required_ids", frozenset(c.id for c in self.categories if c.required)
        )
        aliases = {
            (category.id, owner): service.name
            for category in self.categories
            for service in category.services
            for owner in (service.name, *service.owners)
        }
        object.__setattr__(self, "_aliases", aliases)
        own: dict[str, str] = {}
        extra = []
        for category in self.categories:
            for spec in category.cookies:
                owner = f"policy:{category.id}:{spec.name}"
                extra.append(Tracker(owner=owner, category=category.id, cookies=(spec.name,)))
                if spec.owner:
                    own[owner] = aliases.get((category.id, spec.owner), spec.owner)
            for service in category.services:
                if service.cookies or service.hosts:
                    owner = f"policy:{category.id}:service:{service.name}"
                    own[owner] = service.name
                    extra.append(
                        Tracker(
                            owner=owner,
                            category=category.id,
                            cookies=service.cookies,
                            hosts=service.hosts,
                        )
                    )
        object.__setattr__(self, "_own_services", own)
        extra += [
            Tracker(owner=f"policy:{category.id}:hosts", category=category.id, hosts=category.hosts)
            for category in self.categories
            if category.hosts
        ]
        if self.embeds is not None:
            extra += embed_trackers(self.embeds)
        trackers = (*BUILTIN_TRACKERS, *self.trackers, *extra)
        replaces = [t.owner for t in self.trackers]
        matcher = Matcher(trackers, fallback=registry().matcher, replaces=replaces)
        tags = loaded_google_tags(trackers, replaces) if self.signals.advanced else matcher
        listed = frozenset(c.id for c in self.categories if c.services)
        for each in (matcher, tags):
            each.service_of = self.service_of
            each.listed = listed
        object.__setattr__(self, "matcher", matcher)
        object.__setattr__(self, "tag_matcher", tags)
        object.__setattr__(self, "storage_map", self._storage_map(matcher))
        object.__setattr__(self, "_hashes", {})
        google = {
            category.id: frozenset(
                aliases.get((category.id, owner), owner)
                for owner in (
                    *_GOOGLE_OWNERS,
                    *(o for s in category.services for o in (s.name, *s.owners)),
                )
                if owner.startswith("Google")
            )
            for category in self.categories
        }
        object.__setattr__(self, "_google", google)

    def _storage_map(self, matcher: Matcher) -> dict[str, dict[str, dict[str, list[str]]]]:
        optional = set(self.optional_ids)
        found: dict[str, dict[str, dict[str, list[str]]]] = {}

        def add(
            category: str, service: str, storage: Iterable[str], cookies: Iterable[str]
        ) -> None:
            entry = {"s": list(storage), "c": list(cookies)}
            entry = {k: v for k, v in entry.items() if v}
            if category in optional and entry:
                found.setdefault(category, {})[service] = entry

        for category in self.categories:
            add(category.id, "", category.storage, (c.name for c in category.cookies))
        for tracker in (*BUILTIN_TRACKERS, *self.trackers, *matcher.embeds.values()):
            add(tracker.category, tracker.owner, tracker.storage, tracker.cookies)
        return found

    # -- loading -----------------------------------------------------------

    @classmethod
    def from_toml(cls, path: str | PathLike[str]) -> Policy:
        try:
            with open(path, "rb") as file:
                data = tomllib.load(file)
        except OSError as exc:
            raise PolicyError("<file>", f"cannot read {str(path)!r}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError("<file>", f"{str(path)!r} is not valid TOML: {exc}") from exc
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        return cls(**policy_fields(data))

    @classmethod
    def preset(cls, regime: str = "gdpr", **overrides: Any) -> Policy:
        """A policy with the four standard categories under ``regime``."""
        return cls.from_dict({**preset_dict(regime), **overrides})

    # -- lookups -----------------------------------------------------------

    def category(self, category_id: str) -> Category:
        try:
            return self._by_id[category_id]
        except KeyError:
            raise KeyError(f"unknown consent category {category_id!r}") from None

    def has_category(self, category_id: str) -> bool:
        return category_id in self._by_id

    # -- services ----------------------------------------------------------

    def services(self, category_id: str) -> tuple[Service, ...]:
        """The services the policy lists in a category (what the banner shows)."""
        return self.category(category_id).services

    def service_of(self, category_id: str, owner: str) -> str:
        """The service name a tracker owner (from :attr:`matcher`) or a name stands
        for in ``category_id``: a declared service that lists it, the service of a
        policy's own cookie, or else the owner itself. ``""`` for the policy's own
        entries that name no owner (they follow the category alone)."""
        own = self._own_services.get(owner)
        if own is not None:
            return own
        if owner.startswith("policy:"):
            return ""
        return self._aliases.get((category_id, owner), owner)

    def knows_service(self, category_id: str, name: str) -> bool:
        """Whether ``name`` is a service of the category: declared by the policy, an
        embed service of its ``[embeds]``, or the owner of a built-in, policy or
        registry tracker of that category."""
        if (category_id, name) in self._aliases:
            return True
        embed = self.matcher.embeds.get(name)
        if embed is not None and embed.category == category_id:
            return True  # a service of the policy's [embeds] ("always allow YouTube")
        return _owner_categories(self.trackers).get(name) == category_id

    def google_services(self, category_id: str) -> frozenset[str]:
        """The services of a category Google's tags belong to (for Consent Mode)."""
        return self._google.get(category_id, frozenset())

    def regime_for(self, country: str | None) -> Regime:
        """The regime for an ISO country code (None or unknown: the default)."""
        name = self.country_regimes.get(country.upper(), self.regime) if country else self.regime
        return REGIMES[name]

    def lifetime_days(self, regime: Regime) -> int:
        if self.consent_lifetime_days is None:
            return regime.default_lifetime_days
        return min(self.consent_lifetime_days, regime.max_lifetime_days)

    def pick_locale(self, wanted: str | None, accept_language: str | None = None) -> str:
        """The best policy locale for ``?locale=`` or an ``Accept-Language`` header."""
        candidates: list[str] = []
        if wanted:
            candidates.append(wanted)
        if accept_language:
            weighted = []
            for index, item in enumerate(accept_language.split(",")[:20]):
                tag, _, params = item.strip().partition(";")
                quality = 1.0
                if params.strip().startswith("q="):
                    try:
                        quality = float(params.strip()[2:])
                    except ValueError:
                        quality = 0.0
                if tag and quality > 0:
                    weighted.append((-quality, index, tag.strip()))
            candidates += [tag for _, _, tag in sorted(weighted)]
        for tag in candidates:
            tag = tag.lower().replace("_", "-")
            if tag in self.locales:
                return tag
            primary = tag.split("-", 1)[0]
            if primary in self.locales:
                return primary
        return self.default_locale

    def text(self, value: Localised, locale: str) -> str:
        return value.get(locale) or value.get(self.default_locale) or next(iter(value.values()), "")

    def ui_texts(self, locale: str) -> dict[str, str]:
        base = dict(in_locale(DEFAULT_TEXTS, locale))
        base.update(self.texts.get(locale, {}))
        return base

    def text_hash(self, locale: str) -> str:
        """SHA-256 of what a visitor is shown in ``locale``: the banner's texts and the
        privacy notice in force (the ledger's proof of what was agreed to)."""
        if locale not in self.locales:
            locale = self.default_locale
        known = self._hashes.get(locale)
        if known is None:
            if not _notice_hash:
                raise RuntimeError("consent_mw.notice is not loaded; import consent_mw first.")
            combined = f"{self._hash_texts(locale)}:{_notice_hash[0](self, locale)}"
            known = self._hashes[locale] = hashlib.sha256(combined.encode()).hexdigest()
        return known

    def _hash_texts(self, locale: str) -> str:
        categories: list[dict[str, Any]] = []
        for c in self.categories:
            shown_category: dict[str, Any] = {
                "id": c.id,
                "required": c.required,
                "title": self.text(c.title, locale),
                "description": self.text(c.description, locale),
                "retention": self.text(c.retention, locale) if c.retention else "",
            }
            if c.services:  # only then: the hash of a policy without services is unchanged
                shown_category["services"] = [
                    {
                        "name": s.name,
                        "purpose": self.text(s.purpose, locale) if s.purpose else "",
                        "retention": self.text(s.retention, locale) if s.retention else "",
                    }
                    for s in c.services
                ]
            categories.append(shown_category)
        shown = {"version": self.version, "texts": self.ui_texts(locale), "categories": categories}
        canonical = json.dumps(shown, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def accepts_version(self, version: str) -> bool:
        """Whether a consent given under ``version`` still stands under this policy."""
        return version == self.version or version in self.compatible_versions
