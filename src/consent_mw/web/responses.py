"""The neutral answers of the visitor endpoints: a :class:`Response`, or a
:class:`StoreCall` the adapter performs before the endpoint can answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "RETRY_AFTER_SECONDS",
    "Response",
    "Result",
    "StoreCall",
    "error",
    "json_response",
    "unavailable",
]

RETRY_AFTER_SECONDS = 5


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""


@dataclass
class StoreCall:
    """A store operation the adapter must run, then pass the result to ``then``."""

    method: str
    args: tuple[Any, ...]
    then: Callable[[Any], Response | StoreCall]
    kwargs: dict[str, Any] = field(default_factory=dict)


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
