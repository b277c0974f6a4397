"""The neutral answers of the visitor endpoints: a :class:`Response`, or a
:class:`StoreCall` the adapter performs before the endpoint can answer."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..stores.base import BaseStore

_T = TypeVar("_T")

__all__ = [
    "RETRY_AFTER_SECONDS",
    "Response",
    "Result",
    "StoreCall",
    "error",
    "json_response",
    "store_call",
    "unavailable",
]

RETRY_AFTER_SECONDS = 5


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""


@dataclass(frozen=True)
class StoreCall:
    """A store operation the adapter performs (the sync face under WSGI, the async one
    under ASGI), then hands the result to ``then``. Made by :func:`store_call` from the
    store's own methods, so mypy checks every operation and its arguments."""

    run: Callable[[BaseStore], Any]
    arun: Callable[[BaseStore], Awaitable[Any]]
    then: Callable[[Any], Response | StoreCall]

    def followed_by(self, then: Callable[[Any], Response | StoreCall]) -> StoreCall:
        """The same operation with another continuation."""
        return StoreCall(self.run, self.arun, then)


def store_call(
    run: Callable[[BaseStore], _T],
    arun: Callable[[BaseStore], Awaitable[_T]],
    then: Callable[[_T], Response | StoreCall],
) -> StoreCall:
    """``store_call(lambda s: s.history(id), lambda s: s.ahistory(id), answer)``: the
    two faces of one operation, and what follows from its result."""
    return StoreCall(run, arun, then)


Result = Response | StoreCall

_NO_STORE = ("cache-control", "no-store")


def json_response(status: int, data: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(
        status,
        [("content-type", "application/json; charset=utf-8"), _NO_STORE, *(headers or [])],
        body,
    )


def error(
    status: int, code: str, detail: str, headers: list[tuple[str, str]] | None = None
) -> Response:
    return json_response(status, {"error": code, "detail": detail}, headers)


def unavailable() -> Response:
    return error(
        503,
        "ledger_unavailable",
        "The consent ledger is temporarily unavailable; nothing was saved. Retry later.",
        [("retry-after", str(RETRY_AFTER_SECONDS))],
    )
