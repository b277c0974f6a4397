"""The production ledger: Redis, a single server or Redis Cluster (redis-py + hiredis).

::

    store = RedisStore("redis://127.0.0.1:6379/0")
    store = RedisStore("rediss://user:secret@redis.internal:6380/0")              # TLS
    store = RedisStore("redis+cluster://10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000")

**One round trip per consent change.** ``append`` is one EVALSHA of a Lua script
(loaded on the first NOSCRIPT, then cached by the server) that reads the current
state, pushes the proof record onto the subject's history list, replaces the
current state and moves the counters from the previous state's choices to the
new ones — atomically, because a script runs alone.

**Exact counters on a cluster.** A script may only touch keys of one hash slot.
All keys of a subject carry the subject as hash tag (``cmw:{<subject>}:hist``,
``:cur`` …), and its counters live in a *counter shard per slot*: the hash
``cmw:n:{<tag>}`` whose tag is a short string chosen to hash to the very slot of
the subject's tag (a fixed, deterministic table of 16384 tags; see
:mod:`._redis_keys`). So every counter update happens inside the same script, in
the same slot, as the history append and the state swap: no second command, no
window in which a crash or a concurrent writer can leave the counters off by
one. ``counts()`` reads every shard (HGETALL of at most 16384 small hashes, one
pipeline per node) and sums them. The same keys and scripts run unchanged on a
single server. With ``appendfsync always`` an acknowledged change is on disk
before the reply, and Redis replays a script's effects as one MULTI/EXEC from
the AOF, so history, state and counters stay consistent across a crash.

**Failures.** Every socket operation has a timeout (2 s by default; ``None`` is
refused) and a short bounded retry; connection errors, timeouts and cluster
errors (``ClusterDownError``, ``TryAgainError``, a read-only replica…) become
:class:`~consent_mw.exceptions.StoreUnavailable`, so the middleware answers 503
with Retry-After while pages keep working from the cookie. The client
reconnects by itself once the server is back. A retried ``append`` whose first
attempt was applied is recognised (the record id is already current) and not
applied twice.

**Async.** The async face runs the same operations (see :mod:`._redis_plans`)
through ``redis.asyncio`` clients, one per event loop; a loop's client is closed
when the loop shuts down (``asyncio.run`` closes open async generators, and one
holds the client) or by :meth:`RedisStore.aclose`.

**Where the parts live.** This module holds the store: its clients and the protocol,
each method one plan run. Beside it: the URL and options checked
(:mod:`._redis_settings`), the key layout (:mod:`._redis_keys`), the Lua scripts
(:mod:`._redis_lua`), what each operation sends and reads back (:mod:`._redis_plans`)
and the I/O that carries it, with the error mapping (:mod:`._redis_io`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import redis
import redis.asyncio
from redis.asyncio.cluster import ClusterNode as AsyncClusterNode
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry

from ..exceptions import ConfigError
from ._redis_io import arun, run
from ._redis_keys import Keys
from ._redis_plans import Cmd, Plan, Plans
from ._redis_settings import parse_settings
from .base import BaseStore, Event, Record
from .feed import FEED_START, ChangePage
from .paging import AccessEntry, HistoryPage, ScanBatch

__all__ = ["RedisStore"]

T = TypeVar("T")


@dataclass
class _LoopClient:
    """One event loop's async client, the generator that closes it with the loop, and
    whether it is ready (a future: other tasks wait while the first one starts it)."""

    client: Any
    keeper: AsyncGenerator[None, None]
    ready: asyncio.Future[bool]


class RedisStore(BaseStore):
    """A Redis (or Redis Cluster) ledger; see the module docstring for the design.

    ``prefix`` starts every key (several ledgers can share a server; also ``?prefix=`` in
    the URL, default ``cmw``); ``timeout`` and
    ``connect_timeout`` bound every socket operation; ``retries`` is how many times a
    command is retried after a connection error or timeout before
    :class:`~consent_mw.exceptions.StoreUnavailable`. ``max_connections`` bounds each
    pool: on a single server a caller past it waits up to ``connect_timeout`` for a free
    connection; the redis-py cluster clients fail at once instead (StoreUnavailable).
    Other keyword arguments go to the redis-py clients (e.g. ``ssl_ca_certs``).
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str | None = None,
        timeout: float = 2.0,
        connect_timeout: float = 2.0,
        retries: int = 1,
        max_connections: int = 64,
        access_log_max: int = 1_000_000,
        feed_max: int = 1_000_000,  # changes the feed keeps (approximately: MAXLEN ~)
        **client_options: Any,
    ) -> None:
        settings = parse_settings(
            url,
            prefix=prefix,
            timeout=timeout,
            connect_timeout=connect_timeout,
            retries=retries,
            max_connections=max_connections,
            access_log_max=access_log_max,
            client_options=client_options,
        )
        self.url = settings.url
        self.cluster = settings.cluster
        self.keys = Keys(settings.prefix)
        if type(feed_max) is not int or feed_max < 1000:
            raise ConfigError(f"feed_max must be an int >= 1000, not {feed_max!r}.")
        self._plans = Plans(
            self.keys, cluster=self.cluster, access_log_max=access_log_max, feed_max=feed_max
        )
        self._retries = retries
        self._options = settings.options
        self._nodes = settings.nodes
        self._lock = threading.Lock()
        self._client: Any = None
        self._aclients: dict[asyncio.AbstractEventLoop, _LoopClient] = {}

    def __repr__(self) -> str:
        return f"RedisStore({self.url!r}, prefix={self.keys.prefix!r})"

    # -- clients -------------------------------------------------------------------------

    def _backoff(self) -> ExponentialBackoff:
        return ExponentialBackoff(cap=0.2, base=0.02)

    def _make_sync(self) -> Any:
        retry = Retry(self._backoff(), self._retries)
        if self.cluster:
            options = dict(self._options)
            options.pop("max_connections")
            return RedisCluster(
                startup_nodes=[
                    ClusterNode(host, port)  # type: ignore[no-untyped-call]
                    for host, port in self._nodes
                ],
                retry=retry,
                **options,
            )
        # A blocking pool: past max_connections a caller waits (up to connect_timeout)
        # for a free connection instead of failing at once.
        pool = redis.BlockingConnectionPool.from_url(
            self.url, retry=retry, timeout=self._options["socket_connect_timeout"], **self._options
        )
        return redis.Redis.from_pool(pool)

    def _make_async(self) -> Any:
        retry = AsyncRetry(self._backoff(), self._retries)
        if self.cluster:
            return AsyncRedisCluster(
                startup_nodes=[AsyncClusterNode(host, port) for host, port in self._nodes],
                retry=retry,
                **self._options,
            )
        apool = redis.asyncio.BlockingConnectionPool.from_url(
            self.url, retry=retry, timeout=self._options["socket_connect_timeout"], **self._options
        )
        return redis.asyncio.Redis.from_pool(apool)

    def client(self) -> Any:
        """The sync redis-py client (created on first use: a cluster client connects)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make_sync()
        return self._client

    async def aclient(self) -> Any:
        """This event loop's ``redis.asyncio`` client."""
        loop = asyncio.get_running_loop()
        while True:
            with self._lock:
                entry = self._aclients.get(loop)
                owner = entry is None
                if entry is None:
                    client = self._make_async()
                    entry = _LoopClient(client, self._keeper(loop, client), loop.create_future())
                    self._aclients[loop] = entry
            if not owner:
                # shield: a cancelled waiter must not cancel the shared start-up
                if await asyncio.shield(entry.ready):
                    return entry.client
                continue  # its start failed and was dropped: try afresh
            try:
                # The first iteration registers the keeper with the loop, which closes it
                # (and so the client) in shutdown_asyncgens(), before the loop closes.
                await entry.keeper.__anext__()
                if self.cluster:
                    # Concurrent first commands on an uninitialised redis.asyncio
                    # RedisCluster race inside redis-py: discover the slots once, first.
                    await entry.client.initialize()
            except BaseException:
                entry.ready.set_result(False)
                await entry.keeper.aclose()
                raise
            entry.ready.set_result(True)
            return entry.client

    async def _keeper(
        self, loop: asyncio.AbstractEventLoop, client: Any
    ) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            with self._lock:
                entry = self._aclients.get(loop)
                if entry is not None and entry.client is client:
                    del self._aclients[loop]
            await client.aclose()

    # -- running a plan ------------------------------------------------------------------

    def _call(self, plan: Plan[T]) -> T:
        return run(plan, self.client, cluster=self.cluster)

    async def _acall(self, plan: Plan[T]) -> T:
        return await arun(plan, self.aclient, cluster=self.cluster)

    # -- the protocol: sync ------------------------------------------------------------------

    def append(self, record: Record) -> None:
        self._call(self._plans.append(record))

    def current(self, subject_id: str) -> Record | None:
        return self._call(self._plans.current(subject_id))

    def history(self, subject_id: str, *, limit: int = 100) -> list[Record]:
        return self._call(self._plans.history(subject_id, limit))

    def lookup(self, subject_ids: Iterable[str]) -> dict[str, Record | None]:
        return self._call(self._plans.lookup(subject_ids))

    def counts(self, policy_version: str | None = None) -> dict[tuple[str, str, bool], int]:
        return self._call(self._plans.counts(policy_version))

    def link_user(self, subject_id: str, user_id: str) -> None:
        self._call(self._plans.link_user(subject_id, user_id))

    def subjects_of(self, user_id: str) -> list[str]:
        return self._call(self._plans.subjects_of(user_id))

    def by_user(self, user_id: str) -> Record | None:
        return self._call(self._plans.by_user(user_id))

    def delete_subject(self, subject_id: str, *, proof: Record) -> int:
        return self._call(self._plans.delete_subject(subject_id, proof))

    def record_events(self, events: Sequence[Event]) -> None:
        self._call(self._plans.record_events(events))

    def events(
        self, subject_id: str | None = None, user_id: str | None = None, limit: int = 100
    ) -> list[Event]:
        return self._call(self._plans.events(subject_id, user_id, limit))

    def purge(self, now: float | None = None) -> int:
        return 0  # every event key carries its expiry (PXAT): Redis drops it

    def append_many(self, records: Iterable[Record], *, chunk: int = 2000) -> int:
        """Apply many consent changes (imports, migrations) in pipelines of ``chunk``
        scripts, each as exact as :meth:`append`; returns how many were applied."""
        return self._call(self._plans.append_many(records, chunk))

    def history_page(
        self, subject_id: str, *, limit: int = 100, before: str | None = None
    ) -> HistoryPage:
        return self._call(self._plans.history_page(subject_id, limit, before))

    def scan_current(self, cursor: str | None = None, *, count: int = 1000) -> ScanBatch:
        return self._call(self._plans.scan_current(cursor, count))

    def as_of(self, subject_ids: Iterable[str], at: float) -> dict[str, Record | None]:
        return self._call(self._plans.as_of(subject_ids, at))

    def changes(self, after: str = FEED_START, *, limit: int = 100) -> ChangePage:
        return self._call(self._plans.changes(after, limit))

    def feed_end(self) -> str:
        return self._call(self._plans.feed_end())

    def log_access(self, entry: AccessEntry) -> None:
        self._call(self._plans.log_access(entry))

    def access_log(self, limit: int = 100) -> list[AccessEntry]:
        return self._call(self._plans.access_log(limit))

    def ping(self) -> None:
        self._call(self._ping())

    @staticmethod
    def _ping() -> Plan[None]:
        yield Cmd(("PING",))

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- the protocol: async ---------------------------------------------------------------

    async def aappend(self, record: Record) -> None:
        await self._acall(self._plans.append(record))

    async def acurrent(self, subject_id: str) -> Record | None:
        return await self._acall(self._plans.current(subject_id))

    async def ahistory(self, subject_id: str, *, limit: int = 100) -> list[Record]:
        return await self._acall(self._plans.history(subject_id, limit))

    async def alookup(self, subject_ids: Iterable[str]) -> dict[str, Record | None]:
        return await self._acall(self._plans.lookup(subject_ids))

    async def acounts(self, policy_version: str | None = None) -> dict[tuple[str, str, bool], int]:
        return await self._acall(self._plans.counts(policy_version))

    async def alink_user(self, subject_id: str, user_id: str) -> None:
        await self._acall(self._plans.link_user(subject_id, user_id))

    async def asubjects_of(self, user_id: str) -> list[str]:
        return await self._acall(self._plans.subjects_of(user_id))

    async def aby_user(self, user_id: str) -> Record | None:
        return await self._acall(self._plans.by_user(user_id))

    async def adelete_subject(self, subject_id: str, *, proof: Record) -> int:
        return await self._acall(self._plans.delete_subject(subject_id, proof))

    async def arecord_events(self, events: Sequence[Event]) -> None:
        await self._acall(self._plans.record_events(events))

    async def aevents(
        self, subject_id: str | None = None, user_id: str | None = None, limit: int = 100
    ) -> list[Event]:
        return await self._acall(self._plans.events(subject_id, user_id, limit))

    async def apurge(self, now: float | None = None) -> int:
        return 0

    async def ahistory_page(
        self, subject_id: str, *, limit: int = 100, before: str | None = None
    ) -> HistoryPage:
        return await self._acall(self._plans.history_page(subject_id, limit, before))

    async def ascan_current(self, cursor: str | None = None, *, count: int = 1000) -> ScanBatch:
        return await self._acall(self._plans.scan_current(cursor, count))

    async def aas_of(self, subject_ids: Iterable[str], at: float) -> dict[str, Record | None]:
        return await self._acall(self._plans.as_of(subject_ids, at))

    async def achanges(self, after: str = FEED_START, *, limit: int = 100) -> ChangePage:
        return await self._acall(self._plans.changes(after, limit))

    async def afeed_end(self) -> str:
        return await self._acall(self._plans.feed_end())

    async def alog_access(self, entry: AccessEntry) -> None:
        await self._acall(self._plans.log_access(entry))

    async def aaccess_log(self, limit: int = 100) -> list[AccessEntry]:
        return await self._acall(self._plans.access_log(limit))

    async def aping(self) -> None:
        await self._acall(self._ping())

    async def aclose(self) -> None:
        """Close this event loop's client (and the sync one)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._aclients.get(loop)
        if entry is not None:
            await entry.keeper.aclose()
        self.close()
