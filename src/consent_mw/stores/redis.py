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
"""

from __future__ import annotations

import asyncio
import threading
import urllib.parse
from collections.abc import AsyncGenerator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import redis
import redis.asyncio
from redis import exceptions as rx
from redis.asyncio.cluster import ClusterNode as AsyncClusterNode
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry

from ..exceptions import ConfigError, StoreError, StoreUnavailable
from ._redis_keys import Keys
from ._redis_plans import Batch, Cmd, Eval, MGet, Plan, Plans, Request, Scan
from .base import BaseStore, Event, Record
from .paging import AccessEntry, CursorError, HistoryPage, ScanBatch

__all__ = ["RedisStore"]

T = TypeVar("T")

_UNAVAILABLE: tuple[type[BaseException], ...] = (
    rx.ConnectionError,  # also BusyLoadingError, MaxConnectionsError, AuthenticationError
    rx.TimeoutError,
    rx.ClusterError,  # ClusterDownError, MasterDownError, "TTL exhausted"
    rx.TryAgainError,
    rx.ReadOnlyError,
    rx.OutOfMemoryError,
    rx.RedisClusterException,  # no reachable node, slot not covered
    OSError,
    TimeoutError,
)

_ERRORS: tuple[type[BaseException], ...] = (rx.RedisError, *_UNAVAILABLE)

#: MGET chunk on a single server: bounded work per command, so one lookup of many ids
#: never holds the server for long.
_MGET_CHUNK = 1000
_SCHEMES = ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster")


def _unavailable(exc: BaseException) -> StoreError:
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, _UNAVAILABLE):
        return StoreUnavailable(f"The Redis ledger is not available ({detail}); retry later.")
    return StoreError(f"The Redis ledger refused the operation ({detail}).")


def _cluster_nodes(netloc: str) -> tuple[str | None, str | None, list[tuple[str, int]]]:
    userinfo, _, hosts = netloc.rpartition("@")
    username = password = None
    if userinfo:
        user, sep, secret = userinfo.partition(":")
        username = urllib.parse.unquote(user) or None
        password = urllib.parse.unquote(secret) if sep else None
    nodes: list[tuple[str, int]] = []
    for item in filter(None, hosts.split(",")):
        host, sep, port = item.rpartition(":")
        if not sep or "]" in port:  # no port, or an IPv6 literal without one
            host, port = item, "6379"
        host = host.strip("[]")
        if not host or not (port.isascii() and port.isdigit()):
            raise ConfigError(f"Bad node {item!r} in a redis+cluster:// URL; use host:port.")
        nodes.append((host, int(port)))
    if not nodes:
        raise ConfigError("A redis+cluster:// URL needs at least one host:port.")
    return username, password, nodes


def _split_prefix(url: str) -> tuple[str, str | None]:
    """``url`` without its ``prefix=`` query parameter (ours, not redis-py's), and it."""
    parts = urllib.parse.urlsplit(url)
    pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    found = [value for name, value in pairs if name == "prefix"]
    if not found:
        return url, None
    rest = urllib.parse.urlencode([(n, v) for n, v in pairs if n != "prefix"])
    return urllib.parse.urlunsplit(parts._replace(query=rest)), found[-1]


_CLUSTER_QUERY = {
    "socket_timeout": float,
    "socket_connect_timeout": float,
    "ssl_ca_certs": str,
    "ssl_certfile": str,
    "ssl_keyfile": str,
    "ssl_cert_reqs": str,
}


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
        **client_options: Any,
    ) -> None:
        scheme = url.partition("://")[0]
        if scheme not in _SCHEMES:
            raise ConfigError(f"RedisStore needs a {', '.join(_SCHEMES)} URL, not {url!r}.")
        url, url_prefix = _split_prefix(url)
        if prefix is not None and url_prefix is not None and prefix != url_prefix:
            raise ConfigError(
                f"Two key prefixes: {prefix!r} (prefix=) and {url_prefix!r} (the URL)."
            )
        if prefix is None:
            prefix = "cmw" if url_prefix is None else url_prefix
        for name, value in (("timeout", timeout), ("connect_timeout", connect_timeout)):
            if not isinstance(value, int | float) or not 0 < value <= 300:
                raise ConfigError(f"{name} must be a number of seconds in (0, 300], not {value!r}.")
        if retries < 0:
            raise ConfigError(f"retries must be >= 0, not {retries!r}.")
        if not isinstance(access_log_max, int) or access_log_max < 1000:
            raise ConfigError(f"access_log_max must be an int >= 1000, not {access_log_max!r}.")
        clash = {"socket_timeout", "socket_connect_timeout", "retry"} & set(client_options)
        if clash:
            raise ConfigError(
                f"Set {', '.join(sorted(clash))} through timeout=, connect_timeout= and"
                " retries=: a RedisStore never waits without a bound."
            )
        self.url = url
        self.cluster = scheme.endswith("+cluster")
        self.keys = Keys(prefix)
        self._plans = Plans(self.keys, cluster=self.cluster, access_log_max=access_log_max)
        self._retries = retries
        self._options: dict[str, Any] = {
            "socket_timeout": timeout,
            "socket_connect_timeout": connect_timeout,
            "max_connections": max_connections,
            **client_options,
        }
        self._nodes: list[tuple[str, int]] = []
        if self.cluster:
            parts = urllib.parse.urlsplit(url)
            username, password, self._nodes = _cluster_nodes(parts.netloc)
            tls = scheme == "rediss+cluster"
            self._options.update(username=username, password=password, ssl=tls)
            if parts.path not in ("", "/", "/0"):
                raise ConfigError("Redis Cluster has one database: drop the /<db> from the URL.")
            for name, values in urllib.parse.parse_qs(parts.query).items():
                if name not in _CLUSTER_QUERY:
                    raise ConfigError(f"Unknown option {name!r} in a redis+cluster:// URL.")
                self._options[name] = _CLUSTER_QUERY[name](values[-1])
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

    # -- the sync face -------------------------------------------------------------------

    def _call(self, plan: Plan[T]) -> T:
        try:
            request = next(plan)
            while True:
                try:
                    reply = self._execute(self.client(), request)
                except _ERRORS as exc:
                    raise _unavailable(exc) from exc
                request = plan.send(reply)
        except StopIteration as stop:
            result: T = stop.value
            return result

    def _execute(self, client: Any, request: Request) -> Any:
        if isinstance(request, Cmd):
            return client.execute_command(*request.args)
        if isinstance(request, Eval):
            try:
                return client.execute_command(*self._evalsha(request))
            except rx.NoScriptError:
                client.script_load(request.script.text)  # on every primary of a cluster
                return client.execute_command(*self._evalsha(request))
        if isinstance(request, MGet):
            if not request.keys:
                return []
            if self.cluster:
                return client.mget_nonatomic(list(request.keys))
            with client.pipeline(transaction=False) as pipe:
                for chunk in self._chunks(request.keys):
                    pipe.execute_command("MGET", *chunk)
                return [value for values in pipe.execute() for value in values]
        if isinstance(request, Scan):
            args, options, walked = self._scan_command(client, request)
            return walked, *self._scan_reply(client.execute_command(*args, **options))
        return self._batch(client, request)

    def _batch(self, client: Any, batch: Batch) -> list[Any]:
        with client.pipeline(transaction=False) as pipe:
            for op in batch.ops:
                pipe.execute_command(*self._command(op))
            replies: list[Any] = pipe.execute(raise_on_error=False)
        missing = self._noscript(batch, replies)
        if missing:
            for script in {batch.ops[i].script for i in missing}:  # type: ignore[union-attr]
                client.script_load(script.text)
            with client.pipeline(transaction=False) as pipe:
                for i in missing:
                    pipe.execute_command(*self._command(batch.ops[i]))
                for i, reply in zip(missing, pipe.execute(raise_on_error=False), strict=True):
                    replies[i] = reply
        return self._raise_first(replies)

    # -- the async face --------------------------------------------------------------------

    async def _acall(self, plan: Plan[T]) -> T:
        try:
            request = next(plan)
            while True:
                try:
                    reply = await self._aexecute(await self.aclient(), request)
                except _ERRORS as exc:
                    raise _unavailable(exc) from exc
                request = plan.send(reply)
        except StopIteration as stop:
            result: T = stop.value
            return result

    async def _aexecute(self, client: Any, request: Request) -> Any:
        if isinstance(request, Cmd):
            return await client.execute_command(*request.args)
        if isinstance(request, Eval):
            try:
                return await client.execute_command(*self._evalsha(request))
            except rx.NoScriptError:
                await client.script_load(request.script.text)
                return await client.execute_command(*self._evalsha(request))
        if isinstance(request, MGet):
            if not request.keys:
                return []
            if self.cluster:
                return await client.mget_nonatomic(list(request.keys))
            async with client.pipeline(transaction=False) as pipe:
                for chunk in self._chunks(request.keys):
                    pipe.execute_command("MGET", *chunk)
                return [value for values in await pipe.execute() for value in values]
        if isinstance(request, Scan):
            args, options, walked = self._scan_command(client, request)
            return walked, *self._scan_reply(await client.execute_command(*args, **options))
        return await self._abatch(client, request)

    async def _abatch(self, client: Any, batch: Batch) -> list[Any]:
        async with client.pipeline(transaction=False) as pipe:
            for op in batch.ops:
                pipe.execute_command(*self._command(op))
            replies: list[Any] = await pipe.execute(raise_on_error=False)
        missing = self._noscript(batch, replies)
        if missing:
            for script in {batch.ops[i].script for i in missing}:  # type: ignore[union-attr]
                await client.script_load(script.text)
            async with client.pipeline(transaction=False) as pipe:
                for i in missing:
                    pipe.execute_command(*self._command(batch.ops[i]))
                for i, reply in zip(missing, await pipe.execute(raise_on_error=False), strict=True):
                    replies[i] = reply
        return self._raise_first(replies)

    # -- shared helpers ----------------------------------------------------------------------

    @staticmethod
    def _evalsha(request: Eval) -> tuple[Any, ...]:
        return ("EVALSHA", request.script.sha, len(request.keys), *request.keys, *request.args)

    def _command(self, op: Cmd | Eval) -> tuple[Any, ...]:
        return self._evalsha(op) if isinstance(op, Eval) else op.args

    def _scan_command(
        self, client: Any, request: Scan
    ) -> tuple[tuple[Any, ...], dict[str, Any], int]:
        """One step of a walk: the SCAN command, its options (on a cluster, the primary
        it runs on, primaries ordered by name) and how many primaries the walk covers."""
        args = ("SCAN", request.cursor, "MATCH", request.match, "COUNT", request.count)
        if not self.cluster:
            return args, {}, 1
        nodes = sorted(client.get_primaries(), key=lambda node: node.name)
        if request.node >= len(nodes):
            raise CursorError("The cluster has fewer primaries than this cursor names.")
        return args, {"target_nodes": nodes[request.node]}, len(nodes)

    @staticmethod
    def _scan_reply(reply: Any) -> tuple[int, list[bytes]]:
        # A server answers (cursor, keys); redis-py's cluster clients answer a targeted
        # SCAN as ({node name: cursor}, keys).
        following, keys = reply
        if isinstance(following, dict):
            (following,) = following.values()
        return int(following), list(keys)

    @staticmethod
    def _chunks(keys: Sequence[str]) -> Iterable[Sequence[str]]:
        return (keys[i : i + _MGET_CHUNK] for i in range(0, len(keys), _MGET_CHUNK))

    @staticmethod
    def _noscript(batch: Batch, replies: list[Any]) -> list[int]:
        return [
            i
            for i, reply in enumerate(replies)
            if isinstance(reply, rx.NoScriptError) and isinstance(batch.ops[i], Eval)
        ]

    @staticmethod
    def _raise_first(replies: list[Any]) -> list[Any]:
        for reply in replies:
            if isinstance(reply, BaseException):
                raise reply
        return replies

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
