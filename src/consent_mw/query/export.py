"""Streaming exports: :class:`ExportRun` and its JSON Lines / CSV encodings.

An export walks every current state in store batches (``scan_current``: SQLite and
memory by keyset, Redis by ``SCAN`` + ``MGET``), keeps the rows its filters match and
hands them on batch by batch, so memory stays flat however large the ledger is.

Pages: with ``limit`` a run stops after at most ``limit`` rows and sets ``next_cursor``
(``None`` once the walk is over). A SQLite or memory page can end anywhere; a Redis
page ends on a ``SCAN`` batch boundary, so it may hold fewer rows than ``limit`` (the
batch that would overflow is read again by the next page), and — only when its very
first batch alone holds more matching rows than ``limit`` — more. A page also ends
early after scanning ``max(10 × limit, 100,000)`` subjects without filling up, so a
narrow filter never makes one request run for minutes: keep following ``next_cursor``.
A Redis walk may return a subject twice if it changed while the walk ran, never skips
one that existed throughout.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, Literal, Protocol

from .._json import dumps
from ..policy.model import Policy
from .caller import Caller
from .cursors import decode_cursor, encode_cursor
from .errors import BadQuery
from .filters import Filters
from .plans import Both, Call, Emit, Op, Plan, astream, stream
from .stats import stats_of
from .views import CSV_FIELDS, AdsJudge, SubjectState, state_of

__all__ = ["FORMATS", "MAX_EXPORT_PAGE", "ExportRun", "Format", "csv_header", "encode_rows"]


class ExportSource(Protocol):
    """What an export reads from (the query service): its store, policy, judge and clock,
    and the access log entry it writes."""

    store: Any
    policy: Policy | None
    judge: AdsJudge
    clock: Callable[[], float]

    def _log(self, caller: Caller | None, action: str, params: dict[str, Any]) -> Call: ...


Format = Literal["jsonl", "csv"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv")
MEDIA_TYPES: dict[Format, str] = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}
MAX_EXPORT_PAGE = 100_000
MAX_BATCH = 10_000


class ExportRun:
    """One export (see the module docstring); lazy until iterated::

        run = service.export(Filters(category="advertising", granted=False), limit=5000)
        for row in run:                  # SubjectState dicts; or run.batches()
            ...
        run.next_cursor                  # where the next page starts; None when done

    ``async for rows in run.abatches()`` is the async face. Once the first batch is
    out, ``categories`` (every category in the counters and the policy: the CSV
    columns) and ``total`` (subjects in the ledger: a progress bar's 100 %) are set;
    ``scanned`` and ``exported`` grow as it runs. A run is iterated once.
    """

    def __init__(
        self,
        service: ExportSource,
        filters: Filters,
        *,
        cursor: str | None = None,
        limit: int | None = None,
        caller: Caller | None = None,
        batch: int = 1000,
    ) -> None:
        if limit is not None and (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 1 <= limit <= MAX_EXPORT_PAGE
        ):
            raise BadQuery(
                f"limit must be a whole number from 1 to {MAX_EXPORT_PAGE}.", code="bad_parameter"
            )
        if not 1 <= batch <= MAX_BATCH:
            raise BadQuery(f"batch must be from 1 to {MAX_BATCH}.", code="bad_parameter")
        self.service = service
        self.filters = filters
        self.limit = limit
        self.caller = caller
        self.batch = batch
        self.resumed = cursor is not None
        self._position: str | None = (
            None if cursor is None else decode_cursor(cursor, "export", filters.fingerprint())
        )
        if self._position is not None and not isinstance(self._position, str):
            raise BadQuery("cursor is damaged; start again without one.", code="bad_cursor")
        self.next_cursor: str | None = None
        self.categories: tuple[str, ...] = ()
        self.total: int | None = None
        self.scanned = 0
        self.exported = 0
        self.done = False
        self._used = False

    def _emit(self, rows: list[SubjectState]) -> Emit:
        self.exported += len(rows)
        return Emit(rows)

    def _finish(self, position: str | None, *, more: bool) -> None:
        fingerprint = self.filters.fingerprint()
        self.next_cursor = encode_cursor("export", fingerprint, position) if more else None
        self.done = True

    def _plan(self) -> Plan[None]:
        if self._used:
            raise RuntimeError("an ExportRun is iterated once; ask the service for another")
        self._used = True
        service, limit = self.service, self.limit
        params: dict[str, Any] = {**self.filters.to_params(), "resumed": self.resumed}
        if limit is not None:
            params["limit"] = limit
        log = service._log(self.caller, "export", params)
        _, counts = yield Both((log, Call(Op.COUNTS, (None,))))
        categories = {category for _, category, _ in counts if "/" not in category}
        if service.policy is not None:
            categories.update(service.policy.optional_ids)
        self.categories = tuple(sorted(categories))
        self.total = stats_of(counts, None)["subjects"]
        keep = self.filters.predicate()
        judge, clock = service.judge, service.clock
        budget = None if limit is None else max(limit * 10, 100_000)
        position = self._position
        while True:
            count = self.batch if limit is None else min(self.batch, max(limit - self.exported, 1))
            batch = yield Call(Op.SCAN_CURRENT, (position,), {"count": count})
            self.scanned += len(batch.records)
            matched = batch.records if keep is None else [r for r in batch.records if keep(r)]
            now = clock()
            if limit is not None and len(matched) > limit - self.exported:
                room = limit - self.exported
                if batch.keyset:
                    matched = matched[:room]
                    following, more = batch.after(matched[-1]), True
                elif self.exported:  # read this batch again on the next page
                    matched, following, more = [], batch.start, True
                else:  # one SCAN batch holds more than a page: the page takes all of it
                    following, more = batch.next, batch.next is not None
                yield self._emit([state_of(r, judge, now) for r in matched])
                self._finish(following, more=more)
                return
            yield self._emit([state_of(r, judge, now) for r in matched])
            if batch.next is None:
                self._finish(None, more=False)
                return
            position = batch.next
            if limit is not None and (self.exported == limit or self.scanned >= (budget or 0)):
                self._finish(position, more=True)
                return

    def batches(self) -> Iterator[list[SubjectState]]:
        """Lists of rows, one per store batch (some may be empty), sync face."""
        return stream(self.service.store, self._plan())

    def abatches(self) -> AsyncIterator[list[SubjectState]]:
        """Lists of rows, one per store batch (some may be empty), async face."""
        return astream(self.service.store, self._plan())

    def __iter__(self) -> Iterator[SubjectState]:
        for rows in self.batches():
            yield from rows


_FORMULA_START = ("=", "+", "@", "\t", "\r", "-")
_PLAIN_TOKEN = re.compile(r"-[A-Za-z0-9_-]*")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    text = str(value)
    # A spreadsheet would run "=HYPERLINK(…)" from a user id: quote it (OWASP's CSV
    # injection advice). A consent id such as "-x1_Q" has no operator or call in it and
    # stays as it is, so it still joins with the ledger.
    if (
        isinstance(value, str)
        and text.startswith(_FORMULA_START)
        and not _PLAIN_TOKEN.fullmatch(text)
    ):
        return "'" + text
    return text


def csv_header(categories: Sequence[str]) -> bytes:
    """The CSV header: :data:`CSV_FIELDS`, then ``choice:<category>`` per category."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(
        [*CSV_FIELDS, *(f"choice:{c}" for c in categories)]
    )
    return out.getvalue().encode("utf-8")


def encode_rows(rows: Sequence[SubjectState], fmt: Format, categories: Sequence[str] = ()) -> bytes:
    """Rows as JSON Lines or CSV records (RFC 4180 line ends; no header)."""
    if fmt == "jsonl":
        return b"".join([dumps(row) + b"\n" for row in rows])
    out = io.StringIO()
    write = csv.writer(out, lineterminator="\r\n").writerow
    for row in rows:
        fields = [_cell(row[name]) for name in CSV_FIELDS]  # type: ignore[literal-required]
        choices = row["choices"]
        fields += [_cell(choices.get(c)) for c in categories]
        write(fields)
    return out.getvalue().encode("utf-8")
