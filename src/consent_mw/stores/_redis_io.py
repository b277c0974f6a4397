"""The I/O under the Redis plans: each request sent through a redis-py client, sync or async.

A plan (see :mod:`._redis_plans`) yields requests and receives their replies; :func:`run`
and :func:`arun` carry them. A script the server does not know yet (NOSCRIPT) is loaded
and its call sent again; every client error becomes
:class:`~consent_mw.exceptions.StoreUnavailable` (the server or cluster cannot answer
now) or :class:`~consent_mw.exceptions.StoreError` (it refused the command). The
sync and async halves mirror each other line for line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from redis import exceptions as rx

from ..exceptions import StoreError, StoreUnavailable
from ._redis_plans import Batch, Cmd, Eval, MGet, Plan, Request, Scan
from .paging import CursorError

__all__ = ["arun", "run"]

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


def _unavailable(exc: BaseException) -> StoreError:
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, _UNAVAILABLE):
        return StoreUnavailable(f"The Redis ledger is not available ({detail}); retry later.")
    return StoreError(f"The Redis ledger refused the operation ({detail}).")


# -- sync ---------------------------------------------------------------------------------------


def run(plan: Plan[T], client: Callable[[], Any], *, cluster: bool) -> T:
    """Drive ``plan`` to its result, each request through ``client()`` (a ``redis.Redis``
    or ``RedisCluster``; asked again per request, so its creation errors are mapped too)."""
    try:
        request = next(plan)
        while True:
            try:
                reply = _execute(client(), request, cluster)
            except _ERRORS as exc:
                raise _unavailable(exc) from exc
            request = plan.send(reply)
    except StopIteration as stop:
        result: T = stop.value
        return result


def _execute(client: Any, request: Request, cluster: bool) -> Any:
    if isinstance(request, Cmd):
        return client.execute_command(*request.args)
    if isinstance(request, Eval):
        try:
            return client.execute_command(*_evalsha(request))
        except rx.NoScriptError:
            client.script_load(request.script.text)  # on every primary of a cluster
            return client.execute_command(*_evalsha(request))
    if isinstance(request, MGet):
        if not request.keys:
            return []
        if cluster:
            return client.mget_nonatomic(list(request.keys))
        with client.pipeline(transaction=False) as pipe:
            for chunk in _chunks(request.keys):
                pipe.execute_command("MGET", *chunk)
            return [value for values in pipe.execute() for value in values]
    if isinstance(request, Scan):
        args, options, walked = _scan_command(client, request, cluster)
        return walked, *_scan_reply(client.execute_command(*args, **options))
    return _batch(client, request)


def _batch(client: Any, batch: Batch) -> list[Any]:
    with client.pipeline(transaction=False) as pipe:
        for op in batch.ops:
            pipe.execute_command(*_command(op))
        replies: list[Any] = pipe.execute(raise_on_error=False)
    missing = _noscript(batch, replies)
    if missing:
        for script in {batch.ops[i].script for i in missing}:  # type: ignore[union-attr]
            client.script_load(script.text)
        with client.pipeline(transaction=False) as pipe:
            for i in missing:
                pipe.execute_command(*_command(batch.ops[i]))
            for i, reply in zip(missing, pipe.execute(raise_on_error=False), strict=True):
                replies[i] = reply
    return _raise_first(replies)


# -- async --------------------------------------------------------------------------------------


async def arun(plan: Plan[T], client: Callable[[], Awaitable[Any]], *, cluster: bool) -> T:
    """:func:`run` through ``await client()``, a ``redis.asyncio`` client."""
    try:
        request = next(plan)
        while True:
            try:
                reply = await _aexecute(await client(), request, cluster)
            except _ERRORS as exc:
                raise _unavailable(exc) from exc
            request = plan.send(reply)
    except StopIteration as stop:
        result: T = stop.value
        return result


async def _aexecute(client: Any, request: Request, cluster: bool) -> Any:
    if isinstance(request, Cmd):
        return await client.execute_command(*request.args)
    if isinstance(request, Eval):
        try:
            return await client.execute_command(*_evalsha(request))
        except rx.NoScriptError:
            await client.script_load(request.script.text)
            return await client.execute_command(*_evalsha(request))
    if isinstance(request, MGet):
        if not request.keys:
            return []
        if cluster:
            return await client.mget_nonatomic(list(request.keys))
        async with client.pipeline(transaction=False) as pipe:
            for chunk in _chunks(request.keys):
                pipe.execute_command("MGET", *chunk)
            return [value for values in await pipe.execute() for value in values]
    if isinstance(request, Scan):
        args, options, walked = _scan_command(client, request, cluster)
        return walked, *_scan_reply(await client.execute_command(*args, **options))
    return await _abatch(client, request)


async def _abatch(client: Any, batch: Batch) -> list[Any]:
    async with client.pipeline(transaction=False) as pipe:
        for op in batch.ops:
            pipe.execute_command(*_command(op))
        replies: list[Any] = await pipe.execute(raise_on_error=False)
    missing = _noscript(batch, replies)
    if missing:
        for script in {batch.ops[i].script for i in missing}:  # type: ignore[union-attr]
            await client.script_load(script.text)
        async with client.pipeline(transaction=False) as pipe:
            for i in missing:
                pipe.execute_command(*_command(batch.ops[i]))
            for i, reply in zip(missing, await pipe.execute(raise_on_error=False), strict=True):
                replies[i] = reply
    return _raise_first(replies)


# -- shared by both -----------------------------------------------------------------------------


def _evalsha(request: Eval) -> tuple[Any, ...]:
    return ("EVALSHA", request.script.sha, len(request.keys), *request.keys, *request.args)


def _command(op: Cmd | Eval) -> tuple[Any, ...]:
    return _evalsha(op) if isinstance(op, Eval) else op.args


def _scan_command(
    client: Any, request: Scan, cluster: bool
) -> tuple[tuple[Any, ...], dict[str, Any], int]:
    """One step of a walk: the SCAN command, its options (on a cluster, the primary
    it runs on, primaries ordered by name) and how many primaries the walk covers."""
    args = ("SCAN", request.cursor, "MATCH", request.match, "COUNT", request.count)
    if not cluster:
        return args, {}, 1
    nodes = sorted(client.get_primaries(), key=lambda node: node.name)
    if request.node >= len(nodes):
        raise CursorError("The cluster has fewer primaries than this cursor names.")
    return args, {"target_nodes": nodes[request.node]}, len(nodes)


def _scan_reply(reply: Any) -> tuple[int, list[bytes]]:
    # A server answers (cursor, keys); redis-py's cluster clients answer a targeted
    # SCAN as ({node name: cursor}, keys).
    following, keys = reply
    if isinstance(following, dict):
        (following,) = following.values()
    return int(following), list(keys)


def _chunks(keys: Sequence[str]) -> Iterable[Sequence[str]]:
    return (keys[i : i + _MGET_CHUNK] for i in range(0, len(keys), _MGET_CHUNK))


def _noscript(batch: Batch, replies: list[Any]) -> list[int]:
    return [
        i
        for i, reply in enumerate(replies)
        if isinstance(reply, rx.NoScriptError) and isinstance(batch.ops[i], Eval)
    ]


def _raise_first(replies: list[Any]) -> list[Any]:
    for reply in replies:
        if isinstance(reply, BaseException):
            raise reply
    return replies
