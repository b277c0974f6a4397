"""What the query surface reads from a store besides records: pages and the access log.

- :class:`HistoryPage`: a subject's records, newest first, with a position after each
  one (a store-private string) to resume from.
- :class:`ScanBatch`: a batch of current states from a walk over every subject, sorted
  by subject id, with the cursor of the next batch.
- :class:`AccessEntry`: one line of the access log — who asked what, when. Every query
  of the ledger writes one, because the ledger holds personal data.

Positions and cursors are opaque strings whose meaning only the store that made them
knows (an offset from the oldest record, a row number, a SCAN cursor…).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .records import Record

__all__ = ["AccessEntry", "CursorError", "HistoryPage", "ScanBatch"]


class CursorError(ValueError):
    """A position or cursor that this store did not make (or cannot read any more)."""


#: The largest position a store hands out (SQLite's integers are signed 64-bit).
MAX_POSITION = 2**63 - 1


def parse_position(value: str) -> int:
    """A position that is a non-negative decimal number (what memory, SQLite and Redis
    history pages hand out)."""
    if not (value.isascii() and value.isdigit()) or len(value) > 20:
        raise CursorError(f"not a history position of this store: {value!r}")
    position = int(value)
    if position > MAX_POSITION:
        raise CursorError(f"not a history position of this store: {value!r}")
    return position


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """Records newest first; ``positions[i]`` resumes right after ``records[i]``;
    ``more`` says whether older records remain after the last one."""

    records: list[Record]
    positions: list[str]
    more: bool

    @property
    def next(self) -> str | None:
        """The position to ask for the next page, or ``None`` after the last page."""
        return self.positions[-1] if self.more and self.positions else None


@dataclass(frozen=True, slots=True)
class ScanBatch:
    """One batch of a walk over every current state, sorted by subject id.

    ``next`` is the cursor of the following batch (``None``: the walk is over) and
    ``start`` the cursor this batch was read with. On a *keyset* walk (SQLite, memory:
    ordered by subject id) a subject id is itself a cursor, so :meth:`after` can end a
    page in the middle of a batch. A Redis walk is a ``SCAN``: asking for ``start``
    again returns the batch's subjects (and perhaps a few more), never fewer, but
    there is no cursor for "inside this batch" — a page ends on a batch boundary.
    """

    records: list[Record]
    next: str | None
    start: str | None = None
    keyset: bool = True

    def after(self, record: Record) -> str:
        """A cursor resuming right after ``record`` of this batch (keyset walks only)."""
        if not self.keyset:
            raise CursorError("a SCAN walk cannot resume inside a batch; use start or next.")
        return record.subject_id


@dataclass(frozen=True)
class AccessEntry:
    """One query of the ledger: who (``actor``: a token's name, never the token), how
    (``via``: http, cli or python; ``route``: e.g. ``GET /subjects/{id}``), what
    (``action`` and ``params``: the ids or the filters), when (``time``, seconds since
    the epoch).

    ``token_id`` is the first 12 hex digits of the token's SHA-256 (which token, not the
    token); ``scope`` the scope it carried."""

    time: float
    actor: str
    action: str
    via: str
    params: Mapping[str, Any] = field(default_factory=dict)
    token_id: str | None = None
    scope: str | None = None
    route: str | None = None

    def to_dict(self) -> dict[str, Any]:
        # Not dataclasses.asdict(): it deep-copies params (a lookup's thousand ids, every
        # query) only for the copy to be replaced by this shallow one.
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["params"] = dict(self.params)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> AccessEntry:
        data = json.loads(text)
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
