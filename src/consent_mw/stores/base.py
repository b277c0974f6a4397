"""The ledger's protocol, its proof-of-consent record and the collected-data event.

A store keeps an append-only list of :class:`Record` per subject (the proof:
who agreed to what, when, under which texts), the current state per subject,
exact counters per ``(policy_version, category, granted)`` over the current
states, links from a logged-in user to the consent ids (subjects) they used,
and :class:`Event` records of automatically collected data that expire.

Every store has a sync face (``append``…) for WSGI and scripts and an async
face (``aappend``…) for ASGI; a store whose I/O blocks runs the sync face in a
worker thread by default so the event loop never waits on disk or network.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from anyio import to_thread

from .feed import FEED_START, Change, ChangePage
from .paging import AccessEntry, HistoryPage, ScanBatch, parse_position
from .records import (
    STATUTORY_HOLD_KINDS,
    Event,
    Record,
    check_proof,
    counted,
    id_list,
    latest,
    new_record_id,
    require_id,
    state_at,
)

__all__ = [
    "STATUTORY_HOLD_KINDS",
    "AccessEntry",
    "BaseStore",
    "Change",
    "ChangePage",
    "Event",
    "HistoryPage",
    "Record",
    "ScanBatch",
    "check_proof",
    "id_list",
    "latest",
    "new_record_id",
    "require_id",
    "state_at",
]


class BaseStore:
    """The ledger protocol; subclasses implement the sync methods and may override the
    async ones (by default ``aX`` runs ``X`` in a worker thread).

    ::

        store.append(record)                     # one consent change
        store.current("c0ffee…")                 # the subject's state now, or None
        store.lookup(["c0ffee…", "d00d…"])       # many at once: {id: Record | None}
        store.link_user("c0ffee…", "user-42")    # at login
        store.by_user("user-42")                 # carry consent to another device
    """

    # -- consent records -------------------------------------------------------------

    def append(self, record: Record) -> None:
        """Append ``record`` to its subject's history, make it the current state and move
        the counters from the previous state's choices to the new ones, atomically.
        Appending the record that is already current (a retried write) changes nothing."""
        raise NotImplementedError

    def current(self, subject_id: str) -> Record | None:
        raise NotImplementedError

    def history(self, subject_id: str, *, limit: int = 100) -> list[Record]:
        """The subject's records, newest first, at most ``limit``."""
        raise NotImplementedError

    def lookup(self, subject_ids: Iterable[str]) -> dict[str, Record | None]:
        """The current state of each subject (``None`` when it has none), in one batch."""
        raise NotImplementedError

    def counts(self, policy_version: str | None = None) -> dict[tuple[str, str, bool], int]:
        """Current subjects per ``(policy_version, category, granted)``."""
        raise NotImplementedError

    def as_of(self, subject_ids: Iterable[str], at: float) -> dict[str, Record | None]:
        """Each subject's state at time ``at`` (seconds since the epoch): its newest
        record with ``time <= at``, or ``None`` when it had none then. A subject that
        has been deleted answers ``None`` at every time: its records are gone and the
        deletion proof carries no consent.

        This default reads each whole history; the stores here override it."""
        found: dict[str, Record | None] = {}
        for subject in id_list(subject_ids):
            found[subject] = state_at(self.history(subject, limit=2**31 - 1), at)
        return found

    # -- the change feed (see consent_mw.stores.feed) ----------------------------------

    def changes(self, after: str = FEED_START, *, limit: int = 100) -> ChangePage:
        """The consent changes after the cursor ``after``, oldest first, at most
        ``limit``. :class:`~.paging.CursorError` for a cursor this store did not make."""
        raise NotImplementedError

    def feed_end(self) -> str:
        """The cursor of the newest change (:data:`~.feed.FEED_START` when there is
        none): where a reader that wants only what comes next starts."""
        raise NotImplementedError

    # -- users ------------------------------------------------------------------------

    def link_user(self, subject_id: str, user_id: str) -> None:
        """Record that ``user_id`` logged in with consent id ``subject_id``."""
        raise NotImplementedError

    def subjects_of(self, user_id: str) -> list[str]:
        """The subjects linked to ``user_id``, most recently linked first."""
        raise NotImplementedError

    def by_user(self, user_id: str) -> Record | None:
        """The most recent current state among the user's subjects (to carry consent
        across devices), or ``None``."""
        subjects = self.subjects_of(require_id(user_id, "user_id"))
        return latest(self.lookup(subjects).values()) if subjects else None

    # -- data-subject deletion ------------------------------------------------------

    def delete_subject(self, subject_id: str, *, proof: Record) -> int:
        """Erase the subject: its records, current state, user links and events (except
        kinds in :data:`STATUTORY_HOLD_KINDS`); take its current choices off the
        counters; then append ``proof`` (a minimal record with action ``delete``) to its
        history so the ledger shows the deletion. ``proof`` does not become the current
        state. Returns the number of records and events removed."""
        raise NotImplementedError

    # -- automatically collected data -------------------------------------------------

    def record_events(self, events: Sequence[Event]) -> None:
        """Write a batch of events; each is dropped at its ``expires_at``."""
        raise NotImplementedError

    def events(
        self, subject_id: str | None = None, user_id: str | None = None, limit: int = 100
    ) -> list[Event]:
        """Unexpired events, newest first, of a subject and/or a user (all if neither)."""
        raise NotImplementedError

    def purge(self, now: float | None = None) -> int:
        """Delete events expired at ``now``; returns how many (0 where a TTL does it)."""
        raise NotImplementedError

    # -- the query surface (see consent_mw.query) --------------------------------------

    def history_page(
        self, subject_id: str, *, limit: int = 100, before: str | None = None
    ) -> HistoryPage:
        """The subject's records newest first, at most ``limit``, starting right after
        the position ``before`` (taken from an earlier page) or with the newest.

        This default reads the whole history; the stores here override it. Positions
        count the records older than the one they follow, so records appended between
        two pages do not shift them."""
        require_id(subject_id)
        everything = self.history(subject_id, limit=2**31 - 1)
        total = len(everything)
        start = 0 if before is None else max(total - min(parse_position(before), total), 0)
        records = everything[start : start + max(limit, 0)] if limit > 0 else []
        positions = [str(total - 1 - i) for i in range(start, start + len(records))]
        return HistoryPage(records, positions, more=start + len(records) < total)

    def scan_current(self, cursor: str | None = None, *, count: int = 1000) -> ScanBatch:
        """One batch (about ``count``) of a walk over every subject's current state.

        Start with ``cursor=None``; pass ``batch.next`` until it is ``None``. Every
        subject whose state exists for the whole walk is returned; one that changes
        during the walk may show up twice (Redis ``SCAN`` semantics). Memory per batch
        only: a walk over millions of subjects runs in constant memory."""
        raise NotImplementedError

    def iter_current(self, *, count: int = 1000) -> Iterator[Record]:
        """Every current state (see :meth:`scan_current`), batch by batch."""
        cursor: str | None = None
        while True:
            batch = self.scan_current(cursor, count=count)
            yield from batch.records
            if batch.next is None:
                return
            cursor = batch.next

    def recount(self, policy_version: str | None = None) -> dict[tuple[str, str, bool], int]:
        """What :meth:`counts` answers, recounted from every current state (slow: a
        full walk; for checks and repairs, never for a dashboard)."""
        totals: dict[tuple[str, str, bool], int] = {}
        for record in self.iter_current():
            if policy_version is not None and record.policy_version != policy_version:
                continue
            for category, granted in counted(record):
                key = (record.policy_version, category, granted)
                totals[key] = totals.get(key, 0) + 1
        return totals

    def log_access(self, entry: AccessEntry) -> None:
        """Keep ``entry`` in the access log (durably: the query waits for it)."""
        raise NotImplementedError

    def access_log(self, limit: int = 100) -> list[AccessEntry]:
        """The access log, newest first, at most ``limit`` entries."""
        raise NotImplementedError

    # -- lifecycle --------------------------------------------------------------------

    def ping(self) -> None:
        """Raise :class:`~consent_mw.exceptions.StoreUnavailable` if the store is down."""

    def close(self) -> None:
        pass

    # -- the async face ---------------------------------------------------------------

    async def aappend(self, record: Record) -> None:
        await to_thread.run_sync(self.append, record)

    async def acurrent(self, subject_id: str) -> Record | None:
        return await to_thread.run_sync(self.current, subject_id)

    async def ahistory(self, subject_id: str, *, limit: int = 100) -> list[Record]:
        return await to_thread.run_sync(lambda: self.history(subject_id, limit=limit))

    async def alookup(self, subject_ids: Iterable[str]) -> dict[str, Record | None]:
        ids = id_list(subject_ids)
        return await to_thread.run_sync(self.lookup, ids)

    async def acounts(self, policy_version: str | None = None) -> dict[tuple[str, str, bool], int]:
        return await to_thread.run_sync(self.counts, policy_version)

    async def aas_of(self, subject_ids: Iterable[str], at: float) -> dict[str, Record | None]:
        ids = id_list(subject_ids)
        return await to_thread.run_sync(self.as_of, ids, at)

    async def achanges(self, after: str = FEED_START, *, limit: int = 100) -> ChangePage:
        return await to_thread.run_sync(lambda: self.changes(after, limit=limit))

    async def afeed_end(self) -> str:
        return await to_thread.run_sync(self.feed_end)

    async def alink_user(self, subject_id: str, user_id: str) -> None:
        await to_thread.run_sync(self.link_user, subject_id, user_id)

    async def asubjects_of(self, user_id: str) -> list[str]:
        return await to_thread.run_sync(self.subjects_of, user_id)

    async def aby_user(self, user_id: str) -> Record | None:
        return await to_thread.run_sync(self.by_user, user_id)

    async def adelete_subject(self, subject_id: str, *, proof: Record) -> int:
        return await to_thread.run_sync(lambda: self.delete_subject(subject_id, proof=proof))

    async def arecord_events(self, events: Sequence[Event]) -> None:
        await to_thread.run_sync(self.record_events, list(events))

    async def aevents(
        self, subject_id: str | None = None, user_id: str | None = None, limit: int = 100
    ) -> list[Event]:
        return await to_thread.run_sync(self.events, subject_id, user_id, limit)

    async def apurge(self, now: float | None = None) -> int:
        return await to_thread.run_sync(self.purge, now)

    async def ahistory_page(
        self, subject_id: str, *, limit: int = 100, before: str | None = None
    ) -> HistoryPage:
        return await to_thread.run_sync(
            lambda: self.history_page(subject_id, limit=limit, before=before)
        )

    async def ascan_current(self, cursor: str | None = None, *, count: int = 1000) -> ScanBatch:
        return await to_thread.run_sync(lambda: self.scan_current(cursor, count=count))

    async def alog_access(self, entry: AccessEntry) -> None:
        await to_thread.run_sync(self.log_access, entry)

    async def aaccess_log(self, limit: int = 100) -> list[AccessEntry]:
        return await to_thread.run_sync(self.access_log, limit)

    async def aping(self) -> None:
        await to_thread.run_sync(self.ping)

    async def aclose(self) -> None:
        await to_thread.run_sync(self.close)
