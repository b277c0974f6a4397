"""The advertising team's questions, answered from the ledger: :class:`QueryService`.

::

    service = QueryService(store, policy=policy, caller=Caller("ads-notebook"))
    service.subject("c0ffee…")["state"]["personalised_ads"]     # may we? (this device)
    service.subject("user-42", by="user")                        # … this signed-in user
    service.lookup(ids)["results"]                               # up to 1,000 at once
    service.history("c0ffee…", limit=20)                         # what they agreed to, when
    service.stats()                                              # counts per version, category
    for row in service.export(Filters(category="advertising", granted=False)):
        ...                                                      # who opted out (streamed)

Every method writes an :class:`~consent_mw.stores.AccessEntry` (who asked what, when)
before it answers — a query whose entry cannot be written fails. Each has an async
twin (``asubject``, ``alookup``…; ``export(...).abatches()``) over the store's async
face; both faces run the same plans (:mod:`.plans`).
"""

from __future__ import annotations

import hashlib
import heapq
import time
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypedDict

from ..core.host_audit import summarise_hosts
from ..policy.model import Policy
from ..stores import AccessEntry, BaseStore, Record, new_record_id
from ..stores.base import latest
from ..stores.paging import HistoryPage
from .caller import Caller
from .cursors import decode_cursor, encode_cursor
from .errors import BadQuery, TooManyIds, UnknownSubject
from .export import ExportRun
from .filters import Filters
from .plans import Both, Call, Op, Plan, arun, run
from .stats import StatsAnswer, allowed_in, stats_of
from .views import AdsJudge, RecordView, SubjectState, record_view, state_of

__all__ = [
    "MAX_HISTORY_LIMIT",
    "MAX_ID_LENGTH",
    "MAX_LOOKUP",
    "Caller",
    "HistoryAnswer",
    "LookupAnswer",
    "QueryService",
    "StatsAnswer",
    "SubjectAnswer",
]

By = Literal["consent", "user"]

MAX_LOOKUP = 1000
MAX_ID_LENGTH = 256
MAX_HISTORY_LIMIT = 1000
#: How many of a user's consent ids (most recently linked first) a user query reads.
MAX_USER_SUBJECTS = 100


class SubjectAnswer(TypedDict):
    id: str
    by: str
    state: SubjectState
    linked_subjects: list[str] | None


class LookupResult(TypedDict):
    id: str
    found: bool
    state: SubjectState | None


class LookupAnswer(TypedDict):
    results: list[LookupResult]
    found: int
    missing: int


class HistoryAnswer(TypedDict):
    id: str
    by: str
    records: list[RecordView]
    next_cursor: str | None


def check_id(value: object, what: str = "id") -> str:
    if not isinstance(value, str) or not value:
        raise BadQuery(f"{what} must be a non-empty string, not {value!r}.", code="bad_id")
    if len(value) > MAX_ID_LENGTH:
        raise BadQuery(f"{what} is longer than {MAX_ID_LENGTH} characters.", code="bad_id")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate ("\ud800" in JSON): no stored id has one
            raise BadQuery(f"{what} is not valid Unicode text.", code="bad_id") from None
    return value


def check_ids(ids: Iterable[str], where: str) -> list[str]:
    """A batch of consent ids, checked (a list, not one string; at most
    :data:`MAX_LOOKUP`; each a valid id) and without repeats, in the order given.
    ``where`` names the batch in the error ("in one lookup")."""
    if isinstance(ids, str | bytes):
        raise BadQuery("ids must be a list of consent ids, not one string.", code="bad_id")
    given = list(ids)
    if len(given) > MAX_LOOKUP:
        raise TooManyIds(f"{len(given)} ids {where}; send at most {MAX_LOOKUP} per request.")
    return list(dict.fromkeys(check_id(i, "every id") for i in given))


def check_by(by: str) -> By:
    if by == "consent":
        return "consent"
    if by == "user":
        return "user"
    raise BadQuery(f"by must be consent or user, not {by!r}.", code="bad_parameter")


def check_limit(limit: int, largest: int, what: str = "limit") -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= largest:
        raise BadQuery(f"{what} must be a whole number from 1 to {largest}.", code="bad_parameter")
    return limit


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:12]


