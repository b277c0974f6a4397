"""The checks, defaults and kinds that belong to one key each, for the field table
(:mod:`consent_mw.policy.fields`): a category id's form, the Consent Mode types, the
regime's limits, a cookie name, the banner text keys…

A check is ``(reading, the entry read so far, value, key)`` and raises a
:class:`~consent_mw.exceptions.PolicyError` naming ``key``; a default is
``(reading, the entry read so far)`` and gives the raw value of a missing key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..exceptions import PolicyError
from ..i18n.banner import TEXT_KEYS
from .embeds import shipped_embeds
from .kinds import NOTICE_TEXT, Kind, Reading, TextOf, typed
from .parts import (
    CONSENT_MODE_TYPES,
    DEFAULT_CONSENT_MODE,
    GPP_SECTIONS,
    SECTION_IDS,
    SIGNAL_VENDORS,
)
from .regimes import COUNTRY_REGIMES, REGIMES

__all__ = [
    "BannerTexts",
    "NoticeExtra",
    "Regime",
    "a_category",
    "after_announced",
    "category_id",
    "child_age_range",
    "cookie_name",
    "defined_processors",
    "first_locale",
    "is_necessary",
    "language_tags",
    "listed_locale",
    "mode_types",
    "necessary_required",
    "no_or_a_category",
    "regime_child_age",
    "standard_modes",
    "unique_with_necessary",
    "version_length",
    "within_regime",
]

_CATEGORY_ID = re.compile(r"[a-z][a-z0-9_]{0,31}\Z")
_LOCALE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})?\Z")


# -- checks and defaults that are one key's own ---------------------------------------------


def version_length(reading: Reading, entry: dict[str, Any], version: str, key: str) -> None:
    if not version.strip() or len(version) > 32:
        raise PolicyError(key, "must be 1 to 32 characters")


def language_tags(reading: Reading, entry: dict[str, Any], locales: Any, key: str) -> None:
    if not locales:
        raise PolicyError(key, "must list at least one locale")
    for i, locale in enumerate(locales):
        if not _LOCALE.match(locale):
            raise PolicyError(f"{key}[{i}]", f"{locale!r} is not a lowercase language tag")


def first_locale(reading: Reading, entry: dict[str, Any]) -> str:
    return str(entry["locales"][0])


def listed_locale(reading: Reading, entry: dict[str, Any], locale: str, key: str) -> None:
    if locale not in entry["locales"]:
        raise PolicyError(key, f"{locale!r} is not in locales")


def within_regime(reading: Reading, entry: dict[str, Any], days: int | None, key: str) -> None:
    if days is not None:
        regime = entry["regime"]
        limit = REGIMES[regime].max_lifetime_days
        if not 1 <= days <= limit:
            raise PolicyError(key, f"must be between 1 and {limit} under {regime}")


def after_announced(reading: Reading, entry: dict[str, Any], effective: Any, key: str) -> None:
    announced = entry["announced"]
    if announced and effective and effective < announced:
        raise PolicyError(key, "comes before the announcement date")


def unique_with_necessary(
    reading: Reading, entry: dict[str, Any], categories: Any, key: str
) -> None:
    seen: set[str] = set()
    for i, category in enumerate(categories):
        if category.id in seen:
            raise PolicyError(f"{key}[{i}].id", f"{category.id!r} appears twice")
        seen.add(category.id)
    if "necessary" not in seen:
        raise PolicyError(key, "a 'necessary' category is required")


def category_id(reading: Reading, entry: dict[str, Any], cid: str, key: str) -> None:
    if not _CATEGORY_ID.match(cid):
        raise PolicyError(key, f"{cid!r} must be lowercase letters, digits or '_'")


def is_necessary(reading: Reading, entry: dict[str, Any]) -> bool:
    return bool(entry["id"] == "necessary")


def necessary_required(reading: Reading, entry: dict[str, Any], required: bool, key: str) -> None:
    if entry["id"] == "necessary" and not required:
        raise PolicyError(key, "the 'necessary' category is always required")


def standard_modes(reading: Reading, entry: dict[str, Any]) -> list[str]:
    return list(DEFAULT_CONSENT_MODE.get(entry["id"], ()))


def signal_vendors(reading: Reading, entry: dict[str, Any], vendors: Any, key: str) -> None:
    for i, vendor in enumerate(vendors):
        if vendor not in SIGNAL_VENDORS:
            raise PolicyError(f"{key}[{i}]", f"{vendor!r} is not one of {list(SIGNAL_VENDORS)}")


def gpp_sections(reading: Reading, entry: dict[str, Any], sections: Any, key: str) -> None:
    for i, section in enumerate(sections):
        if section not in GPP_SECTIONS:
            raise PolicyError(
                f"{key}[{i}]",
                f"{section!r} is not a GPP section this server writes ({', '.join(GPP_SECTIONS)})",
            )


def mode_types(reading: Reading, entry: dict[str, Any], modes: Any, key: str) -> None:
    for i, mode in enumerate(modes):
        if mode not in CONSENT_MODE_TYPES:
            raise PolicyError(
                f"{key}[{i}]",
                f"{mode!r} is not a Consent Mode v2 type ({', '.join(CONSENT_MODE_TYPES)})",
            )


def defined_processors(reading: Reading, entry: dict[str, Any], ids: Any, key: str) -> None:
    def check() -> None:  # [[processors]] may come after the categories
        known = {p.id for p in reading.top["processors"]}
        for i, pid in enumerate(ids):
            if pid not in known:
                raise PolicyError(
                    f"{key}[{i}]", f"names processor {pid!r}, which [[processors]] does not define"
                )

    reading.when_read(check)


def a_category(reading: Reading, entry: dict[str, Any], category: str, key: str) -> None:
    if category not in {c.id for c in reading.top["categories"]}:
        raise PolicyError(key, f"{category!r} is not one of the categories")


def no_or_a_category(reading: Reading, entry: dict[str, Any], category: str, key: str) -> None:
    if category:
        a_category(reading, entry, category, key)


def cookie_name(reading: Reading, entry: dict[str, Any], name: str, key: str) -> None:
    if not name or any(ch in name for ch in ' \t;,="\\') or name.strip("*") == "":
        raise PolicyError(key, f"{name!r} is not a valid cookie name or pattern")


#: what a service name may be: printable, no separator the cookie or a form field uses
SERVICE_NAME = re.compile(r"[^\x00-\x1f\x7f\"\\]{1,64}\Z")


def service_name(reading: Reading, entry: dict[str, Any], name: str, key: str) -> None:
    if not SERVICE_NAME.match(name) or name != name.strip():
        raise PolicyError(key, f"{name!r} must be 1-64 printable characters, no quotes")


def cookie_names(reading: Reading, entry: dict[str, Any], names: tuple[str, ...], key: str) -> None:
    for index, name in enumerate(names):
        cookie_name(reading, entry, name, f"{key}[{index}]")


def regime_child_age(reading: Reading, entry: dict[str, Any]) -> int:
    return REGIMES[reading.top["regime"]].child_age


def child_age_range(reading: Reading, entry: dict[str, Any], age: int, key: str) -> None:
    if not 1 <= age <= 21:
        raise PolicyError(key, "must be an age between 1 and 21")


# -- kinds that are one key's own -------------------------------------------------------


class Regime(Kind):
    """``regime = "pipa"`` or ``[regime]`` with ``default`` and ``countries``; read into
    the default regime and the country → regime table (built-in countries first)."""

    absent: Any = {}

    def read(self, reading: Reading, value: Any, key: str, required: bool) -> Any:
        if isinstance(value, str):
            value = {"default": value}
        table = typed(value, Mapping, key, "a regime name or a table")  # type: ignore[type-abstract]
        regime = typed(table.get("default", "gdpr"), str, f"{key}.default", "a string")
        if regime not in REGIMES:
            raise PolicyError(f"{key}.default", f"{regime!r} is not one of {sorted(REGIMES)}")
        countries = dict(COUNTRY_REGIMES)
        extra = typed(table.get("countries", {}), Mapping, f"{key}.countries", "a table")  # type: ignore[type-abstract]
        for country, name in extra.items():
            if name not in REGIMES:
                raise PolicyError(
                    f"{key}.countries.{country}", f"{name!r} is not one of {sorted(REGIMES)}"
                )
            countries[country.upper()] = name
        return regime, countries

    def snap(self, value: Any, text_of: TextOf) -> Any:
        regime, countries = value
        return regime, dict(countries)


class BannerTexts(Kind):
    """``[texts.<locale>]``: the banner's texts a policy overrides (keys: TEXT_KEYS)."""

    absent: Any = {}

    def read(self, reading: Reading, value: Any, key: str, required: bool) -> Any:
        tables = typed(value, Mapping, key, "a table")  # type: ignore[type-abstract]
        texts: dict[str, dict[str, str]] = {}
        for locale, table in tables.items():
            typed(table, Mapping, f"{key}.{locale}", "a table")  # type: ignore[type-abstract]
            for name, text in table.items():
                if name not in TEXT_KEYS:
                    raise PolicyError(f"{key}.{locale}.{name}", "is not a banner text key")
                texts.setdefault(locale, {})[name] = typed(
                    text, str, f"{key}.{locale}.{name}", "a string"
                )
        return texts

    def snap(self, value: Any, text_of: TextOf) -> Any:
        return {locale: dict(table) for locale, table in value.items()}


