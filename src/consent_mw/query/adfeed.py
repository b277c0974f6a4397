"""The advertising team's feed: consent in each platform's terms, "what was it at time
T", and every consent change in order (:class:`AdsFeed`).

::

    feed = AdsFeed(QueryService(store, policy=policy))
    feed.platforms(["c0ffee…"])["results"][0]["platforms"]      # Google Ads / GA4 fields now
    feed.as_of(["c0ffee…"], at=click_time)                       # … when the click happened
    page = feed.changes(cursor, limit=500, wait=20)              # long-poll the change feed
    for change in page["changes"]: ...; cursor = page["next_cursor"]

Like every query, each call writes an access-log entry first. Point-in-time answers
come from the ledger's history (``as_of`` of the store); ``personalised_ads`` is judged
by the current policy's rules at ``at`` (expiry, GPC), except the policy-version check:
the ledger does not say when each version took effect, and a choice recorded under a
version was made under the version in force then. A change in the feed is judged the
same way, at its own time.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, TypedDict, TypeVar

import anyio

from ..exceptions import ConfigError
from ..stores import Record
from ..stores.feed import FEED_START, ChangePage
from .caller import Caller
from .errors import BadQuery, FeedUnavailable
from .plans import Both, Call, Op, Plan, arun, run
from .platforms import PlatformConsent, platform_consent
from .service import QueryService, check_ids, check_limit
from .views import AdsJudge, RecordView, SubjectState, record_view, state_of

__all__ = ["MAX_CHANGES", "MAX_WAIT", "AdsFeed", "ChangeView", "ChangesAnswer", "PlatformAnswer"]

T = TypeVar("T")

#: Changes one page carries at most.
MAX_CHANGES = 1000
#: The longest a long-poll waits for a change (seconds).
MAX_WAIT = 30.0
#: How often a waiting long-poll asks the store again (seconds).
POLL_INTERVAL = 0.05
_LATEST = 10**12  # seconds since the epoch past any record: "now" for as_of


class PlatformResult(TypedDict):
    id: str
    found: bool
    state: SubjectState | None
    platforms: PlatformConsent


class PlatformAnswer(TypedDict):
    at: float | None
    results: list[PlatformResult]
    found: int
    missing: int


class ChangeView(TypedDict):
    cursor: str
    record: RecordView
    personalised_ads: bool | None
    platforms: PlatformConsent


class ChangesAnswer(TypedDict):
    changes: list[ChangeView]
    next_cursor: str


def check_time(at: object) -> float:
    if isinstance(at, bool) or not isinstance(at, int | float) or not 0 <= at < _LATEST:
        raise BadQuery(
            f"at must be a time in seconds since the epoch (0 to {_LATEST}), not {at!r}.",
            code="bad_parameter",
        )
    return float(at)


def check_cursor(cursor: object) -> str:
    if not isinstance(cursor, str) or not cursor or len(cursor) > 64 or not cursor.isascii():
        raise BadQuery(f"cursor must be a change-feed cursor, not {cursor!r}.", code="bad_cursor")
    return cursor


class AdsFeed:
    """Platform fields, point-in-time answers and the change feed over a
    :class:`~consent_mw.query.QueryService` (its store, policy, clock and access log)."""

    def __init__(self, service: QueryService) -> None:
        self.service = service
        # a past state is judged without the version check: see AdsJudge
        self.judge_then = AdsJudge(service.policy, version_blind=True)

    # -- plans ---------------------------------------------------------------------------

    def _platforms(
        self, ids: Iterable[str], at: float | None, caller: Caller | None
    ) -> Plan[PlatformAnswer]:
        wanted = check_ids(ids, "in one request")
        when = None if at is None else check_time(at)
        service = self.service
        params: dict[str, Any] = {"ids": wanted, "at": when}
        log = service._log(caller, "platforms" if when is None else "as_of", params)
        read = Call(Op.LOOKUP, (wanted,)) if when is None else Call(Op.AS_OF, (wanted, when))
        _, found = yield Both((log, read))
        now, judge = (service.clock(), service.judge) if when is None else (when, self.judge_then)
        results: list[PlatformResult] = []
        for subject, record in found.items():
            state = None if record is None else state_of(record, judge, now)
            google = None if record is None else judge.google_ads(record, now)
            results.append(
                {
                    "id": subject,
                    "found": record is not None,
                    "state": state,
                    "platforms": platform_consent(record, google),
                }
            )
        hits = sum(1 for r in results if r["found"])
        return {"at": when, "results": results, "found": hits, "missing": len(results) - hits}

    def _view(self, cursor: str, record: Record) -> ChangeView:
        allowed = google = None
        if record.action != "delete":
            allowed, _ = self.judge_then(record, record.time)
            google = self.judge_then.google_ads(record, record.time)
        return {
            "cursor": cursor,
            "record": record_view(record),
            "personalised_ads": allowed,
            "platforms": platform_consent(None if record.action == "delete" else record, google),
        }

    def _page(
        self, cursor: str, limit: int, caller: Caller | None, *, first: bool
    ) -> Plan[ChangePage]:
        read = Call(Op.CHANGES, (cursor,), {"limit": limit})
        if first:  # one access-log entry per request, not one per poll
            log = self.service._log(caller, "changes", {"cursor": cursor, "limit": limit})
            _, page = yield Both((log, read))
        else:
            page = yield read
        result: ChangePage = page
        return result

    def _answer(self, page: ChangePage) -> ChangesAnswer:
        return {
            "changes": [self._view(c.cursor, c.record) for c in page.changes],
            "next_cursor": page.next,
        }

    @staticmethod
    def _checked(cursor: str | None, limit: int, wait: float) -> tuple[str, int, float]:
        given = FEED_START if cursor is None else check_cursor(cursor)
        check_limit(limit, MAX_CHANGES)
        if isinstance(wait, bool) or not isinstance(wait, int | float) or not 0 <= wait <= MAX_WAIT:
            raise BadQuery(f"wait must be 0 to {MAX_WAIT:g} seconds.", code="bad_parameter")
        return given, limit, float(wait)

    def _end(self, caller: Caller | None) -> Plan[str]:
        log = self.service._log(caller, "feed_end", {})
        _, end = yield Both((log, Call(Op.FEED_END)))
        result: str = end
        return result

    def _run(self, plan: Plan[T]) -> T:
        try:
            return run(self.service.store, plan)
        except ConfigError as exc:  # a store that keeps no feed
            raise FeedUnavailable(str(exc)) from None

    async def _arun(self, plan: Plan[T]) -> T:
        try:
            return await arun(self.service.store, plan)
        except ConfigError as exc:
            raise FeedUnavailable(str(exc)) from None

    # -- the sync face -----------------------------------------------------------------------

    def platforms(self, ids: Iterable[str], *, caller: Caller | None = None) -> PlatformAnswer:
        """Each id's current consent in Google Ads and GA4 terms (up to 1,000 ids)."""
        return run(self.service.store, self._platforms(ids, None, caller))

    def as_of(
        self, ids: Iterable[str], at: float, *, caller: Caller | None = None
    ) -> PlatformAnswer:
        """Each id's state at time ``at`` and its platform fields then (up to 1,000 ids)."""
        return run(self.service.store, self._platforms(ids, at, caller))

    def changes(
        self,
        cursor: str | None = None,
        *,
        limit: int = 100,
        wait: float = 0.0,
        caller: Caller | None = None,
    ) -> ChangesAnswer:
        """The changes after ``cursor`` (``None``: from the first), at most ``limit``;
        with ``wait`` > 0 and none yet, asks again until one arrives or ``wait`` passes."""
        cursor, limit, wait = self._checked(cursor, limit, wait)
        deadline, first = time.monotonic() + wait, True
        while True:
            page = self._run(self._page(cursor, limit, caller, first=first))
            first = False
            if page.changes or time.monotonic() >= deadline:
                return self._answer(page)
            time.sleep(min(POLL_INTERVAL, max(deadline - time.monotonic(), 0.0)))

    def end(self, *, caller: Caller | None = None) -> str:
        """The cursor of the newest change: start there to get only what comes next."""
        return self._run(self._end(caller))

    # -- the async face ----------------------------------------------------------------------

    async def aplatforms(
        self, ids: Iterable[str], *, caller: Caller | None = None
    ) -> PlatformAnswer:
        return await arun(self.service.store, self._platforms(ids, None, caller))

    async def aas_of(
        self, ids: Iterable[str], at: float, *, caller: Caller | None = None
    ) -> PlatformAnswer:
        return await arun(self.service.store, self._platforms(ids, at, caller))

    async def achanges(
        self,
        cursor: str | None = None,
        *,
        limit: int = 100,
        wait: float = 0.0,
        caller: Caller | None = None,
    ) -> ChangesAnswer:
        cursor, limit, wait = self._checked(cursor, limit, wait)
        deadline, first = time.monotonic() + wait, True
        while True:
            page = await self._arun(self._page(cursor, limit, caller, first=first))
            first = False
            if page.changes or time.monotonic() >= deadline:
                return self._answer(page)
            await anyio.sleep(min(POLL_INTERVAL, max(deadline - time.monotonic(), 0.0)))

    async def aend(self, *, caller: Caller | None = None) -> str:
        return await self._arun(self._end(caller))
