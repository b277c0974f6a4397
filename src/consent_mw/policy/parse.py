"""Turn a policy dict (from TOML or code) into the validated fields of a :class:`Policy`.

Every error names the key that is wrong, in the dotted/indexed form a person
would use to find it in the file: ``categories[2].title.ko``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, TypeVar

from ..exceptions import PolicyError
from ..i18n.banner import TEXT_KEYS
from .parts import (
    CONSENT_MODE_TYPES,
    DEFAULT_CONSENT_MODE,
    Category,
    CookieSpec,
    Localised,
    Processor,
)
from .regimes import COUNTRY_REGIMES, REGIMES
from .trackers import Tracker

_CATEGORY_ID = re.compile(r"[a-z][a-z0-9_]{0,31}\Z")
_LOCALE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})?\Z")
_T = TypeVar("_T")

_TOP_KEYS = {
    "version",
    "categories",
    "locales",
    "default_locale",
    "regime",
    "consent_lifetime_days",
    "compatible_versions",
    "announced",
    "effective",
    "processors",
    "trackers",
    "texts",
    "gpc_last_update",
    # Sections read by the notice renderer; kept verbatim in Policy.raw.
    "controller",
    "retention",
    "rights",
    "security",
    "contacts",
    "history",
    "collected",
    "third_parties",
    "notice",
}


def _typed(value: Any, kind: type[_T], key: str, what: str) -> _T:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PolicyError(key, f"must be {what}, not {type(value).__name__}")
    return value


def _date(value: Any, key: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise PolicyError(key, f"must be a date like 2026-11-29, not {value!r}")


class _Parser:
    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = _typed(data, Mapping, "<root>", "a table")  # type: ignore[type-abstract]
        self.locales: tuple[str, ...] = ()

    def localised(self, value: Any, key: str, *, required: bool = True) -> Localised:
        if value is None:
            if required:
                raise PolicyError(key, "is missing")
            return {}
        if isinstance(value, str):
            if required and not value.strip():
                raise PolicyError(key, "needs a text")
            return {locale: value for locale in self.locales}
        table = _typed(value, Mapping, key, "a string or a table of locale = text")  # type: ignore[type-abstract]
        result: dict[str, str] = {}
        for locale, text in table.items():
            result[locale] = _typed(text, str, f"{key}.{locale}", "a string")
        if required:
            for locale in self.locales:
                if not result.get(locale, "").strip():
                    raise PolicyError(f"{key}.{locale}", f"needs a text in locale {locale!r}")
        return result

    def strings(self, value: Any, key: str) -> tuple[str, ...]:
        if value is None:
            return ()
        items = _typed(value, list, key, "a list of strings")
        return tuple(_typed(item, str, f"{key}[{i}]", "a string") for i, item in enumerate(items))

    def cookie(self, value: Any, key: str) -> CookieSpec:
        if isinstance(value, str):
            value = {"name": value}
        table = _typed(value, Mapping, key, "a cookie name or a table")  # type: ignore[type-abstract]
        name = _typed(table.get("name"), str, f"{key}.name", "a cookie name")
        if not name or any(ch in name for ch in ' \t;,="\\') or name.strip("*") == "":
            raise PolicyError(f"{key}.name", f"{name!r} is not a valid cookie name or pattern")
        return CookieSpec(
            name=name,
            owner=_typed(table.get("owner", ""), str, f"{key}.owner", "a string"),
            lifetime=self.localised(table.get("lifetime"), f"{key}.lifetime", required=False),
            purpose=self.localised(table.get("purpose"), f"{key}.purpose", required=False),
            third_party=_typed(
                table.get("third_party", False), bool, f"{key}.third_party", "true or false"
            ),
        )

    def category(self, value: Any, key: str, processor_ids: set[str]) -> Category:
        table = _typed(value, Mapping, key, "a table")  # type: ignore[type-abstract]
        cid = _typed(table.get("id"), str, f"{key}.id", "a category id")
        if not _CATEGORY_ID.match(cid):
            raise PolicyError(f"{key}.id", f"{cid!r} must be lowercase letters, digits or '_'")
        required = _typed(
            table.get("required", cid == "necessary"), bool, f"{key}.required", "true or false"
        )
        if cid == "necessary" and not required:
            raise PolicyError(f"{key}.required", "the 'necessary' category is always required")
        modes = self.strings(
            table.get("consent_mode", list(DEFAULT_CONSENT_MODE.get(cid, ()))),
            f"{key}.consent_mode",
        )
        for i, mode in enumerate(modes):
            if mode not in CONSENT_MODE_TYPES:
                raise PolicyError(
                    f"{key}.consent_mode[{i}]",
                    f"{mode!r} is not a Consent Mode v2 type ({', '.join(CONSENT_MODE_TYPES)})",
                )
        processors = self.strings(table.get("processors"), f"{key}.processors")
        for i, pid in enumerate(processors):
            if pid not in processor_ids:
                raise PolicyError(
                    f"{key}.processors[{i}]",
                    f"names processor {pid!r}, which [[processors]] does not define",
                )
        retention_days = table.get("retention_days")
        if retention_days is not None:
            _typed(retention_days, int, f"{key}.retention_days", "a whole number of days")
            if retention_days <= 0:
                raise PolicyError(f"{key}.retention_days", "must be at least 1")
        cookies = _typed(table.get("cookies", []), list, f"{key}.cookies", "a list")
        return Category(
            id=cid,
            required=required,
            title=self.localised(table.get("title"), f"{key}.title"),
            description=self.localised(table.get("description"), f"{key}.description"),
            cookies=tuple(self.cookie(c, f"{key}.cookies[{i}]") for i, c in enumerate(cookies)),
            hosts=self.strings(table.get("hosts"), f"{key}.hosts"),
            retention=self.localised(table.get("retention"), f"{key}.retention", required=False),
            retention_days=retention_days,
            processors=processors,
            consent_mode=modes,
            default_on=_typed(
                table.get("default_on", False), bool, f"{key}.default_on", "true or false"
            ),
        )

    def tracker(self, value: Any, key: str, category_ids: set[str]) -> Tracker:
        table = _typed(value, Mapping, key, "a table")  # type: ignore[type-abstract]
        owner = _typed(table.get("owner"), str, f"{key}.owner", "a string")
        category = _typed(table.get("category"), str, f"{key}.category", "a category id")
        if category not in category_ids:
            raise PolicyError(f"{key}.category", f"{category!r} is not one of the categories")
        return Tracker(
            owner=owner,
            category=category,
            cookies=self.strings(table.get("cookies"), f"{key}.cookies"),
            hosts=self.strings(table.get("hosts"), f"{key}.hosts"),
            inline=self.strings(table.get("inline"), f"{key}.inline"),
            click_ids=self.strings(table.get("click_ids"), f"{key}.click_ids"),
        )

    def processor(self, value: Any, key: str) -> Processor:
        table = _typed(value, Mapping, key, "a table")  # type: ignore[type-abstract]
        return Processor(
            id=_typed(table.get("id"), str, f"{key}.id", "a string"),
            name=self.localised(table.get("name"), f"{key}.name"),
            purpose=self.localised(table.get("purpose"), f"{key}.purpose"),
            country=_typed(table.get("country", ""), str, f"{key}.country", "a string"),
        )

    def policy(self) -> dict[str, Any]:
        data = self.data
        for name in data:
            if name not in _TOP_KEYS:
                raise PolicyError(name, "is not a policy key (typo?)")
        version = data.get("version")
        if isinstance(version, int) and not isinstance(version, bool):
            version = str(version)
        version = _typed(version, str, "version", "a version string")
        if not version.strip() or len(version) > 32:
            raise PolicyError("version", "must be 1 to 32 characters")
        locales = self.strings(data.get("locales", ["ko", "en"]), "locales")
        if not locales:
            raise PolicyError("locales", "must list at least one locale")
        for i, locale in enumerate(locales):
            if not _LOCALE.match(locale):
                raise PolicyError(f"locales[{i}]", f"{locale!r} is not a lowercase language tag")
        self.locales = locales
        default_locale = _typed(
            data.get("default_locale", locales[0]), str, "default_locale", "a locale"
        )
        if default_locale not in locales:
            raise PolicyError("default_locale", f"{default_locale!r} is not in locales")

        regime_table = data.get("regime", {})
        if isinstance(regime_table, str):
            regime_table = {"default": regime_table}
        regime_table = _typed(regime_table, Mapping, "regime", "a regime name or a table")  # type: ignore[type-abstract]
        regime = _typed(regime_table.get("default", "gdpr"), str, "regime.default", "a string")
        if regime not in REGIMES:
            raise PolicyError("regime.default", f"{regime!r} is not one of {sorted(REGIMES)}")
        countries = dict(COUNTRY_REGIMES)
        extra = _typed(regime_table.get("countries", {}), Mapping, "regime.countries", "a table")  # type: ignore[type-abstract]
        for country, name in extra.items():
            if name not in REGIMES:
                raise PolicyError(
                    f"regime.countries.{country}", f"{name!r} is not one of {sorted(REGIMES)}"
                )
            countries[country.upper()] = name

        lifetime = data.get("consent_lifetime_days")
        if lifetime is not None:
            _typed(lifetime, int, "consent_lifetime_days", "a whole number of days")
            limit = REGIMES[regime].max_lifetime_days
            if not 1 <= lifetime <= limit:
                raise PolicyError(
                    "consent_lifetime_days", f"must be between 1 and {limit} under {regime}"
                )

        processors_raw = _typed(data.get("processors", []), list, "processors", "a list")
        processors = tuple(
            self.processor(p, f"processors[{i}]") for i, p in enumerate(processors_raw)
        )
        processor_ids = {p.id for p in processors}

        categories_raw = _typed(data.get("categories"), list, "categories", "a list of tables")
        categories = tuple(
            self.category(c, f"categories[{i}]", processor_ids)
            for i, c in enumerate(categories_raw)
        )
        seen: set[str] = set()
        for i, category in enumerate(categories):
            if category.id in seen:
                raise PolicyError(f"categories[{i}].id", f"{category.id!r} appears twice")
            seen.add(category.id)
        if "necessary" not in seen:
            raise PolicyError("categories", "a 'necessary' category is required")

        trackers_raw = _typed(data.get("trackers", []), list, "trackers", "a list")
        trackers = tuple(
            self.tracker(t, f"trackers[{i}]", seen) for i, t in enumerate(trackers_raw)
        )

        texts_raw = _typed(data.get("texts", {}), Mapping, "texts", "a table")  # type: ignore[type-abstract]
        texts: dict[str, dict[str, str]] = {}
        for locale, table in texts_raw.items():
            _typed(table, Mapping, f"texts.{locale}", "a table")  # type: ignore[type-abstract]
            for text_key, text in table.items():
                if text_key not in TEXT_KEYS:
                    raise PolicyError(f"texts.{locale}.{text_key}", "is not a banner text key")
                texts.setdefault(locale, {})[text_key] = _typed(
                    text, str, f"texts.{locale}.{text_key}", "a string"
                )

        announced = _date(data.get("announced"), "announced")
        effective = _date(data.get("effective"), "effective")
        if announced and effective and effective < announced:
            raise PolicyError("effective", "comes before the announcement date")
        return dict(
            version=version,
            categories=categories,
            locales=locales,
            default_locale=default_locale,
            regime=regime,
            country_regimes=countries,
            consent_lifetime_days=lifetime,
            compatible_versions=frozenset(
                self.strings(data.get("compatible_versions"), "compatible_versions")
            ),
            announced=announced,
            effective=effective,
            processors=processors,
            trackers=trackers,
            texts=texts,
            gpc_last_update=_date(data.get("gpc_last_update"), "gpc_last_update"),
            raw=dict(data),
        )


def policy_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The validated fields of a policy read from ``data`` (the keyword arguments of
    :class:`~consent_mw.policy.model.Policy`); a problem is a :class:`PolicyError`."""
    if not isinstance(data, Mapping):
        raise PolicyError("<root>", f"must be a table, not {type(data).__name__}")
    return _Parser(data).policy()