class QueryService:
    """The query surface over one store (see the module docstring).

    ``policy`` is the current policy: with it answers carry ``personalised_ads`` and
    ``prompt_reason`` as the middleware would decide them now; without it those are
    ``None``. ``caller`` is who asks when a method is not given one.
    """

    def __init__(
        self,
        store: BaseStore,
        *,
        policy: Policy | None = None,
        caller: Caller | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.policy = policy
        self.caller = caller or Caller()
        self.clock = clock
        self.judge = AdsJudge(policy)

    # -- plumbing ------------------------------------------------------------------------

    def _log(self, caller: Caller | None, action: str, params: dict[str, Any]) -> Call:
        who = caller or self.caller
        entry = AccessEntry(
            time=self.clock(),
            actor=who.name,
            action=action,
            via=who.via,
            params=params,
            token_id=who.token_id,
            scope=who.scope,
            route=who.route,
        )
        return Call(Op.LOG_ACCESS, (entry,))

    def state(self, record: Record, now: float | None = None) -> SubjectState:
        return state_of(record, self.judge, self.clock() if now is None else now)

    # -- plans -----------------------------------------------------------------------------

    def _subject(self, subject_id: str, by: str, caller: Caller | None) -> Plan[SubjectAnswer]:
        check_id(subject_id)
        by = check_by(by)
        log = self._log(caller, "subject", {"id": subject_id, "by": by})
        if by == "consent":
            _, record = yield Both((log, Call(Op.CURRENT, (subject_id,))))
            if record is None:
                raise UnknownSubject(f"No current consent state for consent id {subject_id!r}.")
            return {
                "id": subject_id,
                "by": by,
                "state": self.state(record),
                "linked_subjects": None,
            }
        _, subjects = yield Both((log, Call(Op.SUBJECTS_OF, (subject_id,))))
        subjects = subjects[:MAX_USER_SUBJECTS]
        found = (yield Call(Op.LOOKUP, (subjects,))) if subjects else {}
        record = latest(found.values())
        if record is None:
            raise UnknownSubject(f"No consent state linked to user id {subject_id!r}.")
        return {
            "id": subject_id,
            "by": by,
            "state": self.state(record),
            "linked_subjects": subjects,
        }

    def _lookup(self, ids: Iterable[str], caller: Caller | None) -> Plan[LookupAnswer]:
        wanted = check_ids(ids, "in one lookup")
        log = self._log(caller, "lookup", {"ids": wanted})
        _, found = yield Both((log, Call(Op.LOOKUP, (wanted,))))
        now, judge = self.clock(), self.judge
        results: list[LookupResult] = [
            {
                "id": s,
                "found": r is not None,
                "state": None if r is None else state_of(r, judge, now),
            }
            for s, r in found.items()
        ]
        hits = sum(1 for r in results if r["found"])
        return {"results": results, "found": hits, "missing": len(results) - hits}

    def _history(
        self, subject_id: str, by: str, limit: int, cursor: str | None, caller: Caller | None
    ) -> Plan[HistoryAnswer]:
        check_id(subject_id)
        by = check_by(by)
        check_limit(limit, MAX_HISTORY_LIMIT)
        fingerprint = _fingerprint(by, subject_id)
        position = None if cursor is None else decode_cursor(cursor, "history", fingerprint)
        log = self._log(
            caller,
            "history",
            {"id": subject_id, "by": by, "limit": limit, "cursor": cursor is not None},
        )
        if by == "consent":
            if position is not None and not isinstance(position, str):
                raise BadQuery("cursor is damaged; start again without one.", code="bad_cursor")
            page: HistoryPage
            _, page = yield Both((log, self._page_call(subject_id, limit, position)))
            if not page.records and position is None:
                raise UnknownSubject(f"No ledger records for consent id {subject_id!r}.")
            records = [record_view(r) for r in page.records]
            following = (
                None if page.next is None else encode_cursor("history", fingerprint, page.next)
            )
            return {"id": subject_id, "by": by, "records": records, "next_cursor": following}
        return (yield from self._user_history(subject_id, limit, position, fingerprint, log))

    @staticmethod
    def _page_call(subject_id: str, limit: int, before: str | None) -> Call:
        return Call(Op.HISTORY_PAGE, (subject_id,), {"limit": limit, "before": before})

    def _user_history(
        self, user_id: str, limit: int, position: Any, fingerprint: str, log: Call
    ) -> Plan[HistoryAnswer]:
        # Merge the histories of the user's consent ids, newest first. The cursor holds a
        # position per consent id that still has older records (None: from its newest).
        if position is not None and (
            not isinstance(position, dict)
            or not all(isinstance(v, str | None) for v in position.values())
        ):
            raise BadQuery("cursor is damaged; start again without one.", code="bad_cursor")
        _, subjects = yield Both((log, Call(Op.SUBJECTS_OF, (user_id,))))
        subjects = subjects[:MAX_USER_SUBJECTS]
        if not subjects:
            raise UnknownSubject(f"No consent ids linked to user id {user_id!r}.")
        active = subjects if position is None else [s for s in subjects if s in position]
        starts = {s: None if position is None else position[s] for s in active}
        pages: list[HistoryPage] = (
            (yield Both(tuple(self._page_call(s, limit, starts[s]) for s in active)))
            if active
            else []
        )
        merged = heapq.merge(
            *(
                [(-r.time, r.record_id, s, i, r) for i, r in enumerate(p.records)]
                for s, p in zip(active, pages, strict=True)
            )
        )
        taken: dict[str, int] = {}
        records: list[RecordView] = []
        for _, _, s, i, record in merged:
            if len(records) == limit:
                break
            records.append(record_view(record))
            taken[s] = i + 1
        following: dict[str, str | None] = {}
        for s, page in zip(active, pages, strict=True):
            used = taken.get(s, 0)
            if used < len(page.records) or page.more:
                following[s] = page.positions[used - 1] if used else starts[s]
        cursor = encode_cursor("history", fingerprint, following) if following else None
        return {"id": user_id, "by": "user", "records": records, "next_cursor": cursor}

    def _stats(self, policy_version: str | None, caller: Caller | None) -> Plan[StatsAnswer]:
        params = {} if policy_version is None else {"policy_version": policy_version}
        log = self._log(caller, "stats", params)
        _, counts = yield Both((log, Call(Op.COUNTS, (policy_version,))))
        return stats_of(counts, self.policy)

    def _purge(self, now: float | None, caller: Caller | None) -> Plan[int]:
        log = self._log(caller, "purge", {} if now is None else {"now": now})
        yield log
        purged: int = yield Call(Op.PURGE, (now,))
        return purged

    def _delete(self, subject_id: str, caller: Caller | None) -> Plan[int]:
        check_id(subject_id)
        who = caller or self.caller
        log = self._log(caller, "delete", {"id": subject_id})
        _, current, page = yield Both(
            (log, Call(Op.CURRENT, (subject_id,)), self._page_call(subject_id, 1, None))
        )
        if current is None and not page.records:
            raise UnknownSubject(f"No ledger records for consent id {subject_id!r}.")
        basis = current or page.records[0]
        now = self.clock()
        proof = Record(
            record_id=new_record_id(now),
            subject_id=subject_id,
            time=now,
            policy_version=basis.policy_version,
            text_hash="",
            choices={},
            action="delete",
            source="api",
            regime=basis.regime,
            country=basis.country,
            extra={"requested_by": who.name, "via": who.via},
        )
        removed: int = yield Call(Op.DELETE_SUBJECT, (subject_id,), {"proof": proof})
        return removed

    def _inventory(self, limit: int, caller: Caller | None) -> Plan[list[dict[str, Any]]]:
        check_limit(limit, 100_000)
        log = self._log(caller, "inventory", {"limit": limit})
        _, events = yield Both((log, Call(Op.EVENTS, (None, None, limit))))
        return summarise_hosts(events)

    def _access_log(self, limit: int, caller: Caller | None) -> Plan[list[AccessEntry]]:
        check_limit(limit, 10_000)
        yield self._log(caller, "access_log", {"limit": limit})
        entries: list[AccessEntry] = yield Call(Op.ACCESS_LOG, (limit,))
        return entries

    # -- the sync face ---------------------------------------------------------------------

    def subject(
        self, subject_id: str, *, by: str = "consent", caller: Caller | None = None
    ) -> SubjectAnswer:
        """The current state of a consent id (``by="user"``: the latest of a user's)."""
        return run(self.store, self._subject(subject_id, by, caller))

    def lookup(self, ids: Iterable[str], *, caller: Caller | None = None) -> LookupAnswer:
        """The current state of up to :data:`MAX_LOOKUP` consent ids, in one batch."""
        return run(self.store, self._lookup(ids, caller))

    def history(
        self,
        subject_id: str,
        *,
        by: str = "consent",
        limit: int = 100,
        cursor: str | None = None,
        caller: Caller | None = None,
    ) -> HistoryAnswer:
        """Proof records newest first, a page of ``limit``; pass ``next_cursor`` on."""
        return run(self.store, self._history(subject_id, by, limit, cursor, caller))

    def stats(
        self, *, policy_version: str | None = None, caller: Caller | None = None
    ) -> StatsAnswer:
        """Current subjects per policy version and category, from the store's counters."""
        return run(self.store, self._stats(policy_version, caller))

    def allowing(
        self,
        category: str,
        service: str,
        *,
        policy_version: str | None = None,
        caller: Caller | None = None,
    ) -> int:
        """How many current subjects allow ``service`` of ``category`` (the category
        whole, or the service on its own), from the counters: ``allowing("advertising",
        "Meta")``. Every policy version, or only ``policy_version``."""
        stats = self.stats(policy_version=policy_version, caller=caller)
        return sum(allowed_in(table, category, service) for table in stats["policy_versions"])

    def inventory(
        self, *, limit: int = 10_000, caller: Caller | None = None
    ) -> list[dict[str, Any]]:
        """The third-party hosts visitors' browsers reported blocked or refused by the
        Content-Security-Policy (``csp="report"`` or ``"enforce"``), from the newest
        ``limit`` ledger events: one row per host, directive and page path with its
        count, first and last seen, and the category the registry knows for the host."""
        return run(self.store, self._inventory(limit, caller))

    def export(
        self,
        filters: Filters | None = None,
        *,
        cursor: str | None = None,
        limit: int | None = None,
        caller: Caller | None = None,
        batch: int = 1000,
    ) -> ExportRun:
        """A lazy export of the current states that match ``filters`` (see
        :class:`~.export.ExportRun`); nothing is read before it is iterated."""
        return ExportRun(
            self, filters or Filters(), cursor=cursor, limit=limit, caller=caller, batch=batch
        )

    def purge(self, *, now: float | None = None, caller: Caller | None = None) -> int:
        """Delete expired events (admin); how many."""
        return run(self.store, self._purge(now, caller))

    def delete(self, subject_id: str, *, caller: Caller | None = None) -> int:
        """Erase a subject (admin; a ``delete`` proof record stays); records removed."""
        return run(self.store, self._delete(subject_id, caller))

    def access_log(self, *, limit: int = 100, caller: Caller | None = None) -> list[AccessEntry]:
        """The access log newest first (admin; reading it is logged too)."""
        return run(self.store, self._access_log(limit, caller))

    # -- the async face --------------------------------------------------------------------

    async def asubject(
        self, subject_id: str, *, by: str = "consent", caller: Caller | None = None
    ) -> SubjectAnswer:
        return await arun(self.store, self._subject(subject_id, by, caller))

    async def alookup(self, ids: Iterable[str], *, caller: Caller | None = None) -> LookupAnswer:
        return await arun(self.store, self._lookup(ids, caller))

    async def ahistory(
        self,
        subject_id: str,
        *,
        by: str = "consent",
        limit: int = 100,
        cursor: str | None = None,
        caller: Caller | None = None,
    ) -> HistoryAnswer:
        return await arun(self.store, self._history(subject_id, by, limit, cursor, caller))

    async def astats(
        self, *, policy_version: str | None = None, caller: Caller | None = None
    ) -> StatsAnswer:
        return await arun(self.store, self._stats(policy_version, caller))

    async def ainventory(
        self, *, limit: int = 10_000, caller: Caller | None = None
    ) -> list[dict[str, Any]]:
        return await arun(self.store, self._inventory(limit, caller))

    async def apurge(self, *, now: float | None = None, caller: Caller | None = None) -> int:
        return await arun(self.store, self._purge(now, caller))

    async def adelete(self, subject_id: str, *, caller: Caller | None = None) -> int:
        return await arun(self.store, self._delete(subject_id, caller))

    async def aaccess_log(
        self, *, limit: int = 100, caller: Caller | None = None
    ) -> list[AccessEntry]:
        return await arun(self.store, self._access_log(limit, caller))
