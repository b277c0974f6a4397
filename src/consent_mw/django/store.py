"""``DjangoStore``: the ledger in the site's own database, through Django's ORM.

::

    CONSENT_MW = {"policy": ..., "store": "django://default"}   # a database alias

The tables come with the app's migrations (``manage.py migrate``). Each consent change
is one transaction: the subject's current row is locked (``SELECT … FOR UPDATE`` where
the database has it), the record appended, the state replaced and the counters moved by
``UPDATE … SET n = n + 1``, in a fixed order so two writers never wait on each other.
On SQLite give the database ``"OPTIONS": {"transaction_mode": "IMMEDIATE"}`` (Django
5.1+): a deferred transaction that turns into a write fails at once under a second
writer instead of waiting its turn.

The async face runs each call through ``sync_to_async(thread_sensitive=True)``, as
Django runs its synchronous code under ASGI: on the thread that holds the request's
connection (and a test case's transaction). A database error is
:class:`~consent_mw.exceptions.StoreUnavailable`, so a consent POST answers 503.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import DatabaseError, IntegrityError, connections, transaction
from django.db.models import F, Max

from ..exceptions import ConfigError, StoreUnavailable
from ..stores.base import (
    STATUTORY_HOLD_KINDS,
    BaseStore,
    Event,
    Record,
    check_proof,
    id_list,
    require_id,
)
from ..stores.feed import FEED_START, Change, ChangePage, parse_row_cursor
from ..stores.paging import AccessEntry, HistoryPage, ScanBatch, parse_position
from ..stores.records import counted

__all__ = ["DjangoStore"]

P = ParamSpec("P")
T = TypeVar("T")

#: ids per query of a batch lookup (under every database's parameter limit)
_CHUNK = 900


def _guarded(method: Callable[P, T]) -> Callable[P, T]:
    @wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except DatabaseError as exc:
            store = args[0]
            if isinstance(store, DjangoStore):
                # Django drops a broken connection at a request's start and end; the
                # recorder's thread serves no request, so it is dropped here.
                connections[store.using].close_if_unusable_or_obsolete()
            raise StoreUnavailable(f"The Django database could not complete it: {exc}") from exc

    return call


class DjangoStore(BaseStore):
    """The ledger in Django's database ``using`` (an alias of ``settings.DATABASES``)."""

    def __init__(self, using: str = "default") -> None:
        from . import models

        if using not in connections.settings:
            raise ConfigError(
                f"django://{using}: no database {using!r} in settings.DATABASES"
                f" (there are: {', '.join(sorted(connections.settings))})."
            )
        self.using = using
        self._m = models

    def _atomic(self) -> transaction.Atomic:
        return transaction.atomic(using=self.using)

    def _current_row(self, subject_id: str, *, lock: bool) -> Any:
        rows = self._m.CurrentState.objects.using(self.using).filter(subject_id=subject_id)
        if lock:
            rows = rows.select_for_update()
        return rows.first()

    def _bump(self, record: Record, step: int) -> None:
        counters = self._m.ChoiceCount.objects.using(self.using)
        # Sorted: every writer takes the counter rows' locks in the same order.
        for category, granted in sorted(counted(record)):
            key: dict[str, object] = {"policy_version": record.policy_version}
            key.update(category=category, granted=bool(granted))
            if counters.filter(**key).update(n=F("n") + step):
                continue
            try:
                with self._atomic():
                    counters.create(n=step, **key)
            except IntegrityError:  # created meanwhile by another writer
                counters.filter(**key).update(n=F("n") + step)

    def _insert(self, record: Record) -> None:
        self._m.FeedEntry.objects.using(self.using).create(
            subject_id=record.subject_id, body=record.to_json()
        )
        self._m.LedgerRecord.objects.using(self.using).create(
            record_id=record.record_id,
            subject_id=record.subject_id,
            user_id=record.user_id,
            time=record.time,
            policy_version=record.policy_version,
            action=record.action,
            body=record.to_json(),
        )

    @_guarded
    def append(self, record: Record) -> None:
        require_id(record.subject_id)
        with self._atomic():
            row = self._current_row(record.subject_id, lock=True)
            old = Record.from_json(row.body) if row is not None else None
            if old is not None and old.record_id == record.record_id:
                return  # a retried write: already applied
            self._insert(record)
            if old is not None:
                self._bump(old, -1)
            self._bump(record, 1)
            self._m.CurrentState.objects.using(self.using).update_or_create(
                subject_id=record.subject_id,
                defaults={"user_id": record.user_id, "body": record.to_json()},
            )

    @_guarded
    def current(self, subject_id: str) -> Record | None:
        row = self._current_row(require_id(subject_id), lock=False)
        return Record.from_json(row.body) if row is not None else None

    @_guarded
    def history(self, subject_id: str, *, limit: int = 100) -> list[Record]:
        require_id(subject_id)
        if limit <= 0:
            return []
        rows = self._records().filter(subject_id=subject_id).order_by("-seq")[:limit]
        return [Record.from_json(body) for body in rows.values_list("body", flat=True)]

    def _records(self) -> Any:
        return self._m.LedgerRecord.objects.using(self.using)

    @_guarded
    def counts(self, policy_version: str | None = None) -> dict[tuple[str, str, bool], int]:
        rows = self._m.ChoiceCount.objects.using(self.using).exclude(n=0)
        if policy_version is not None:
            rows = rows.filter(policy_version=policy_version)
        fields = ("policy_version", "category", "granted", "n")
        return {(v, c, bool(g)): n for v, c, g, n in rows.values_list(*fields)}

    @_guarded
    def lookup(self, subject_ids: Iterable[str]) -> dict[str, Record | None]:
        ids = id_list(subject_ids)
        states = self._m.CurrentState.objects.using(self.using)
        found: dict[str, str] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            found.update(states.filter(subject_id__in=chunk).values_list("subject_id", "body"))
        return {s: Record.from_json(found[s]) if s in found else None for s in ids}

    @_guarded
    def as_of(self, subject_ids: Iterable[str], at: float) -> dict[str, Record | None]:
        ids = id_list(subject_ids)
        found: dict[str, Record | None] = dict.fromkeys(ids)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            newest = (
                self._records()
                .filter(subject_id__in=chunk, time__lte=at)
                .values("subject_id")
                .annotate(top=Max("seq"))
                .values_list("top", flat=True)
            )
            rows = self._records().filter(seq__in=list(newest)).values_list("action", "body")
            for action, body in rows:
                if action != "delete":
                    record = Record.from_json(body)
                    found[record.subject_id] = record
        return found

    @_guarded
    def changes(self, after: str = FEED_START, *, limit: int = 100) -> ChangePage:
        start = parse_row_cursor(after)
        if limit <= 0:
            return ChangePage([], after)
        rows = list(
            self._m.FeedEntry.objects.using(self.using)
            .filter(seq__gt=start)
            .order_by("seq")
            .values_list("seq", "body")[:limit]
        )
        changes = [Change(str(seq), Record.from_json(body)) for seq, body in rows]
        return ChangePage(changes, changes[-1].cursor if changes else after)

    @_guarded
    def feed_end(self) -> str:
        top = self._m.FeedEntry.objects.using(self.using).aggregate(top=Max("seq"))["top"]
        return str(top or 0)

    @_guarded
    def link_user(self, subject_id: str, user_id: str) -> None:
        require_id(subject_id)
        require_id(user_id, "user_id")
        links = self._m.UserLink.objects.using(self.using)
        with self._atomic():
            newest = links.filter(user_id=user_id).aggregate(top=Max("seq"))["top"] or 0
            links.update_or_create(
                user_id=user_id, subject_id=subject_id, defaults={"seq": newest + 1}
            )

    @_guarded
    def subjects_of(self, user_id: str) -> list[str]:
        require_id(user_id, "user_id")
        links = self._m.UserLink.objects.using(self.using).filter(user_id=user_id)
        return list(links.order_by("-seq").values_list("subject_id", flat=True))

    @_guarded
    def delete_subject(self, subject_id: str, *, proof: Record) -> int:
        require_id(subject_id)
        check_proof(subject_id, proof)
        using = self.using
        with self._atomic():
            row = self._current_row(subject_id, lock=True)
            if row is not None:
                self._bump(Record.from_json(row.body), -1)
                row.delete(using=using)
            removed, _ = self._records().filter(subject_id=subject_id).delete()
            events = self._m.CollectedEvent.objects.using(using).filter(subject_id=subject_id)
            gone, _ = events.exclude(kind__in=sorted(STATUTORY_HOLD_KINDS)).delete()
            self._m.UserLink.objects.using(using).filter(subject_id=subject_id).delete()
            # erased from the feed too: only the deletion proof is left to report it
            self._m.FeedEntry.objects.using(using).filter(subject_id=subject_id).delete()
            self._insert(proof)
        return int(removed + gone)

    @_guarded
    def record_events(self, events: Sequence[Event]) -> None:
        rows = [
            self._m.CollectedEvent(
                time=e.time,
                kind=e.kind,
                subject_id=e.subject_id,
                user_id=e.user_id,
                expires_at=e.expires_at,
                body=e.to_json(),
            )
            for e in events
        ]
        if rows:
            with self._atomic():
                self._m.CollectedEvent.objects.using(self.using).bulk_create(rows, batch_size=500)

    @_guarded
    def events(
        self, subject_id: str | None = None, user_id: str | None = None, limit: int = 100
    ) -> list[Event]:
        if limit <= 0:
            return []
        rows = self._m.CollectedEvent.objects.using(self.using).filter(expires_at__gt=time.time())
        if subject_id is not None:
            rows = rows.filter(subject_id=subject_id)
        if user_id is not None:
            rows = rows.filter(user_id=user_id)
        bodies = rows.order_by("-time", "-seq").values_list("body", flat=True)[:limit]
        return [Event.from_dict(json.loads(body)) for body in bodies]

    @_guarded
    def purge(self, now: float | None = None) -> int:
        cutoff = time.time() if now is None else now
        events = self._m.CollectedEvent.objects.using(self.using)
        removed, _ = events.filter(expires_at__lte=cutoff).delete()
        return int(removed)

    @_guarded
    def history_page(
        self, subject_id: str, *, limit: int = 100, before: str | None = None
    ) -> HistoryPage:
        # A position is the row's seq: rows appended later get larger ones.
        require_id(subject_id)
        if limit <= 0:
            return HistoryPage([], [], more=False)
        rows = self._records().filter(subject_id=subject_id)
        if before is not None:
            rows = rows.filter(seq__lt=parse_position(before))
        found = list(rows.order_by("-seq").values_list("seq", "body")[: limit + 1])
        page = found[:limit]
        return HistoryPage(
            [Record.from_json(body) for _, body in page],
            [str(seq) for seq, _ in page],
            more=len(found) > limit,
        )

    @_guarded
    def scan_current(self, cursor: str | None = None, *, count: int = 1000) -> ScanBatch:
        # Keyset pagination over the primary key: the cursor is the last subject id.
        count = max(count, 1)
        rows = self._m.CurrentState.objects.using(self.using)
        if cursor is not None:
            rows = rows.filter(subject_id__gt=cursor)
        found = list(rows.order_by("subject_id").values_list("subject_id", "body")[:count])
        records = [Record.from_json(body) for _, body in found]
        return ScanBatch(records, found[-1][0] if len(found) == count else None, start=cursor)

    @_guarded
    def log_access(self, entry: AccessEntry, cap: int = 1_000_000) -> None:
        # Capped like the other stores' (it names the ids asked about: personal data is
        # not kept without end): the oldest entries go, checked every 1,000 writes.
        log = self._m.AccessLogEntry.objects.using(self.using)
        row = log.create(time=entry.time, actor=entry.actor, body=entry.to_json())
        if row.seq % 1000 == 0:
            log.filter(seq__lte=row.seq - cap).delete()

    @_guarded
    def access_log(self, limit: int = 100) -> list[AccessEntry]:
        if limit <= 0:
            return []
        log = self._m.AccessLogEntry.objects.using(self.using)
        bodies = log.order_by("-seq").values_list("body", flat=True)[:limit]
        return [AccessEntry.from_json(body) for body in bodies]

    @_guarded
    def ping(self) -> None:
        with connections[self.using].cursor() as cursor:
            cursor.execute("SELECT 1")

    def close(self) -> None:
        # The connections are Django's: it closes them at the end of each request.
        pass


#: the protocol's async face (BaseStore's ``aX`` for each ``X``)
_ASYNC_FACE = [
    "append",
    "current",
    "history",
    "lookup",
    "as_of",
    "changes",
    "feed_end",
    "counts",
    "link_user",
    "subjects_of",
    "by_user",
    "delete_subject",
    "record_events",
    "events",
    "purge",
    "history_page",
    "scan_current",
    "log_access",
    "access_log",
    "ping",
    "close",
]


def _async(name: str) -> Callable[..., Any]:
    sync = getattr(DjangoStore, name)

    async def method(self: DjangoStore, *args: Any, **kwargs: Any) -> Any:
        return await sync_to_async(sync, thread_sensitive=True)(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = f"a{name}"
    return method


for _name in _ASYNC_FACE:
    setattr(DjangoStore, f"a{_name}", _async(_name))
