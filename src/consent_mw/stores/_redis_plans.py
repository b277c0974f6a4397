"""What each Redis store operation sends and how it reads the replies, without any I/O.

An operation is a generator: it yields requests (:class:`Cmd`, :class:`Eval`,
:class:`MGet`, :class:`Batch`), receives each reply and returns the result. The sync
and the async face of :class:`~consent_mw.stores.redis.RedisStore` drive the same
generators, so both share the key layout, the scripts and the serialisation; only the
client differs (``redis.Redis`` / ``RedisCluster`` or their ``redis.asyncio`` twins).
The I/O that carries the requests is in :mod:`._redis_io`.
"""

from __future__ import annotations

import heapq
import json
import time
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ..exceptions import ConfigError
from ._redis_keys import EVENT_SHARDS, TOTAL_MARKER, Keys, parse_counter_field
from ._redis_lua import APPEND, AS_OF, COUNTS_TOTAL, DELETE, EVENT_ADD, HISTORY_PAGE, Script
from .base import (
    STATUTORY_HOLD_KINDS,
    Event,
    Record,
    check_proof,
    id_list,
    latest,
    require_id,
)
from .feed import FEED_START, Change, ChangePage
from .paging import AccessEntry, CursorError, HistoryPage, ScanBatch, parse_position
from .records import counted

