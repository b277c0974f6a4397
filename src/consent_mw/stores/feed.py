"""The change feed: every consent change of the ledger, in order, resumable.

A store writes one :class:`Change` in the same atomic step as the ledger record it
reports (the same Lua script on Redis, the same transaction on SQLite and Django), so a
reader that resumes from a cursor sees every change once and never a change whose
record is missing. Cursors are opaque, ordered strings: a Redis Stream entry id
(``1733400000000-0``) on Redis, a row number elsewhere; ``"0"`` is "before the first".

Deletions appear as their ``delete`` proof record (no choices): a consumer removes the
subject from wherever it copied it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .paging import CursorError, parse_position
from .records import Record

__all__ = ["FEED_START", "Change", "ChangePage", "parse_row_cursor"]

#: The cursor before the first change of every store.
FEED_START = "0"


@dataclass(frozen=True, slots=True)
class Change:
    """One consent change: ``record`` as appended, ``cursor`` to resume right after it."""

    cursor: str
    record: Record


@dataclass(frozen=True, slots=True)
class ChangePage:
    """Changes after a cursor, oldest first; ``next`` resumes after the last one (or
    is the cursor asked with when there was nothing new)."""

    changes: list[Change]
    next: str


def parse_row_cursor(cursor: str) -> int:
    """A row-number cursor (memory, SQLite, Django): a decimal number."""
    try:
        return parse_position(cursor)
    except CursorError:
        raise CursorError(f"not a change-feed cursor of this store: {cursor!r}") from None
