"""The kinds of value a policy key holds, in the words the field table
(:mod:`consent_mw.policy.fields`) is written in: a text per locale, a string, a list of
strings, a flag, a number of days, a date, a version.

Each reads a raw value (from TOML or a dict) with the key to name in a
:class:`~consent_mw.exceptions.PolicyError`, and turns what it read into plain data a
diff compares. Tables and lists of tables are in :mod:`consent_mw.policy.schema`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..exceptions import PolicyError

__all__ = [
    "DATE",
    "DAYS",
    "FLAG",
    "NOTICE_TEXT",
    "SKIP",
    "STR",
    "STRINGS",
    "TEXT",
    "VERSION",
    "Choice",
    "Flag",
    "Int",
    "Kind",
    "Reading",
    "Str",
    "Strings",
    "Text",
    "TextOf",
    "Url",
    "read_date",
    "typed",
]

_T = TypeVar("_T")

#: the text a snapshot keys a localised value by (its text in the default locale)
TextOf = Callable[[Mapping[str, str]], str]

SKIP: Any = object()
"""A kind's :attr:`Kind.absent` meaning: a missing key is ``None``, nothing is read."""
_URL_SCHEMES = ("https://", "http://", "mailto:", "tel:", "/")


def typed(value: Any, kind: type[_T], key: str, what: str) -> _T:
    """``value`` if it is a ``kind`` (a bool is no int), else a PolicyError at ``key``."""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PolicyError(key, f"must be {what}, not {type(value).__name__}")
    return value


def read_date(value: Any, key: str) -> dt.date | None:
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


class Reading:
    """What a read knows besides the value at hand: the policy's attributes read so far
    (all of them when the notice's sections are read) and the checks that wait until the
    whole policy is read (a category naming a processor defined further down)."""

    def __init__(self, top: dict[str, Any]) -> None:
        self.top = top
        self._waiting: list[Callable[[], None]] = []

    @property
    def locales(self) -> tuple[str, ...]:
        locales: tuple[str, ...] = self.top["locales"]
        return locales

    def when_read(self, check: Callable[[], None]) -> None:
        self._waiting.append(check)

    def finish(self) -> None:
        for check in self._waiting:
            check()


# -- kinds -------------------------------------------------------------------------------


class Kind:
    """How a value is read (``read``, with the key to name in an error) and turned into
    plain, comparable data (``snap``). ``absent`` is what a missing key reads as, as in
    ``table.get(key, absent)``: a kind whose ``absent`` is :data:`SKIP` is ``None`` when
    missing, nothing read."""

    absent: Any = None

    def read(self, reading: Reading, value: Any, key: str, required: bool) -> Any:
        raise NotImplementedError

    def snap(self, value: Any, text_of: TextOf) -> Any:
        return value


class Text(Kind):
    """A text per locale: a string (the same in every locale) or a table
    ``{ ko = "…", en = "…" }``. Required: every locale of the policy needs a text. A blank
    string is one error at the key, or (``per_locale``) one at its first locale."""

    def __init__(self, *, per_locale: bool = False) -> None:
        self.per_locale = per_locale

    def read(self, reading: Reading, value: Any, key: str, required: bool) -> Any:
        if value is None:
            if required:
                raise PolicyError(key, "is missing")
            return {}
        if isinstance(value, str):
            if required and not self.per_locale and not value.strip():
                raise PolicyError(key, "needs a text")
            result = {locale: value for locale in reading.locales}
        else:
            table = typed(value, Mapping, key, "a string or a table of locale = text")  # type: ignore[type-abstract]
            result = {
                locale: typed(text, str, f"{key}.{locale}", "a string")
                for locale, text in table.items()
            }
        if required:
            for locale in reading.locales:
                if not result.get(locale, "").strip():
                    raise PolicyError(f"{key}.{locale}", f"needs a text in locale {locale!r}")
        return result

    def snap(self, value: Any, text_of: TextOf) -> Any:
        return dict(value)


class Str(Kind):
    """A string (``""`` when absent)."""

    absent = ""

    def __init__(self, what: str = "a string", *, upper: bool = False) -> None:
        self.what = what
        self.upper = upper

    def read(self, reading: Reading, value: Any, key: str, required: bool) -> Any:
        text = typed(value, str, key, self.what)
        return text.upper() if self.upper else text


class Url(Str):
    """A link the notice shows: https, http, mailto, tel or a path (never ``javascript:``)."""

    def read(self, reading: Reading, value: Any, key: str, required: bool) -> Any:
        url = typed(value, str, key, self.what)
        if url and not url.startswith(_URL_SCHEMES):
            raise PolicyError(key, "must start with https://, http://, mailto:, tel: or /")
        return url


class Choice(Str):
    """One of ``options``; an empty string (or a missing key) is ``fallback``."""

    def __init__(self, options: tuple[str, ...], fallback: str) -> None:
        super().__init__()
        self.options = options
        self.fallback = fallback

    def read(self, reading: Reading, value: Any, key: str, required: bool) -> Any:
        choice = typed(value, str, key, self.what) or self.fallback
        if choice not in self.options:
            raise PolicyError(key, f"{choice!r} is not one of {list(self.options)}")
        return choice


class Version(Kind):
    """A version string (a number is taken as one)."""

    def read(self, reading: Reading, value: Any, key: str, required: bool) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        return typed(value, str, key, "a version string")


class Flag(Kind):
    """true or false (``optional``: or none at all)."""

    def __init__(self, *, optional: bool = False) -> None:
        self.optional = optional
        self.absent = None if optional else False

    def read(self, reading: Reading, value: Any, key: str, required: bool) -> Any:
        if value is None and self.optional:
            return None
        return typed(value, bool, key, "true or false")


class Int(Kind):
    """A whole number (``optional``: or none), at least ``at_least`` if given."""

    def __init__(self, what: str, *, optional: bool = False, at_least: int | None = None) -> None:
        self.what = what
        self.optional = optional
        self.at_least = at_least

    def read(self, reading: Reading, value: Any, key: str, required: bool) -> Any:
        if value is None and self.optional:
            return None
        number = typed(value, int, key, self.what)
        if self.at_least is not None and number < self.at_least:
            raise PolicyError(key, f"must be at least {self.at_least}")
        return number


class _Date(Kind):
    def read(self, reading: Reading, value: Any, key: str, required: bool) -> Any:
        return read_date(value, key)

    def snap(self, value: Any, text_of: TextOf) -> Any:
        return value.isoformat() if value else None


class Strings(Kind):
    """A list of strings; none is an empty list unless ``none_ok`` is false. Snapshotted
    as a set: a string that appears or disappears is one added or removed."""

    def __init__(
        self, what: str = "a list of strings", *, none_ok: bool = True, frozen: bool = False
    ) -> None:
        self.what = what
        self.none_ok = none_ok
        self.frozen = frozen
        self.absent = None if none_ok else []

    def read(self, reading: Reading, value: Any, key: str, required: bool) -> Any:
        if value is None and self.none_ok:
            items: list[Any] = []
        else:
            items = typed(value, list, key, self.what)
        strings = tuple(typed(item, str, f"{key}[{i}]", "a string") for i, item in enumerate(items))
        return frozenset(strings) if self.frozen else strings

    def snap(self, value: Any, text_of: TextOf) -> Any:
        return frozenset(value)


TEXT = Text()
NOTICE_TEXT = Text(per_locale=True)
STR = Str()
STRINGS = Strings()
FLAG = Flag()
DAYS = Int("a whole number of days", optional=True, at_least=1)
DATE = _Date()
VERSION = Version()
