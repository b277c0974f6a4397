"""What every route of the query API shares: errors as JSON, strict query parameters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .._json import dumps
from .errors import BadQuery

__all__ = ["ApiError", "error_response", "json_response"]


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, detail: str, headers: Mapping[str, str] | None = None
    ):
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.headers = dict(headers or {})


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(dumps(data), status, headers, "application/json")


def error_response(
    status: int, code: str, detail: str, headers: Mapping[str, str] | None = None
) -> Response:
    return json_response({"error": code, "detail": detail}, status, headers)


def _params(request: Request, allowed: Iterable[str]) -> dict[str, str]:
    """The query parameters, each at most once, all of them known."""
    found: dict[str, str] = {}
    known = set(allowed)
    for name, value in request.query_params.multi_items():
        if name not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise BadQuery(
                f"Unknown query parameter {name!r}; this route takes: {listed}.",
                code="unknown_parameter",
            )
        if name in found:
            raise BadQuery(f"Query parameter {name!r} is given twice.", code="bad_parameter")
        found[name] = value
    return found


def _int(name: str, value: str | None, default: int | None) -> int | None:
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()) or len(value) > 9:
        raise BadQuery(f"{name} must be a whole number, not {value!r}.", code="bad_parameter")
    return int(value)
