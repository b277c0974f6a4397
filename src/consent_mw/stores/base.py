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

import copy
import json
import secrets
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread

from .._json import loads_own
from .paging import AccessEntry, HistoryPage, ScanBatch, parse_position

__all__ = [
    "STATUTORY_HOLD_KINDS",
    "AccessEntry",
    "BaseStore",
    "Event",
    "HistoryPage",
    "Record",
    "ScanBatch",
    "new_record_id",
]


#: Event kinds a data-subject deletion keeps: login records must be kept for 3 months
#: (Protection of Communications Secrets Act); they still expire at ``expires_at``.
STATUTORY_HOLD_KINDS: frozenset[str] = frozenset({"login"})


def new_record_id(now: float | None = None) -> str:
    """A time-ordered, unguessable record id: 12 hex digits of milliseconds + 16 random."""
    millis = int((time.time() if now is None else now) * 1000)
    return f"{millis:012x}{secrets.token_hex(8)}"


@dataclass(frozen=True)
class Record:
    """One proof-of-consent entry. Append-only: a change is a new record."""

    record_id: str
    subject_id: str
    time: float
    policy_version: str
    text_hash: str
    choices: Mapping[str, bool]
    action: str
    source: str
    regime: str
    country: str | None = None
    locale: str | None = None
    gpc: bool = False
    gpc_override: bool = False
    user_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        # Every field but two is a scalar: copy those two, not the whole tree (asdict).
        data = dict(self.__dict__)
        data["choices"] = dict(self.choices)
        data["extra"] = copy.deepcopy(dict(self.extra)) if self.extra else {}
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Record:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    @classmethod
    def from_json(cls, text: str | bytes) -> Record:
        return cls.from_dict(json.loads(text))

    @classmethod
    def many_from_json(cls, texts: Sequence[bytes]) -> list[Record]:
        """Records from many :meth:`to_json` texts (as a store returns them), decoded as one
        JSON array: the batch path of ``lookup``, about twice as fast as
        :meth:`from_json` one by one."""
        if not texts:
            return []
        records: list[Record] = []
        new, setattr_, fields = object.__new__, object.__setattr__, _RECORD_FIELDS
        for data in loads_own(b",".join(texts).join((b"[", b"]"))):
            if data.keys() == fields:
                # Every field and nothing else (what to_json writes): the decoded dict
                # becomes the frozen instance's __dict__ instead of going through 17
                # object.__setattr__ calls in __init__.
                record = new(cls)
                setattr_(record, "__dict__", data)
                records.append(record)
            else:  # written by another version: fields added or removed since
                records.append(cls.from_dict(data))
        return records


_RECORD_FIELDS = frozenset(Record.__dataclass_fields__)


@dataclass(frozen=True)
class Event:
    """One automatically collected fact (a request, a login), already minimised.

    The recorder builds events from the decision: ``device`` holds only what the
    visitor allowed. ``expires_at`` comes from the retention of ``purpose``'s
    category (or the statutory period for login records); stores drop the event
    then (Redis TTL, ``purge`` elsewhere).
    """

    time: float
    kind: str
    purpose: str
    expires_at: float
    path: str
    status: int
    ip: str | None = None
    subject_id: str | None = None
    user_id: str | None = None
    bot: bool = False
    device: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)  # scalars, and device: a flat mapping of scalars
        data["device"] = dict(self.device)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    @classmethod
    def from_json(cls, text: str | bytes) -> Event:
        return cls.from_dict(json.loads(text))


def require_id(value: object, what: str = "subject_id") -> str:
    """``value`` if it is a non-empty string; stores refuse anything else."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, not {value!r}.")
    return value


def check_proof(subject_id: str, proof: Record) -> None:
    """The deletion proof must be a ``delete`` record of the subject being deleted."""
    if proof.subject_id != subject_id or proof.action != "delete":
        raise ValueError(
            f"proof must be a record with action 'delete' for subject {subject_id!r}, "
            f"not action {proof.action!r} for subject {proof.subject_id!r}."
        )


def id_list(subject_ids: Iterable[str]) -> list[str]:
    """``subject_ids`` as a list of distinct ids, first occurrence first."""
    if isinstance(subject_ids, str | bytes):
        raise TypeError("lookup() takes an iterable of subject ids, not one string.")
    ids = list(dict.fromkeys(subject_ids))
    if not set(map(type, ids)) <= {str} or "" in ids:  # checked in C: lookups are large
        ids = [require_id(s) for s in ids]
    return ids


def latest(records: Iterable[Record | None]) -> Record | None:
    """The most recent of ``records`` (by time, then record id), ignoring ``None``."""
    found = [r for r in records if r is not None]
    return max(found, key=lambda r: (r.time, r.record_id)) if found else None


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
            for category, granted in record.choices.items():
                key = (record.policy_version, category, bool(granted))
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