__all__ = ["Batch", "Cmd", "Eval", "MGet", "Plan", "Plans", "Request", "Scan"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Cmd:
    """One command (routed by its first key on a cluster)."""

    args: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Eval:
    """EVALSHA of ``script`` (loaded and retried once on NOSCRIPT)."""

    script: Script
    keys: tuple[str, ...]
    args: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class MGet:
    """The values of ``keys`` (MGET per slot on a cluster), in order."""

    keys: Sequence[str]


@dataclass(frozen=True, slots=True)
class Batch:
    """Commands sent in one pipeline (one per node on a cluster); the replies in order."""

    ops: tuple[Cmd | Eval, ...]


@dataclass(frozen=True, slots=True)
class Scan:
    """One SCAN call on primary number ``node`` (of the primaries sorted by name; 0 on a
    single server). The reply is ``(number of primaries, next cursor, keys)``."""

    node: int
    cursor: int
    match: str
    count: int


Request = Cmd | Eval | MGet | Batch | Scan
Plan = Generator[Request, Any, T]


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _pairs(reply: Sequence[Any]) -> list[tuple[float, bytes]]:
    """A WITHSCORES reply (flat in RESP2, pairs in RESP3) as ``(score, member)``."""
    if reply and isinstance(reply[0], list | tuple):
        return [(float(score), member) for member, score in reply]
    return [(float(reply[i + 1]), reply[i]) for i in range(0, len(reply), 2)]


def _counter_totals(
    fields: Iterable[tuple[bytes, Any]], policy_version: str | None, into: dict[Any, int]
) -> None:
    prefix = None
    if policy_version is not None:
        version = policy_version.encode("utf-8")
        prefix = str(len(version)).encode() + b":" + version
    for field, value in fields:
        if field == TOTAL_MARKER or (prefix is not None and not field.startswith(prefix)):
            continue
        triple = parse_counter_field(field)
        into[triple] = into.get(triple, 0) + int(value)


def _scan_cursor(cursor: str | None) -> tuple[int, int]:
    if cursor is None:
        return 0, 0
    node, sep, scan = cursor.partition(":")
    digits = node.isascii() and node.isdigit() and scan.isascii() and scan.isdigit()
    if not sep or not digits or len(cursor) > 40:
        raise CursorError(f"not a cursor of a Redis walk: {cursor!r}")
    if int(node) > 1024 or int(scan) >= 2**64:  # Redis SCAN cursors are unsigned 64-bit
        raise CursorError(f"not a cursor of a Redis walk: {cursor!r}")
    return int(node), int(scan)


def _stream_id(cursor: str) -> str:
    """A change-feed cursor: a stream entry id ``<ms>-<seq>`` (or ``0``)."""
    ms, sep, seq = cursor.partition("-")
    ok = ms.isascii() and ms.isdigit() and (not sep or (seq.isascii() and seq.isdigit()))
    if not ok or len(cursor) > 41 or int(ms) >= 2**64 or (sep and int(seq) >= 2**64):
        raise CursorError(f"not a change-feed cursor of this store: {cursor!r}")
    return cursor


#: EVENT_ADD's packed argument: a JSON array of strings (the script reads it with cjson).
_PACK = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

#: Events one EVENT_ADD call writes at most (bounds a script's run and its arguments).
_EVENTS_PER_SCRIPT = 256


class Plans:
    """The store's operations as request generators over one key layout.

    ``cluster`` is false on a single server: the consent-change scripts then also move
    the total counters (see :mod:`._redis_keys`)."""

    def __init__(
        self,
        keys: Keys,
        *,
        cluster: bool = False,
        access_log_max: int = 1_000_000,
        feed_max: int = 1_000_000,
    ):
        self.keys = keys
        self.cluster = cluster
        self.access_log_max = access_log_max
        self.feed_max = feed_max

    # -- consent records -----------------------------------------------------------

    def append(self, record: Record) -> Plan[None]:
        yield self._append_op(record)

    def _append_op(self, record: Record) -> Eval:
        subject = require_id(record.subject_id)
        k = self.keys
        flat: list[str] = []
        for category, granted in counted(record):
            flat += (category, "1" if granted else "0")
        keys: tuple[str, ...] = (
            k.hist(subject),
            k.cur(subject),
            k.counters(subject),
            k.feed_ids(subject),
        )
        if not self.cluster:
            keys += (k.total(), k.feed())
        args = (record.to_json(), record.record_id, record.policy_version, self.feed_max, *flat)
        return Eval(APPEND, keys, args)

    def append_many(self, records: Iterable[Record], chunk: int = 2000) -> Plan[int]:
        """Many changes in pipelines of ``chunk`` scripts (each as exact as
        :meth:`append`; in order per subject); the number applied."""
        applied = 0
        ops: list[Cmd | Eval] = []
        for record in records:
            ops.append(self._append_op(record))
            if len(ops) == chunk:
                applied += sum((yield Batch(tuple(ops))))
                ops = []
        if ops:
            applied += sum((yield Batch(tuple(ops))))
        return applied

    def current(self, subject_id: str) -> Plan[Record | None]:
        raw = yield Cmd(("GET", self.keys.cur(require_id(subject_id))))
        return Record.from_json(raw) if raw is not None else None

    def history(self, subject_id: str, limit: int) -> Plan[list[Record]]:
        key = self.keys.hist(require_id(subject_id))
        if limit <= 0:
            return []
        raw = yield Cmd(("LRANGE", key, 0, limit - 1))
        return [Record.from_json(item) for item in raw]

    def lookup(self, subject_ids: Iterable[str]) -> Plan[dict[str, Record | None]]:
        ids = id_list(subject_ids)
        if not ids:
            return {}
        raw: list[bytes | None] = yield MGet(self.keys.curs(ids))
        found: dict[str, Record | None] = dict.fromkeys(ids)
        present = [s for s, v in zip(ids, raw, strict=True) if v is not None]
        records = Record.many_from_json([v for v in raw if v is not None])
        found.update(zip(present, records, strict=True))
        return found

    def counts(self, policy_version: str | None) -> Plan[dict[tuple[str, str, bool], int]]:
        totals: dict[tuple[str, str, bool], int] = {}
        if self.cluster:
            shards = yield Batch(tuple(Cmd(("HGETALL", key)) for key in self.keys.all_counters()))
            for shard in shards:
                _counter_totals(shard.items(), policy_version, totals)
        else:
            total: dict[bytes, bytes] = yield Cmd(("HGETALL", self.keys.total()))
            if total:
                _counter_totals(total.items(), policy_version, totals)
            else:  # not built yet (or deleted): build it from the shards, atomically
                flat = yield Eval(COUNTS_TOTAL, (self.keys.total(), *self.keys.all_counters()), ())
                pairs = zip(flat[::2], flat[1::2], strict=True)
                _counter_totals(pairs, policy_version, totals)
        return {k: n for k, n in totals.items() if n}

    def as_of(self, subject_ids: Iterable[str], at: float) -> Plan[dict[str, Record | None]]:
        # The current state answers for most subjects: when it is no newer than ``at`` it
        # was already the state then, and a subject without one has no consent at any
        # time (never decided, or erased). Only the others walk their history.
        now = yield from self.lookup(subject_ids)
        found: dict[str, Record | None] = {}
        older: list[str] = []
        for subject, current in now.items():
            if current is not None and current.time > at:
                older.append(subject)
            found[subject] = current if current is not None and current.time <= at else None
        when = repr(float(at))
        for start in range(0, len(older), 1000):
            chunk = older[start : start + 1000]
            ops = tuple(Eval(AS_OF, (self.keys.hist(s),), (when,)) for s in chunk)
            replies = yield Batch(ops)
            present = [s for s, v in zip(chunk, replies, strict=True) if v]
            records = Record.many_from_json([v for v in replies if v])
            found.update(zip(present, records, strict=True))
        return found

    # -- the change feed -------------------------------------------------------------------

    def _need_feed(self) -> None:
        if self.cluster:
            raise ConfigError(
                "The change feed needs a single Redis server (or a SQLite or Django ledger):"
                " on Redis Cluster a change and a feed entry would live in different slots,"
                " and no script can write both atomically."
            )

    def changes(self, after: str, limit: int) -> Plan[ChangePage]:
        self._need_feed()
        start = _stream_id(after)
        if limit <= 0:
            return ChangePage([], after)
        reply = yield Cmd(("XRANGE", self.keys.feed(), f"({start}", "+", "COUNT", limit))
        cursors, bodies = [], []
        for entry_id, fields in reply:
            body = fields.get(b"r") if isinstance(fields, dict) else None
            if body is not None:
                cursors.append(_text(entry_id))
                bodies.append(body)
        records = Record.many_from_json(bodies)
        changes = [Change(c, r) for c, r in zip(cursors, records, strict=True)]
        return ChangePage(changes, changes[-1].cursor if changes else after)

    def feed_end(self) -> Plan[str]:
        self._need_feed()
        reply = yield Cmd(("XREVRANGE", self.keys.feed(), "+", "-", "COUNT", 1))
        return _text(reply[0][0]) if reply else FEED_START

    def history_page(self, subject_id: str, limit: int, before: str | None) -> Plan[HistoryPage]:
        key = self.keys.hist(require_id(subject_id))
        if before is not None:
            parse_position(before)  # a CursorError unless a position this store hands out
        if limit <= 0:
            return HistoryPage([], [], more=False)
        reply = yield Eval(HISTORY_PAGE, (key,), (before or "", limit + 1))
        length, items = int(reply[0]), reply[1:]
        start = length - min(int(before), length) if before is not None else 0
        page = items[:limit]
        positions = [str(length - 1 - (start + i)) for i in range(len(page))]
        return HistoryPage(Record.many_from_json(page), positions, more=len(items) > limit)

    def scan_current(self, cursor: str | None, count: int) -> Plan[ScanBatch]:
        node, scan = _scan_cursor(cursor)
        nodes, following, keys = yield Scan(node, scan, self.keys.current_pattern(), count)
        values = (yield MGet(keys)) if keys else []
        records = Record.many_from_json([v for v in values if v is not None])
        records.sort(key=lambda r: r.subject_id)
        # SCAN may return a key twice while the server rehashes: not twice in a batch.
        unique = [
            r for i, r in enumerate(records) if not i or records[i - 1].subject_id != r.subject_id
        ]
        if following:
            next_cursor: str | None = f"{node}:{following}"
        elif node + 1 < nodes:
            next_cursor = f"{node + 1}:0"
        else:
            next_cursor = None
        return ScanBatch(unique, next_cursor, start=f"{node}:{scan}", keyset=False)

    # -- the access log -------------------------------------------------------------------

    def log_access(self, entry: AccessEntry) -> Plan[None]:
        # A capped stream: trimmed (approximately, in whole nodes: cheap) past the cap.
        yield Cmd(
            (
                "XADD",
                self.keys.access(),
                "MAXLEN",
                "~",
                self.access_log_max,
                "*",
                "e",
                entry.to_json(),
            )
        )

    def access_log(self, limit: int) -> Plan[list[AccessEntry]]:
        if limit <= 0:
            return []
        reply = yield Cmd(("XREVRANGE", self.keys.access(), "+", "-", "COUNT", limit))
        entries: list[AccessEntry] = []
        for _, fields in reply:
            body = fields.get(b"e") if isinstance(fields, dict) else None
            if body is not None:
                entries.append(AccessEntry.from_json(body))
        return entries

    # -- users ---------------------------------------------------------------------------

    def link_user(self, subject_id: str, user_id: str) -> Plan[None]:
        require_id(subject_id)
        require_id(user_id, "user_id")
        yield Batch(
            (
                Cmd(("ZADD", self.keys.user_subjects(user_id), time.time(), subject_id)),
                Cmd(("SADD", self.keys.users(subject_id), user_id)),
            )
        )

    def subjects_of(self, user_id: str) -> Plan[list[str]]:
        key = self.keys.user_subjects(require_id(user_id, "user_id"))
        raw = yield Cmd(("ZREVRANGE", key, 0, -1))
        return [_text(s) for s in raw]

    def by_user(self, user_id: str) -> Plan[Record | None]:
        subjects = yield from self.subjects_of(user_id)
        if not subjects:
            return None
        states = yield from self.lookup(subjects)
        return latest(states.values())

    # -- deletion --------------------------------------------------------------------------

    def delete_subject(self, subject_id: str, proof: Record) -> Plan[int]:
        require_id(subject_id)
        check_proof(subject_id, proof)
        k = self.keys
        scope = k.subject(subject_id)
        keys: tuple[str, ...] = (
            k.hist(subject_id),
            k.cur(subject_id),
            k.counters(subject_id),
            k.users(subject_id),
            k.by_time(scope),
            k.by_expiry(scope),
            k.feed_ids(subject_id),
        )
        if not self.cluster:
            keys += (k.total(), k.feed())
        args = (proof.to_json(), self.feed_max, *sorted(STATUTORY_HOLD_KINDS))
        reply = yield Eval(DELETE, keys, args)
        records, events, users, gone = reply
        # The user-side indexes live in other slots: a second, idempotent round trip.
        cleanup: list[Cmd | Eval] = [
            Cmd(("ZREM", k.user_subjects(_text(user)), subject_id)) for user in users
        ]
        for i in range(0, len(gone), 2):
            member, user = _text(gone[i]), _text(gone[i + 1])
            scopes = [k.shard(k.shard_of(member))]
            if user:
                scopes.append(k.user(user))
            for other in scopes:
                cleanup.append(Cmd(("ZREM", k.by_time(other), member)))
                cleanup.append(Cmd(("ZREM", k.by_expiry(other), member)))
        if cleanup:
            yield Batch(tuple(cleanup))
        return int(records) + int(events)

    # -- events ----------------------------------------------------------------------------

    def record_events(self, events: Sequence[Event]) -> Plan[None]:
        # One script per index pair (the subject's, the user's, a global shard) for all
        # the batch's events there, not one per event and index: a batch of requests
        # costs about one script per subject plus one per shard.
        k = self.keys
        now = time.time()
        # per home: its events' keys, their times and expiries (two per event), bodies
        homes: dict[str, tuple[list[str], list[str], list[str]]] = {}
        indexes: dict[str, list[str]] = {}
        # The batch's events all in one shard (the first id picks it; batches spread).
        batch: int | None = None
        shard = ""
        flat: list[str] = []
        for event in events:
            if event.expires_at <= now:
                continue  # already past its retention: never stored
            eid = k.event_id(event.time, batch)
            if batch is None:
                batch = k.shard_of(eid)
                shard = k.shard(batch)
                flat = indexes[shard] = []
            user = event.user_id
            if event.subject_id:
                home = k.subject(event.subject_id)
            elif user:
                home = k.user(user)
            else:
                home = shard
            member = f"{home}:ev:{eid}"
            when, expires_ms = repr(float(event.time)), str(int(event.expires_at * 1000))
            found = homes.get(home)
            if found is None:
                found = homes[home] = ([], [], [])
            members, times, bodies = found
            members.append(member)
            times += (when, expires_ms)
            bodies.append(event.to_json())
            if home != shard:
                flat += (member, when, expires_ms)
            if user and (scope := k.user(user)) != home:
                indexes.setdefault(scope, []).extend((member, when, expires_ms))
        ops: list[Cmd | Eval] = []
        step = _EVENTS_PER_SCRIPT
        for home, (members, times, bodies) in homes.items():
            for i in range(0, len(members), step):
                keys = (k.by_time(home), k.by_expiry(home), *members[i : i + step])
                # The bodies as arguments of their own: packed into the JSON array
                # they would be escaped a second time, and decoded again in the script.
                args = ("home", _PACK(times[i * 2 : (i + step) * 2]), *bodies[i : i + step])
                ops.append(Eval(EVENT_ADD, keys, args))
        for scope, entries in indexes.items():
            for i in range(0, len(entries), step * 3):
                keys = (k.by_time(scope), k.by_expiry(scope))
                ops.append(Eval(EVENT_ADD, keys, ("index", _PACK(entries[i : i + step * 3]))))
        if ops:
            yield Batch(tuple(ops))

    def events(self, subject_id: str | None, user_id: str | None, limit: int) -> Plan[list[Event]]:
        if limit <= 0:
            return []
        k = self.keys
        if subject_id is not None:
            indexes = [k.by_time(k.subject(require_id(subject_id)))]
        elif user_id is not None:
            indexes = [k.by_time(k.user(require_id(user_id, "user_id")))]
        else:
            indexes = [k.by_time(k.shard(n)) for n in range(EVENT_SHARDS)]
        window = limit
        while True:
            replies = yield Batch(
                tuple(Cmd(("ZREVRANGE", key, 0, window - 1, "WITHSCORES")) for key in indexes)
            )
            ranked = [_pairs(reply) for reply in replies]
            exhausted = all(len(r) < window for r in ranked)
            members = [_text(m) for _, m in heapq.merge(*ranked, reverse=True)]
            bodies = (yield MGet(members)) if members else []
            now = time.time()
            found: list[Event] = []
            for body in bodies:
                if body is None:
                    continue  # expired (or erased) since the index was written
                event = Event.from_json(body)
                if event.expires_at <= now:
                    continue
                if user_id is not None and event.user_id != user_id:
                    continue
                found.append(event)
                if len(found) == limit:
                    return found
            if exhausted:
                return found
            window *= 4
