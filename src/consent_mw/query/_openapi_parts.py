"""The building blocks of the query API's OpenAPI document (:mod:`.openapi`,
:mod:`.openapi_feed`): schema and response helpers, the shared parameters."""

from __future__ import annotations

from typing import Any

from .service import MAX_ID_LENGTH

__all__: list[str] = []

_NULL_STR = {"type": ["string", "null"]}
_CHOICES = {"type": "object", "additionalProperties": {"type": "boolean"}}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_ERRORS = {
    "400": "A bad parameter, filter, cursor, id or body.",
    "401": "No bearer token, or one the server does not know.",
    "403": "A read token on an admin route.",
    "404": "Nothing in the ledger for this id.",
    "413": "Too many ids, or too large a body.",
    "415": "The body is not application/json.",
    "503": "The ledger is unavailable; retry after Retry-After seconds.",
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _responses(ok: dict[str, Any], *errors: str) -> dict[str, Any]:
    codes = ["400", "401", *errors, "503"]
    return {
        "200": ok,
        **{code: _json(_ref("Error"), _ERRORS[code]) for code in sorted(set(codes))},
    }


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH, "pattern": "^[^/]+$"},
    "description": "A consent id (or, with by=user, a user id).",
}
