"""Read the policy sections only the notice uses (kept verbatim in ``Policy.raw``).

The core parser checks what enforcement needs and keeps these sections as
they are; this module validates them, with the same dotted key names in its
:class:`~consent_mw.exceptions.PolicyError` messages, and turns them into
frozen records that :mod:`consent_mw.notice` renders and
:mod:`consent_mw.policy_diff` compares. The TOML format of every section is
described in :mod:`consent_mw.notice`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..exceptions import PolicyError
from .model import Localised, Policy
from .parse import _date, _typed
from .regimes import REGIMES

__all__ = [
    "Collected",
    "Contact",
    "Controller",
    "HistoryEntry",
    "Item",
    "Measure",
    "NoticeOptions",
    "SECTION_IDS",
    "NoticeSource",
    "Rights",
    "StatutoryRecord",
    "ThirdParty",
    "read_source",
]

SECTION_IDS: tuple[str, ...] = (
    "collected",
    "purposes",
    "processors",
    "third-parties",
    "retention",
    "destruction",
    "rights",
    "children",
    "cookies",
    "customised-ads",
    "security",
    "contacts",
    "changes",
)

MeasureKind = Literal["administrative", "technical", "physical"]
_MEASURE_KINDS: tuple[str, ...] = ("administrative", "technical", "physical")
_URL_SCHEMES = ("https://", "http://", "mailto:", "tel:", "/")


@dataclass(frozen=True)
class Item:
    """One collected item; ``category`` ties it to a consent category (or is empty)."""

    item: Localised
    purpose: Localised = field(default_factory=dict)
    when: Localised = field(default_factory=dict)
    category: str = ""


@dataclass(frozen=True)
class Collected:
    required: tuple[Item, ...] = ()
    optional: tuple[Item, ...] = ()
    automatic: tuple[Item, ...] = ()


@dataclass(frozen=True)
class Controller:
    name: Localised = field(default_factory=dict)
    privacy_officer: Localised = field(default_factory=dict)
    department: Localised = field(default_factory=dict)
    address: Localised = field(default_factory=dict)
    helpdesk: str = ""
    phone: str = ""
    email: str = ""
    country: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatutoryRecord:
    record: Localised
    law: Localised
    keep: Localised
    keep_days: int | None = None


@dataclass(frozen=True)
class ThirdParty:
    name: Localised
    purpose: Localised
    items: Localised
    retention: Localised
    country: str = ""


@dataclass(frozen=True)
class Measure:
    measure: Localised
    kind: MeasureKind = "technical"


@dataclass(frozen=True)
class Contact:
    name: Localised
    role: Localised = field(default_factory=dict)
    phone: str = ""
    url: str = ""
    email: str = ""


@dataclass(frozen=True)
class HistoryEntry:
    version: str
    announced: dt.date | None
    effective: dt.date | None
    summary: Localised = field(default_factory=dict)
    major: bool | None = None
    url: str = ""


@dataclass(frozen=True)
class Rights:
    how: Localised = field(default_factory=dict)
    extra: tuple[Localised, ...] = ()
    child_age: int = 14


@dataclass(frozen=True)
class NoticeOptions:
    title: Localised = field(default_factory=dict)
    intro: Localised = field(default_factory=dict)
    extra: Mapping[str, tuple[Localised, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class NoticeSource:
    """Everything the notice needs beyond the enforcement model, validated."""

    controller: Controller
    collected: Collected | None
    retention: tuple[StatutoryRecord, ...]
    third_parties: tuple[ThirdParty, ...]
    security: tuple[Measure, ...]
    contacts: tuple[Contact, ...]
    history: tuple[HistoryEntry, ...]
    rights: Rights
    notice: NoticeOptions


class _Reader:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.raw = policy.raw

    def table(self, value: Any, key: str, allowed: set[str]) -> Mapping[str, Any]:
        table: Mapping[str, Any] = _typed(value, Mapping, key, "a table")  # type: ignore[type-abstract]
        for name in table:
            if name not in allowed:
                raise PolicyError(f"{key}.{name}", f"is not a key of {key} (typo?)")
        return table

    def tables(self, name: str) -> list[tuple[str, Any]]:
        items = _typed(self.raw.get(name, []), list, name, "a list of tables ([[" + name + "]])")
        return [(f"{name}[{i}]", item) for i, item in enumerate(items)]

    def text(self, value: Any, key: str, *, required: bool = False) -> Localised:
        if value is None:
            if required:
                raise PolicyError(key, "is missing")
            return {}
        if isinstance(value, str):
            result = {locale: value for locale in self.policy.locales}
        else:
            table = _typed(value, Mapping, key, "a string or a table of locale = text")  # type: ignore[type-abstract]
            result = {
                locale: _typed(text, str, f"{key}.{locale}", "a string")
                for locale, text in table.items()
            }
        if required:
            for locale in self.policy.locales:
                if not result.get(locale, "").strip():
                    raise PolicyError(f"{key}.{locale}", f"needs a text in locale {locale!r}")
        return result

    def string(self, table: Mapping[str, Any], name: str, key: str) -> str:
        return _typed(table.get(name, ""), str, f"{key}.{name}", "a string")

    def url(self, table: Mapping[str, Any], name: str, key: str) -> str:
        url = self.string(table, name, key)
        # The notice turns these into links: refuse javascript: and other schemes.
        if url and not url.startswith(_URL_SCHEMES):
            raise PolicyError(
                f"{key}.{name}", "must start with https://, http://, mailto:, tel: or /"
            )
        return url

    def days(self, table: Mapping[str, Any], name: str, key: str) -> int | None:
        value = table.get(name)
        if value is None:
            return None
        _typed(value, int, f"{key}.{name}", "a whole number of days")
        if value <= 0:
            raise PolicyError(f"{key}.{name}", "must be at least 1")
        return int(value)

    def item(self, value: Any, key: str) -> Item:
        if isinstance(value, str):
            value = {"item": value}
        table = self.table(value, key, {"item", "purpose", "when", "category"})
        category = self.string(table, "category", key)
        if category and not self.policy.has_category(category):
            raise PolicyError(f"{key}.category", f"{category!r} is not one of the categories")
        return Item(
            item=self.text(table.get("item"), f"{key}.item", required=True),
            purpose=self.text(table.get("purpose"), f"{key}.purpose"),
            when=self.text(table.get("when"), f"{key}.when"),
            category=category,
        )

    def collected(self) -> Collected | None:
        if "collected" not in self.raw:
            return None
        table = self.table(
            self.raw["collected"], "collected", {"required", "optional", "automatic"}
        )
        lists: dict[str, tuple[Item, ...]] = {}
        for name in ("required", "optional", "automatic"):
            key = f"collected.{name}"
            items = _typed(table.get(name, []), list, key, "a list of items")
            lists[name] = tuple(self.item(v, f"{key}[{i}]") for i, v in enumerate(items))
        return Collected(**lists)

    def controller(self) -> Controller:
        key = "controller"
        allowed = {"name", "privacy_officer", "department", "address", "helpdesk", "phone"}
        allowed |= {"email", "country", "aliases"}
        table = self.table(self.raw.get(key, {}), key, allowed)
        aliases = _typed(table.get("aliases", []), list, f"{key}.aliases", "a list of names")
        return Controller(
            name=self.text(table.get("name"), f"{key}.name"),
            privacy_officer=self.text(table.get("privacy_officer"), f"{key}.privacy_officer"),
            department=self.text(table.get("department"), f"{key}.department"),
            address=self.text(table.get("address"), f"{key}.address"),
            helpdesk=self.string(table, "helpdesk", key),
            phone=self.string(table, "phone", key),
            email=self.string(table, "email", key),
            country=self.string(table, "country", key).upper(),
            aliases=tuple(
                _typed(a, str, f"{key}.aliases[{i}]", "a string") for i, a in enumerate(aliases)
            ),
        )

    def retention(self) -> tuple[StatutoryRecord, ...]:
        rows = []
        for key, value in self.tables("retention"):
            table = self.table(value, key, {"record", "law", "keep", "keep_days"})
            rows.append(
                StatutoryRecord(
                    record=self.text(table.get("record"), f"{key}.record", required=True),
                    law=self.text(table.get("law"), f"{key}.law", required=True),
                    keep=self.text(table.get("keep"), f"{key}.keep", required=True),
                    keep_days=self.days(table, "keep_days", key),
                )
            )
        return tuple(rows)

    def third_parties(self) -> tuple[ThirdParty, ...]:
        rows = []
        for key, value in self.tables("third_parties"):
            table = self.table(value, key, {"name", "purpose", "items", "retention", "country"})
            rows.append(
                ThirdParty(
                    name=self.text(table.get("name"), f"{key}.name", required=True),
                    purpose=self.text(table.get("purpose"), f"{key}.purpose", required=True),
                    items=self.text(table.get("items"), f"{key}.items", required=True),
                    retention=self.text(table.get("retention"), f"{key}.retention", required=True),
                    country=self.string(table, "country", key).upper(),
                )
            )
        return tuple(rows)

    def security(self) -> tuple[Measure, ...]:
        rows = []
        for key, value in self.tables("security"):
            table = self.table(value, key, {"measure", "kind"})
            kind = self.string(table, "kind", key) or "technical"
            if kind not in _MEASURE_KINDS:
                raise PolicyError(f"{key}.kind", f"{kind!r} is not one of {list(_MEASURE_KINDS)}")
            measure = self.text(table.get("measure"), f"{key}.measure", required=True)
            rows.append(Measure(measure=measure, kind=kind))  # type: ignore[arg-type]
        return tuple(rows)

    def contacts(self) -> tuple[Contact, ...]:
        rows = []
        for key, value in self.tables("contacts"):
            table = self.table(value, key, {"name", "role", "phone", "url", "email"})
            rows.append(
                Contact(
                    name=self.text(table.get("name"), f"{key}.name", required=True),
                    role=self.text(table.get("role"), f"{key}.role"),
                    phone=self.string(table, "phone", key),
                    url=self.url(table, "url", key),
                    email=self.string(table, "email", key),
                )
            )
        return tuple(rows)

    def history(self) -> tuple[HistoryEntry, ...]:
        rows = []
        for key, value in self.tables("history"):
            allowed = {"version", "announced", "effective", "summary", "major", "url"}
            table = self.table(value, key, allowed)
            version = table.get("version")
            if isinstance(version, int) and not isinstance(version, bool):
                version = str(version)
            announced = _date(table.get("announced"), f"{key}.announced")
            effective = _date(table.get("effective"), f"{key}.effective")
            if announced and effective and effective < announced:
                raise PolicyError(f"{key}.effective", "comes before the announcement date")
            major = table.get("major")
            rows.append(
                HistoryEntry(
                    version=_typed(version, str, f"{key}.version", "a version string"),
                    announced=announced,
                    effective=effective,
                    summary=self.text(table.get("summary"), f"{key}.summary"),
                    major=None
                    if major is None
                    else _typed(major, bool, f"{key}.major", "true or false"),
                    url=self.url(table, "url", key),
                )
            )
        return tuple(rows)

    def rights(self) -> Rights:
        table = self.table(self.raw.get("rights", {}), "rights", {"how", "extra", "child_age"})
        extra = _typed(table.get("extra", []), list, "rights.extra", "a list of texts")
        child_age = table.get("child_age", REGIMES[self.policy.regime].child_age)
        _typed(child_age, int, "rights.child_age", "a whole number of years")
        if not 1 <= child_age <= 21:
            raise PolicyError("rights.child_age", "must be an age between 1 and 21")
        return Rights(
            how=self.text(table.get("how"), "rights.how"),
            extra=tuple(
                self.text(v, f"rights.extra[{i}]", required=True) for i, v in enumerate(extra)
            ),
            child_age=child_age,
        )

    def notice(self) -> NoticeOptions:
        table = self.table(self.raw.get("notice", {}), "notice", {"title", "intro", "extra"})
        extra_raw = _typed(table.get("extra", {}), Mapping, "notice.extra", "a table")  # type: ignore[type-abstract]
        extra: dict[str, tuple[Localised, ...]] = {}
        for section, value in extra_raw.items():
            key = f"notice.extra.{section}"
            if section not in SECTION_IDS:
                raise PolicyError(key, f"is not a notice section ({', '.join(SECTION_IDS)})")
            values = value if isinstance(value, list) else [value]
            extra[section] = tuple(
                self.text(v, f"{key}[{i}]", required=True) for i, v in enumerate(values)
            )
        return NoticeOptions(
            title=self.text(table.get("title"), "notice.title"),
            intro=self.text(table.get("intro"), "notice.intro"),
            extra=extra,
        )


def read_source(policy: Policy) -> NoticeSource:
    """Validate the notice sections of ``policy``; raises PolicyError naming the key."""
    reader = _Reader(policy)
    return NoticeSource(
        controller=reader.controller(),
        collected=reader.collected(),
        retention=reader.retention(),
        third_parties=reader.third_parties(),
        security=reader.security(),
        contacts=reader.contacts(),
        history=reader.history(),
        rights=reader.rights(),
        notice=reader.notice(),
    )