class NoticeExtra(Kind):
    """``[notice.extra]``: paragraphs (a text or a list of texts) added to a section."""

    absent: Any = {}

    def read(self, reading: Reading, value: Any, key: str, required: bool) -> Any:
        table = typed(value, Mapping, key, "a table")  # type: ignore[type-abstract]
        extra: dict[str, tuple[Any, ...]] = {}
        for section, texts in table.items():
            at = f"{key}.{section}"
            if section not in SECTION_IDS:
                raise PolicyError(at, f"is not a notice section ({', '.join(SECTION_IDS)})")
            texts = texts if isinstance(texts, list) else [texts]
            extra[section] = tuple(
                NOTICE_TEXT.read(reading, text, f"{at}[{i}]", True) for i, text in enumerate(texts)
            )
        return extra

    def snap(self, value: Any, text_of: TextOf) -> Any:
        return {section: [dict(text) for text in texts] for section, texts in value.items()}


def an_optional_category(reading: Reading, entry: dict[str, Any], category: str, key: str) -> None:
    """``[embeds] category``: one of the categories, and one a visitor can refuse."""
    a_category(reading, entry, category, key)
    if any(c.id == category and c.required for c in reading.top["categories"]):
        raise PolicyError(key, f"{category!r} is required: embeds need a category one can refuse")


def shipped_services(reading: Reading, entry: dict[str, Any], names: Any, key: str) -> None:
    known = shipped_embeds()
    for i, name in enumerate(names):
        if name not in known:
            raise PolicyError(
                f"{key}[{i}]", f"{name!r} is not an embed service (one of {', '.join(known)})"
            )


def storage_keys(reading: Reading, entry: dict[str, Any], keys: Any, key: str) -> None:
    """``storage``: Web Storage key names or ``*`` patterns, none empty or only ``*``."""
    for i, name in enumerate(keys):
        if not name.strip("*") or name != name.strip():
            raise PolicyError(f"{key}[{i}]", f"{name!r} is not a storage key or pattern")
