"""How the query service talks to a store, without doing it: plans and their drivers.

A query is a generator (like the Redis store's plans) that yields :class:`Call` (one
store method), :class:`Both` (independent calls: the async driver runs them at once,
so writing the access-log entry costs no extra wait) or :class:`Emit` (rows for the
caller of an export), receives each reply and returns the answer. :func:`run` drives it
with a store's sync face, :func:`arun` with its async face (``a`` + the method name).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

import anyio

from ..stores import BaseStore
from ..stores.paging import CursorError
from .errors import BadQuery

__all__ = ["Both", "Call", "Emit", "Op", "Plan", "arun", "astream", "run", "stream"]

T = TypeVar("T")


class Op(StrEnum):
    """The store methods a plan may call: each is a method of
    :class:`~consent_mw.stores.BaseStore` with an ``a``-prefixed async twin (a test
    checks both exist), so a plan names no method by a bare string."""

    ACCESS_LOG = "access_log"
    AS_OF = "as_of"
    CHANGES = "changes"
    COUNTS = "counts"
    CURRENT = "current"
    DELETE_SUBJECT = "delete_subject"
    EVENTS = "events"
    FEED_END = "feed_end"
    HISTORY_PAGE = "history_page"
    LOG_ACCESS = "log_access"
    LOOKUP = "lookup"
    PURGE = "purge"
    SCAN_CURRENT = "scan_current"
    SUBJECTS_OF = "subjects_of"


@dataclass(frozen=True, slots=True)
class Call:
    """``store.<method>(*args, **kwargs)`` (or ``await store.a<method>(…)``)."""

    method: Op
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Both:
    """Independent calls; the reply is the list of their results, in order. Every call
    is completed before an error is raised, so none is left running."""

    calls: tuple[Call, ...]


@dataclass(frozen=True, slots=True)
class Emit:
    """Rows for whoever iterates the export (the reply is ``None``)."""

    rows: list[Any]


Plan = Generator[Call | Both | Emit, Any, T]


_DAMAGED = "cursor is damaged or too old for this store; start again without one."


def _call(store: BaseStore, call: Call) -> Any:
    try:
        return getattr(store, call.method)(*call.args, **call.kwargs)
    except CursorError as exc:  # a hand-made position inside a well-formed cursor
        raise BadQuery(_DAMAGED, code="bad_cursor") from exc


async def _acall(store: BaseStore, call: Call) -> Any:
    try:
        return await getattr(store, "a" + call.method)(*call.args, **call.kwargs)
    except CursorError as exc:
        raise BadQuery(_DAMAGED, code="bad_cursor") from exc


def _sync_reply(store: BaseStore, request: Call | Both) -> Any:
    if isinstance(request, Call):
        return _call(store, request)
    return [_call(store, call) for call in request.calls]


async def _async_reply(store: BaseStore, request: Call | Both) -> Any:
    if isinstance(request, Call):
        return await _acall(store, request)
    if len(request.calls) == 1:
        return [await _acall(store, request.calls[0])]
    results: list[Any] = [None] * len(request.calls)
    errors: list[BaseException] = []

    async def one(index: int, call: Call) -> None:
        try:
            results[index] = await _acall(store, call)
        except Exception as exc:  # collected: the first one is raised below
            errors.append(exc)

    async with anyio.create_task_group() as group:
        for index, call in enumerate(request.calls):
            group.start_soon(one, index, call)
    if errors:
        raise errors[0]
    return results


def run(store: BaseStore, plan: Plan[T]) -> T:
    """Drive ``plan`` with the store's sync face (a plan that emits rows: :func:`stream`)."""
    reply: Any = None
    try:
        while True:
            request = plan.send(reply)
            if isinstance(request, Emit):
                raise TypeError("this plan emits rows: iterate it with stream()")
            reply = _sync_reply(store, request)
    except StopIteration as stop:
        result: T = stop.value
        return result


async def arun(store: BaseStore, plan: Plan[T]) -> T:
    """Drive ``plan`` with the store's async face."""
    reply: Any = None
    try:
        while True:
            request = plan.send(reply)
            if isinstance(request, Emit):
                raise TypeError("this plan emits rows: iterate it with astream()")
            reply = await _async_reply(store, request)
    except StopIteration as stop:
        result: T = stop.value
        return result


def stream(store: BaseStore, plan: Plan[None]) -> Iterator[list[Any]]:
    """The row batches ``plan`` emits, driving it with the store's sync face."""
    reply: Any = None
    while True:
        try:
            request = plan.send(reply)
        except StopIteration:
            return
        if isinstance(request, Emit):
            reply = None
            yield request.rows
        else:
            reply = _sync_reply(store, request)


async def astream(store: BaseStore, plan: Plan[None]) -> AsyncIterator[list[Any]]:
    """The row batches ``plan`` emits, driving it with the store's async face."""
    reply: Any = None
    while True:
        try:
            request = plan.send(reply)
        except StopIteration:
            return
        if isinstance(request, Emit):
            reply = None
            yield request.rows
        else:
            reply = await _async_reply(store, request)
