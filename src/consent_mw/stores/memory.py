"""An in-process store for tests and experiments: nothing survives a restart."""

from __future__ import annotations

import bisect
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Sequence

from .base import (
    STATUTORY_HOLD_KINDS,
    BaseStore,
    Event,
    Record,
    check_proof,
    id_list,
    require_id,
    state_at,
)
from .feed import FEED_START, Change, ChangePage, parse_row_cursor
from .paging import AccessEntry, HistoryPage, ScanBatch, parse_position
from .records import counted

__all__ = ["MemoryStore"]


class MemoryStore(BaseStore):
    """Keeps records in lists; thread-safe; async methods never block."""

    def __init__(self, *, access_log_max: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._access: deque[AccessEntry] = deque(maxlen=access_log_max)
        self._records: dict[str, list[Record]] = {}
        self._current: dict[str, Record] = {}
        self._counts: Counter[tuple[str, str, bool]] = Counter()
        # user -> subjects in link order (a dict keeps insertion order; relinking moves
        # the subject to the end)
        self._links: dict[str, dict[str, None]] = {}
        self._events: list[Event] = []
        # the change feed: entry n (from 1) is self._feed[n - 1]; None once erased
        self._feed: list[Record | None] = []

    def _move_counts(self, old: Record | None, new: Record | None) -> None:
        if old is not None:
            for category, granted in counted(old):
                self._counts[(old.policy_version, category, granted)] -= 1
        if new is not None:
            for category, granted in counted(new):
                self._counts[(new.policy_version, category, granted)] += 1

    def append(self, record: Record) -> None:
        subject = require_id(record.subject_id)
        with self._lock:
            old = self._current.get(subject)
            if old is not None and old.record_id == record.record_id:
                return
            self._records.setdefault(subject, []).append(record)
            self._move_counts(old, record)
            self._current[subject] = record
            self._feed.append(record)

    def current(self, subject_id: str) -> Record | None:
        return self._current.get(require_id(subject_id))

    def history(self, subject_id: str, *, limit: int = 100) -> list[Record]:
        require_id(subject_id)
        if limit <= 0:
            return []
        with self._lock:
            return list(reversed(self._records.get(subject_id, [])[-limit:]))

    def lookup(self, subject_ids: Iterable[str]) -> dict[str, Record | None]:
        ids = id_list(subject_ids)
        with self._lock:
            return {s: self._current.get(s) for s in ids}

    def counts(self, policy_version: str | None = None) -> dict[tuple[str, str, bool], int]:
        with self._lock:
            return {
                k: v
                for k, v in self._counts.items()
                if v and (policy_version is None or k[0] == policy_version)
            }

    def as_of(self, subject_ids: Iterable[str], at: float) -> dict[str, Record | None]:
        ids = id_list(subject_ids)
        with self._lock:
            return {s: state_at(reversed(self._records.get(s, ())), at) for s in ids}

    def changes(self, after: str = FEED_START, *, limit: int = 100) -> ChangePage:
        start = parse_row_cursor(after)
        changes: list[Change] = []
        with self._lock:
            for n in range(start, len(self._feed)):
                if len(changes) >= limit:
                    break
                entry = self._feed[n]
                if entry is not None:
                    changes.append(Change(str(n + 1), entry))
        return ChangePage(changes, changes[-1].cursor if changes else after)

    def feed_end(self) -> str:
        with self._lock:
            return str(len(self._feed))

    def history_page(
        self, subject_id: str, *, limit: int = 100, before: str | None = None
    ) -> HistoryPage:
        # A position is the index (oldest first) of the record it follows: appends go to
        # the end, so positions stay put while new records arrive.
        require_id(subject_id)
        with self._lock:
            records = self._records.get(subject_id, [])
            end = len(records) if before is None else min(parse_position(before), len(records))
            start = max(end - max(limit, 0), 0)
            page = records[start:end][::-1]
        return HistoryPage(page, [str(i) for i in range(end - 1, start - 1, -1)], more=start > 0)

    def scan_current(self, cursor: str | None = None, *, count: int = 1000) -> ScanBatch:
        # Keyset walk by subject id: the cursor is the last subject id returned.
        with self._lock:
            ids = sorted(self._current)
            at = 0 if cursor is None else bisect.bisect_right(ids, cursor)
            chosen = ids[at : at + max(count, 1)]
            records = [self._current[s] for s in chosen]
        done = at + len(chosen) >= len(ids)
        return ScanBatch(records, None if done or not chosen else chosen[-1], start=cursor)

    def log_access(self, entry: AccessEntry) -> None:
        with self._lock:
            self._access.append(entry)

    def access_log(self, limit: int = 100) -> list[AccessEntry]:
        with self._lock:
            return list(reversed(self._access))[: max(limit, 0)]

    def all_records(self) -> list[Record]:
        with self._lock:
            return [r for records in self._records.values() for r in records]

    def link_user(self, subject_id: str, user_id: str) -> None:
        require_id(subject_id)
        require_id(user_id, "user_id")
        with self._lock:
            subjects = self._links.setdefault(user_id, {})
            subjects.pop(subject_id, None)
            subjects[subject_id] = None

    def subjects_of(self, user_id: str) -> list[str]:
        require_id(user_id, "user_id")
        with self._lock:
            return list(reversed(self._links.get(user_id, {})))

    def delete_subject(self, subject_id: str, *, proof: Record) -> int:
        require_id(subject_id)
        check_proof(subject_id, proof)
        with self._lock:
            removed = len(self._records.pop(subject_id, []))
            self._move_counts(self._current.pop(subject_id, None), None)
            for user, subjects in list(self._links.items()):
                subjects.pop(subject_id, None)
                if not subjects:
                    del self._links[user]
            kept = [
                e
                for e in self._events
                if e.subject_id != subject_id or e.kind in STATUTORY_HOLD_KINDS
            ]
            removed += len(self._events) - len(kept)
            self._events = kept
            self._records[subject_id] = [proof]
            feed = self._feed
            for i, entry in enumerate(feed):
                if entry is not None and entry.subject_id == subject_id:
                    feed[i] = None
            feed.append(proof)
        return removed

    def record_events(self, events: Sequence[Event]) -> None:
        batch = list(events)
        with self._lock:
            self._events.extend(batch)

    def events(
        self, subject_id: str | None = None, user_id: str | None = None, limit: int = 100
    ) -> list[Event]:
        if limit <= 0:
            return []
        now = time.time()
        with self._lock:
            found = [
                e
                for e in reversed(self._events)
                if e.expires_at > now
                and (subject_id is None or e.subject_id == subject_id)
                and (user_id is None or e.user_id == user_id)
            ]
        # A stable sort keeps the newest-written first among events of the same time.
        found.sort(key=lambda e: e.time, reverse=True)
        return found[:limit]

    def purge(self, now: float | None = None) -> int:
        cutoff = time.time() if now is None else now
        with self._lock:
            kept = [e for e in self._events if e.expires_at > cutoff]
            purged = len(self._events) - len(kept)
            self._events = kept
        return purged

    async def aappend(self, record: Record) -> None:
        self.append(record)

    async def acurrent(self, subject_id: str) -> Record | None:
        return self.current(subject_id)

    async def ahistory(self, subject_id: str, *, limit: int = 100) -> list[Record]:
        return self.history(subject_id, limit=limit)

    async def alookup(self, subject_ids: Iterable[str]) -> dict[str, Record | None]:
        return self.lookup(subject_ids)

    async def acounts(self, policy_version: str | None = None) -> dict[tuple[str, str, bool], int]:
        return self.counts(policy_version)

    async def alink_user(self, subject_id: str, user_id: str) -> None:
        self.link_user(subject_id, user_id)

    async def asubjects_of(self, user_id: str) -> list[str]:
        return self.subjects_of(user_id)

    async def aby_user(self, user_id: str) -> Record | None:
        return self.by_user(user_id)

    async def adelete_subject(self, subject_id: str, *, proof: Record) -> int:
        return self.delete_subject(subject_id, proof=proof)

    async def arecord_events(self, events: Sequence[Event]) -> None:
        self.record_events(events)

    async def aevents(
        self, subject_id: str | None = None, user_id: str | None = None, limit: int = 100
    ) -> list[Event]:
        return self.events(subject_id, user_id, limit)

    async def apurge(self, now: float | None = None) -> int:
        return self.purge(now)

    async def ahistory_page(
        self, subject_id: str, *, limit: int = 100, before: str | None = None
    ) -> HistoryPage:
        return self.history_page(subject_id, limit=limit, before=before)

    async def ascan_current(self, cursor: str | None = None, *, count: int = 1000) -> ScanBatch:
        return self.scan_current(cursor, count=count)

    async def alog_access(self, entry: AccessEntry) -> None:
        self.log_access(entry)

    async def aaccess_log(self, limit: int = 100) -> list[AccessEntry]:
        return self.access_log(limit)

    async def aping(self) -> None:
        self.ping()

    async def aclose(self) -> None:
        self.close()
