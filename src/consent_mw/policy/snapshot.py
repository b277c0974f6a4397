"""A policy as plain, comparable data: what :mod:`consent_mw.policy_diff` walks.

Entries with ids (categories, processors, trackers, cookies) become
:class:`Coll` mappings, so an id that appears or disappears is an entry added
or removed. Entries without ids (statutory records, contacts, collected
items…) become :class:`Seq` lists keyed by their text, so a reworded entry
can still be paired with its old self.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from .model import Localised, Policy
from .notice_source import Item, read_source

__all__ = ["Coll", "Seq", "plain", "snapshot"]


class Coll(dict[str, Any]):
    """Entries keyed by id: a key that appears or disappears is an entry added or removed."""


class Seq:
    """Entries without ids, paired by a key (their text) and then by position."""

    def __init__(self, entries: list[tuple[str, Any]]) -> None:
        self.entries = entries

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Seq) and self.entries == other.entries

    __hash__ = None  # type: ignore[assignment]


# -- snapshot: a policy as comparable plain data ------------------------------


def snapshot(policy: Policy) -> dict[str, Any]:
    source = read_source(policy)

    def key(value: Localised) -> str:
        return policy.text(value, policy.default_locale)

    def loc(value: Localised) -> dict[str, str]:
        return dict(value)

    def period(text: Localised, days: int | None, name: str) -> dict[str, Any]:
        # With a day count, the text is wording and the number decides; without
        # one, the text is the period itself.
        if days is None:
            return {f"{name}_period": loc(text)}
        return {name: loc(text), f"{name}_days": days}

    def items(values: tuple[Item, ...]) -> Seq:
        return Seq(
            [
                (
                    key(i.item),
                    {
                        "item": loc(i.item),
                        "purpose": loc(i.purpose),
                        "when": loc(i.when),
                        "category": i.category,
                    },
                )
                for i in values
            ]
        )

    def date(value: dt.date | None) -> str | None:
        return value.isoformat() if value else None

    categories = Coll()
    for c in policy.categories:
        categories[c.id] = {
            "title": loc(c.title),
            "description": loc(c.description),
            "required": c.required,
            "default_on": c.default_on,
            "cookies": Coll(
                (
                    s.name,
                    {
                        "owner": s.owner,
                        "lifetime": loc(s.lifetime),
                        "purpose": loc(s.purpose),
                        "third_party": s.third_party,
                    },
                )
                for s in c.cookies
            ),
            "hosts": frozenset(c.hosts),
            "processors": frozenset(c.processors),
            "consent_mode": frozenset(c.consent_mode),
            **period(c.retention, c.retention_days, "retention"),
        }
    collected = source.collected
    controller = source.controller
    return {
        "version": policy.version,
        "announced": date(policy.announced),
        "effective": date(policy.effective),
        "gpc_last_update": date(policy.gpc_last_update),
        "locales": frozenset(policy.locales),
        "default_locale": policy.default_locale,
        "regime": policy.regime,
        "country_regimes": dict(policy.country_regimes),
        "consent_lifetime_days": policy.consent_lifetime_days,
        "compatible_versions": frozenset(policy.compatible_versions),
        "categories": categories,
        "processors": Coll(
            (p.id, {"name": loc(p.name), "purpose": loc(p.purpose), "country": p.country.upper()})
            for p in policy.processors
        ),
        "trackers": Coll(
            (
                t.owner,
                {
                    "category": t.category,
                    "cookies": frozenset(t.cookies),
                    "hosts": frozenset(t.hosts),
                    "inline": frozenset(t.inline),
                    "click_ids": frozenset(t.click_ids),
                },
            )
            for t in policy.trackers
        ),
        "texts": {locale: dict(table) for locale, table in policy.texts.items()},
        "collected": None
        if collected is None
        else {
            "required": items(collected.required),
            "optional": items(collected.optional),
            "automatic": items(collected.automatic),
        },
        "retention": Seq(
            [
                (
                    key(r.record),
                    {"record": loc(r.record), "law": loc(r.law)}
                    | period(r.keep, r.keep_days, "keep"),
                )
                for r in source.retention
            ]
        ),
        "third_parties": Seq(
            [
                (
                    key(t.name),
                    {
                        "name": loc(t.name),
                        "purpose": loc(t.purpose),
                        "items": loc(t.items),
                        "retention": loc(t.retention),
                        "country": t.country,
                    },
                )
                for t in source.third_parties
            ]
        ),
        "controller": {
            "name": loc(controller.name),
            "privacy_officer": loc(controller.privacy_officer),
            "department": loc(controller.department),
            "address": loc(controller.address),
            "helpdesk": controller.helpdesk,
            "phone": controller.phone,
            "email": controller.email,
            "country": controller.country,
            "aliases": frozenset(controller.aliases),
        },
        "security": Seq(
            [(key(m.measure), {"kind": m.kind, "measure": loc(m.measure)}) for m in source.security]
        ),
        "contacts": Seq(
            [
                (
                    key(b.name),
                    {"name": loc(b.name), "role": loc(b.role), "phone": b.phone}
                    | {"url": b.url, "email": b.email},
                )
                for b in source.contacts
            ]
        ),
        "history": Seq(
            [
                (
                    h.version,
                    {
                        "announced": date(h.announced),
                        "effective": date(h.effective),
                        "summary": loc(h.summary),
                        "major": h.major,
                        "url": h.url,
                    },
                )
                for h in source.history
            ]
        ),
        "rights": {
            "how": loc(source.rights.how),
            "extra": Seq([(key(v), loc(v)) for v in source.rights.extra]),
            "child_age": source.rights.child_age,
        },
        "notice": {
            "title": loc(source.notice.title),
            "intro": loc(source.notice.intro),
            "extra": {sid: [loc(v) for v in values] for sid, values in source.notice.extra.items()},
        },
    }


def plain(value: Any) -> Any:
    """JSON-friendly: sets become sorted lists, collections plain dicts and lists."""
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, Seq):
        return [plain(v) for _, v in value.entries]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
