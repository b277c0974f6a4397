"""Export filters: which subjects, by their current state.

``Filters.from_params`` reads them from query parameters (HTTP) or options (CLI) and
names the parameter that is wrong; an unknown parameter is an error too, so a typo
never exports everything::

    Filters.from_params({"category": "advertising", "granted": "false"})   # who opted out
    Filters(policy_version="2026-11", regime="gdpr", since=1_790_000_000.0)

``category`` alone keeps subjects that made a choice for it; with ``granted`` only those
whose choice is that. ``service`` (with ``category``) keeps subjects whose choice allows
that service, the category whole or the service on its own (``granted=false``: those
whose choice refuses it)::

    Filters.from_params({"category": "advertising", "service": "Meta"})   # who allow Meta

``since`` is inclusive and ``until`` exclusive, on the time of the
current state; both take ISO 8601 (``2026-11-01``, ``2026-11-01T09:00:00+09:00``; no
zone means UTC) or seconds since the epoch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, get_args

from ..core.consent import Action, Source
from ..policy.regimes import REGIMES
from ..stores import Record
from .errors import BadQuery

__all__ = ["FILTER_NAMES", "Filters", "parse_bool", "parse_time"]

_CATEGORY = re.compile(r"[a-z][a-z0-9_-]{0,63}")
_SERVICE = re.compile(r"[^\x00-\x1f\x7f\"\\]{1,64}")
_VERSION = re.compile(r"[\x21-\x7e]{1,64}")
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}
SOURCES: tuple[str, ...] = get_args(Source)
ACTIONS: tuple[str, ...] = tuple(a for a in get_args(Action) if a != "delete")


def parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise BadQuery(f"{name} must be true or false, not {value!r}.", code="bad_filter")


def parse_time(name: str, value: str) -> float:
    """ISO 8601 (a date or a date-time; UTC when no zone is given) or epoch seconds."""
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            raise BadQuery(
                f"{name} must be an ISO 8601 date or time (2026-11-01, "
                f"2026-11-01T09:00:00Z) or seconds since the epoch, not {value!r}.",
                code="bad_filter",
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.timestamp()
    if not math.isfinite(seconds) or not 0 <= seconds < 1e11:
        raise BadQuery(f"{name} is out of range: {value!r}.", code="bad_filter")
    return seconds


def _pattern(name: str, value: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.fullmatch(value):
        raise BadQuery(f"{name} must be {what}, not {value!r}.", code="bad_filter")
    return value


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise BadQuery(
            f"{name} must be one of {', '.join(allowed)}, not {value!r}.", code="bad_filter"
        )
    return value


@dataclass(frozen=True)
class Filters:
    """Which current states an export keeps (every field ``None``: all of them)."""

    category: str | None = None
    granted: bool | None = None
    service: str | None = None
    policy_version: str | None = None
    regime: str | None = None
    country: str | None = None
    source: str | None = None
    action: str | None = None
    gpc: bool | None = None
    since: float | None = None
    until: float | None = None

    def __post_init__(self) -> None:
        if self.granted is not None and self.category is None:
            raise BadQuery(
                "granted needs category (granted=false&category=advertising).", code="bad_filter"
            )
        if self.service is not None and self.category is None:
            raise BadQuery(
                "service needs category (category=advertising&service=Meta).", code="bad_filter"
            )
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise BadQuery("until must be later than since.", code="bad_filter")

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> Filters:
        """Filters from text values by name (see the module docstring)."""
        unknown = sorted(set(params) - set(FILTER_NAMES))
        if unknown:
            raise BadQuery(
                f"Unknown filter {unknown[0]!r}; filters are {', '.join(FILTER_NAMES)}.",
                code="bad_filter",
            )
        values: dict[str, Any] = {}
        for name, raw in params.items():
            values[name] = _PARSERS[name](name, raw)
        return cls(**values)

    def to_params(self) -> dict[str, Any]:
        """The filters that are set (for the access log and the cursor fingerprint)."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @property
    def empty(self) -> bool:
        return not self.to_params()

    def fingerprint(self) -> str:
        text = json.dumps(self.to_params(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]

    def predicate(self) -> Callable[[Record], bool] | None:
        """A function that keeps the matching records, or ``None`` when all match."""
        checks: list[Callable[[Record], bool]] = []
        category, granted, service = self.category, self.granted, self.service
        if category is not None and service is not None:
            allows = granted is not False
            checks.append(lambda r: category in r.choices and r.allows(category, service) is allows)
        elif category is not None:
            if granted is None:
                checks.append(lambda r: category in r.choices)
            else:
                checks.append(lambda r: r.choices.get(category) is granted)
        country = self.country
        if country is not None:  # a custom country resolver may have written lower case
            checks.append(lambda r: (r.country or "").upper() == country)
        for name in ("policy_version", "regime", "source", "action", "gpc"):
            wanted = getattr(self, name)
            if wanted is not None:
                checks.append(_equals(name, wanted))
        since, until = self.since, self.until
        if since is not None:
            checks.append(lambda r: r.time >= since)
        if until is not None:
            checks.append(lambda r: r.time < until)
        if not checks:
            return None
        if len(checks) == 1:
            return checks[0]
        return lambda r: all(check(r) for check in checks)


def _equals(name: str, wanted: object) -> Callable[[Record], bool]:
    get = operator.attrgetter(name)
    return lambda record: bool(get(record) == wanted)


_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "category": lambda n, v: _pattern(n, v, _CATEGORY, "a category id such as advertising"),
    "granted": parse_bool,
    "service": lambda n, v: _pattern(n, v, _SERVICE, "a service name (1-64 characters)"),
    "policy_version": lambda n, v: _pattern(n, v, _VERSION, "a policy version (1-64 characters)"),
    "regime": lambda n, v: _one_of(n, v, tuple(REGIMES)),
    "country": lambda n, v: _pattern(n, v, _COUNTRY, "a two-letter ISO country code").upper(),
    "source": lambda n, v: _one_of(n, v, SOURCES),
    "action": lambda n, v: _one_of(n, v, ACTIONS),
    "gpc": parse_bool,
    "since": parse_time,
    "until": parse_time,
}

#: Every filter name, in the order of :class:`Filters`' fields.
FILTER_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Filters))
