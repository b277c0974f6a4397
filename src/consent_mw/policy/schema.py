"""Tables of fields: how the field table (:mod:`consent_mw.policy.fields`) is walked.

A :class:`Field` is one TOML key: its kind (:mod:`consent_mw.policy.kinds`), whether it
is required, its default, a check of its own, and how a change to it weighs in a diff.
A :class:`Table` is the fields of one TOML table and the frozen record they build;
:class:`Entries` and :class:`Section` are the kinds made of tables. Two walks:
:func:`read_fields` reads a table's keys in order (every error a :class:`PolicyError`
naming the key as a person finds it in the file: ``categories[2].title.ko``), and
:func:`snapshot_table` turns a record back into the plain, comparable data
:mod:`consent_mw.policy.diff` walks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..exceptions import PolicyError
from .kinds import SKIP, Kind, Reading, Text, TextOf, typed

__all__ = [
    "ABSENT",
    "Check",
    "Coll",
    "Entries",
    "Field",
    "Major",
    "Section",
    "Seq",
    "Table",
    "read_fields",
    "snapshot_field",
    "snapshot_table",
]

#: how a change weighs in a diff (:mod:`consent_mw.policy.fields` says what each means)
Major = Literal[
    "always", "never", "added", "not_removed", "removed", "turned_on", "longer", "lowered"
]
#: a check run on a field's value once read: ``(reading, the entry so far, value, key)``
Check = Callable[[Reading, dict[str, Any], Any, str], None]

ABSENT: Any = object()
"""A field's default when it has none of its own: its kind's ``absent``."""


class Coll(dict[str, Any]):
    """Entries keyed by id: a key that appears or disappears is an entry added or removed."""


class Seq:
    """Entries without ids, paired by a key (their text) and then by position."""

    def __init__(self, entries: list[tuple[str, Any]]) -> None:
        self.entries = entries

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Seq) and self.entries == other.entries

    __hash__ = None  # type: ignore[assignment]


class Entries(Kind):
    """A list of entries, each a :class:`Table` (or a value of one kind, such as a text).

    With ``ids`` the entries are told apart by their field ``by`` (a category's ``id``):
    they snapshot as a :class:`Coll`, so an id that appears is an entry added. Without,
    they snapshot as a :class:`Seq` paired by ``by`` (a text, in the default locale) and
    then by position, so a reworded entry is still paired with its old self. An id, or a
    key that is no text, is left out of the entry's snapshot; a text key stays in it.
    """

    absent: Any = []

    def __init__(
        self, of: Table | Kind, *, what: str = "a list", by: str = "", ids: bool = False
    ) -> None:
        self.of = of
        self.table: Table | None = of if isinstance(of, Table) else None
        self.what = what
        self.by = by
        self.ids = ids

    def read(self, reading: Reading, value: Any, key: str, required: bool) -> Any:
        items = typed(value, list, key, self.what)
        if isinstance(self.of, Table):
            table = self.of
            return tuple(table.read(reading, v, f"{key}[{i}]") for i, v in enumerate(items))
        return tuple(self.of.read(reading, v, f"{key}[{i}]", True) for i, v in enumerate(items))

    def snap(self, value: Any, text_of: TextOf) -> Any:
        if isinstance(self.of, Table):
            by = self.of.field(self.by)
            textual = isinstance(by.kind, Text)
            skip = "" if textual else by.key
            pairs = [
                (
                    text_of(getattr(entry, by.key)) if textual else getattr(entry, by.key),
                    snapshot_table(self.of, entry, text_of, skip=skip),
                )
                for entry in value
            ]
        else:
            pairs = [(text_of(entry), self.of.snap(entry, text_of)) for entry in value]
        return Coll(pairs) if self.ids else Seq(pairs)


class Section(Kind):
    """A TOML table of fields of its own (``[controller]``); ``optional``: when it is
    missing the section is ``None`` (nothing declared, not an empty declaration)."""

    def __init__(self, of: Table, *, optional: bool = False) -> None:
        self.of = of
        self.table: Table = of
        self.absent = SKIP if optional else {}

    def read(self, reading: Reading, value: Any, key: str, required: bool) -> Any:
        return self.of.read(reading, value, key)

    def snap(self, value: Any, text_of: TextOf) -> Any:
        return None if value is None else snapshot_table(self.of, value, text_of)


@dataclass(frozen=True)
class Field:
    """One key of a TOML table. See :mod:`consent_mw.policy.fields` for each option."""

    key: str
    kind: Kind
    required: bool = False
    #: the raw value of a missing key, or a function ``(reading, entry so far)`` giving it
    default: Any = ABSENT
    check: Check | None = None
    #: how a change to it weighs in a diff; None: as the field it is part of
    major: Major | None = None
    #: the key of the day count that makes this text a period (``retention_days``)
    days: str = ""
    #: the record attributes one key fills, when it fills more than the one of its name
    attrs: tuple[str, ...] = ()
    #: applied to the value in the snapshot (processors' countries compare in upper case)
    snap: Callable[[Any], Any] | None = None
    #: read by the notice (from ``Policy.raw``), not by :meth:`Policy.from_dict`
    notice: bool = False


@dataclass
class Table:
    """The fields of one TOML table and the frozen record they build (``model``).

    ``closed``: a key not in the table is an error (the notice's sections; categories and
    the other enforcement tables ignore unknown keys). ``shorthand``: a bare string
    stands for ``{shorthand = string}`` (``cookies = ["_ga"]``).
    """

    fields: tuple[Field, ...]
    model: Callable[..., Any]
    what: str = "a table"
    closed: bool = False
    shorthand: str = ""

    def field(self, key: str) -> Field:
        return next(f for f in self.fields if f.key == key)

    def keys(self) -> set[str]:
        return {f.key for f in self.fields}

    def read(self, reading: Reading, value: Any, key: str) -> Any:
        if self.shorthand and isinstance(value, str):
            value = {self.shorthand: value}
        table = typed(value, Mapping, key, self.what)  # type: ignore[type-abstract]
        if self.closed:
            known = self.keys()
            for name in table:
                if name not in known:
                    raise PolicyError(f"{key}.{name}", f"is not a key of {key} (typo?)")
        return self.model(**read_fields(reading, self.fields, table, f"{key}.", {}))

    def rules(self) -> dict[str, tuple[Major | None, Table | None]]:
        """Each snapshot key: its own weight in a diff, and the table below it."""
        found: dict[str, tuple[Major | None, Table | None]] = {}
        for field in self.fields:
            below = field.kind.table if isinstance(field.kind, (Entries, Section)) else None
            for name in field.attrs or (field.key,):
                found[name] = (field.major, below)
            if field.days:
                # A period without a day count cannot be compared: any change to its
                # text counts as a longer one.
                found[f"{field.key}_period"] = ("always", None)
        return found


def read_fields(
    reading: Reading,
    fields: tuple[Field, ...] | list[Field],
    table: Mapping[str, Any],
    prefix: str,
    entry: dict[str, Any],
) -> dict[str, Any]:
    """Read ``fields`` from ``table`` into ``entry`` (record attribute → value), in order."""
    for field in fields:
        key = prefix + field.key
        if field.key in table:
            raw = table[field.key]
        elif field.required:
            raw = None
        elif field.default is ABSENT:
            raw = field.kind.absent
        else:
            raw = field.default(reading, entry) if callable(field.default) else field.default
        value: Any = None
        if raw is not SKIP:
            value = field.kind.read(reading, raw, key, field.required)
        if field.check is not None:
            field.check(reading, entry, value, key)
        if field.attrs:
            entry.update(zip(field.attrs, value, strict=True))
        else:
            entry[field.key] = value
    return entry


def snapshot_field(field: Field, record: Any, text_of: TextOf) -> dict[str, Any]:
    """``field`` of ``record`` as plain data, under its snapshot key(s)."""
    if field.days:
        # With a day count, the text is wording and the number decides; without one,
        # the text is the period itself.
        text = field.kind.snap(getattr(record, field.key), text_of)
        days = getattr(record, field.days)
        if days is None:
            return {f"{field.key}_period": text}
        return {field.key: text, field.days: days}
    if field.attrs:  # one key read into several attributes: each under its name
        values = field.kind.snap(tuple(getattr(record, a) for a in field.attrs), text_of)
        return dict(zip(field.attrs, values, strict=True))
    value = field.kind.snap(getattr(record, field.key), text_of)
    return {field.key: value if field.snap is None else field.snap(value)}


def snapshot_table(table: Table, record: Any, text_of: TextOf, *, skip: str = "") -> dict[str, Any]:
    """``record`` (built from ``table``) as plain data, field by field."""
    consumed = {f.days for f in table.fields if f.days}  # snapshotted with their text
    snapshot: dict[str, Any] = {}
    for field in table.fields:
        if field.key != skip and field.key not in consumed:
            snapshot.update(snapshot_field(field, record, text_of))
    return snapshot
