"""The OpenAPI 3.1 document of the query API (``GET /openapi.json``).

Written by hand next to the views it describes (:mod:`.views`, :mod:`.stats`) and
checked against the live app by schemathesis in the tests, so the two cannot drift.
"""

from __future__ import annotations

import copy
from typing import Any

from .. import __version__
from ..policy.regimes import REGIMES
from ._openapi_parts import (
    _CHOICES,
    _ID,
    _NULL_STR,
    _json,
    _object,
    _query,
    _ref,
    _responses,
)
from .export import MAX_EXPORT_PAGE
from .filters import ACTIONS, SOURCES
from .openapi_feed import FEED_PATHS, FEED_SCHEMAS
from .service import MAX_HISTORY_LIMIT, MAX_ID_LENGTH, MAX_LOOKUP

__all__ = ["openapi_document"]

_SERVICES = {
    "type": "object",
    "additionalProperties": _CHOICES,
    "description": "Categories chosen service by service: category -> service name -> allowed"
    " (the category is then false in choices).",
}


_STATE = _object(
    {
        "subject_id": {"type": "string"},
        "user_id": _NULL_STR,
        "record_id": {"type": "string"},
        "time": {"type": "number", "description": "Seconds since the epoch."},
        "policy_version": {"type": "string"},
        "action": {"type": "string"},
        "source": {"type": "string"},
        "regime": {"type": "string"},
        "country": _NULL_STR,
        "gpc": {"type": "boolean"},
        "gpc_override": {"type": "boolean"},
        "choices": _CHOICES,
        "services": _SERVICES,
        "personalised_ads": {
            "type": ["boolean", "null"],
            "description": "Whether customised advertising is allowed now, under the current"
            " policy (null when the server has no policy configured).",
        },
        "prompt_reason": {
            "type": ["string", "null"],
            "description": "Why the banner would ask again (policy_changed, expired,"
            " new_category); null when the choice stands.",
        },
    }
)

_RECORD = _object(
    {
        "record_id": {"type": "string"},
        "subject_id": {"type": "string"},
        "user_id": _NULL_STR,
        "time": {"type": "number"},
        "policy_version": {"type": "string"},
        "text_hash": {"type": "string"},
        "choices": _CHOICES,
        "services": _SERVICES,
        "action": {"type": "string"},
        "source": {"type": "string"},
        "regime": {"type": "string"},
        "country": _NULL_STR,
        "locale": _NULL_STR,
        "gpc": {"type": "boolean"},
        "gpc_override": {"type": "boolean"},
        "extra": {"type": "object"},
    }
)

_COUNT = _object({"granted": {"type": "integer"}, "denied": {"type": "integer"}})
_SERVICE_COUNT = _object(
    {
        "granted": {"type": "integer"},
        "denied": {"type": "integer"},
        "allowed": {"type": "integer"},
    }
)

_SCHEMAS: dict[str, Any] = {
    "Error": _object(
        {
            "error": {"type": "string", "description": "A stable machine-readable code."},
            "detail": {"type": "string", "description": "What is wrong and what to do."},
        }
    ),
    "SubjectState": _STATE,
    "Subject": _object(
        {
            "id": {"type": "string"},
            "by": {"type": "string", "enum": ["consent", "user"]},
            "state": _ref("SubjectState"),
            "linked_subjects": {"type": ["array", "null"], "items": {"type": "string"}},
        }
    ),
    "LookupRequest": _object(
        {
            "ids": {
                "type": "array",
                "items": {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH},
                "maxItems": MAX_LOOKUP,
            }
        }
    ),
    "LookupAnswer": _object(
        {
            "results": {
                "type": "array",
                "items": _object(
                    {
                        "id": {"type": "string"},
                        "found": {"type": "boolean"},
                        "state": {"oneOf": [_ref("SubjectState"), {"type": "null"}]},
                    }
                ),
            },
            "found": {"type": "integer"},
            "missing": {"type": "integer"},
        }
    ),
    "Record": _RECORD,
    "History": _object(
        {
            "id": {"type": "string"},
            "by": {"type": "string", "enum": ["consent", "user"]},
            "records": {"type": "array", "items": _ref("Record")},
            "next_cursor": {
                **_NULL_STR,
                "description": "Pass as cursor for the next (older) page; null on the last.",
            },
        }
    ),
    "Stats": _object(
        {
            "subjects": {"type": "integer"},
            "current_policy_version": _NULL_STR,
            "policy_versions": {
                "type": "array",
                "items": _object(
                    {
                        "policy_version": {"type": "string"},
                        "current": {"type": ["boolean", "null"]},
                        "subjects": {"type": "integer"},
                        "categories": {"type": "object", "additionalProperties": _COUNT},
                        "services": {
                            "type": "object",
                            "description": "category -> service -> counts: granted and denied"
                            " count choices made service by service; allowed adds the"
                            " category's whole grants (everyone who allows the service).",
                            "additionalProperties": {
                                "type": "object",
                                "additionalProperties": _SERVICE_COUNT,
                            },
                        },
                    }
                ),
            },
        }
    ),
    "Inventory": _object(
        {
            "hosts": {
                "type": "array",
                "items": _object(
                    {
                        "host": {"type": "string"},
                        "directive": {"type": "string"},
                        "path": {"type": "string"},
                        "count": {"type": "integer", "minimum": 1},
                        "first_seen": {"type": "number"},
                        "last_seen": {"type": "number"},
                        "category": _NULL_STR,
                    }
                ),
            }
        }
    ),
    "AccessLog": _object(
        {
            "entries": {
                "type": "array",
                "items": _object(
                    {
                        "time": {"type": "number"},
                        "actor": {"type": "string"},
                        "action": {"type": "string"},
                        "via": {"type": "string"},
                        "params": {"type": "object"},
                        "token_id": _NULL_STR,
                        "scope": _NULL_STR,
                        "route": _NULL_STR,
                    }
                ),
            }
        }
    ),
    "Deleted": _object({"id": {"type": "string"}, "removed": {"type": "integer"}}),
    "Purged": _object({"purged": {"type": "integer"}}),
}

_BY = _query("by", {"type": "string", "enum": ["consent", "user"]}, "What the id is.")
_CURSOR = _query("cursor", {"type": "string"}, "next_cursor of the previous page.")

_FILTERS = [
    _query(
        "category",
        {"type": "string", "pattern": "^[a-z][a-z0-9_-]{0,63}$"},
        "Subjects that chose for this category.",
    ),
    _query(
        "service",
        {"type": "string", "minLength": 1, "maxLength": 64},
        "With category: subjects whose choice allows this service (the category whole, or"
        " the service on its own); with granted=false, those whose choice refuses it.",
    ),
    _query(
        "granted", {"type": "boolean"}, "With category: only grants (true) or refusals (false)."
    ),
    _query(
        "policy_version",
        {"type": "string", "pattern": "^[\\x21-\\x7e]{1,64}$"},
        "Policy version of the current state.",
    ),
    _query("regime", {"type": "string", "enum": sorted(REGIMES)}, "Legal regime (jurisdiction)."),
    _query("country", {"type": "string", "pattern": "^[A-Za-z]{2}$"}, "ISO 3166 country code."),
    _query(
        "source",
        {"type": "string", "enum": list(SOURCES)},
        "Where the choice came from (gpc: the GPC signal).",
    ),
    _query("action", {"type": "string", "enum": list(ACTIONS)}, "How the choice was made."),
    _query("gpc", {"type": "boolean"}, "Whether the browser sent Global Privacy Control."),
    _query("since", {"type": "string"}, "From this time (ISO 8601 or epoch seconds), inclusive."),
    _query("until", {"type": "string"}, "Before this time (ISO 8601 or epoch seconds)."),
]

_PATHS: dict[str, Any] = {
    "/subjects/{id}": {
        "get": {
            "summary": "Current state of a consent id or a user; may ads be personalised",
            "operationId": "getSubject",
            "parameters": [_ID, _BY],
            "responses": _responses(_json(_ref("Subject"), "The current state."), "404"),
        },
        "delete": {
            "summary": "Erase a subject (admin); a delete proof record stays in the ledger",
            "operationId": "deleteSubject",
            "parameters": [_ID],
            "responses": _responses(_json(_ref("Deleted"), "Erased."), "403", "404"),
        },
    },
    "/subjects/{id}/history": {
        "get": {
            "summary": "Proof-of-consent records, newest first, by pages",
            "operationId": "getHistory",
            "parameters": [
                _ID,
                _BY,
                _query(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": MAX_HISTORY_LIMIT},
                    "Page size (100).",
                ),
                _CURSOR,
            ],
            "responses": _responses(_json(_ref("History"), "A page of records."), "404"),
        }
    },
    "/lookup": {
        "post": {
            "summary": f"Current states of up to {MAX_LOOKUP} consent ids",
            "operationId": "lookup",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("LookupRequest")}},
            },
            "responses": _responses(
                _json(_ref("LookupAnswer"), "One result per distinct id, in order."), "413", "415"
            ),
        }
    },
    "/stats": {
        "get": {
            "summary": "Current subjects per policy version and category (from exact counters)",
            "operationId": "getStats",
            "parameters": [
                _query(
                    "policy_version",
                    {"type": "string", "pattern": "^[\\x21-\\x7e]{1,64}$"},
                    "Only this version.",
                )
            ],
            "responses": _responses(_json(_ref("Stats"), "The counts.")),
        }
    },
    "/export": {
        "get": {
            "summary": "Every matching current state, streamed (JSON Lines or CSV)",
            "operationId": "export",
            "parameters": [
                _query(
                    "format",
                    {"type": "string", "enum": ["jsonl", "csv"]},
                    "jsonl (default) or csv.",
                ),
                _query(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": MAX_EXPORT_PAGE},
                    "Page size; without it the whole export streams.",
                ),
                _CURSOR,
                *_FILTERS,
            ],
            "responses": _responses(
                {
                    "description": "One SubjectState per line (jsonl) or row (csv).",
                    "headers": {
                        "X-Next-Cursor": {
                            "schema": {"type": "string"},
                            "description": "With limit: the next page's cursor (not on the last).",
                        }
                    },
                    "content": {
                        "application/x-ndjson": {"schema": {"type": "string"}},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                }
            ),
        }
    },
    "/inventory": {
        "get": {
            "summary": "Third-party hosts the site's pages reached for, from browsers' CSP reports",
            "operationId": "getInventory",
            "parameters": [
                _query(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": 100000},
                    "Newest ledger events read (10000).",
                )
            ],
            "responses": _responses(_json(_ref("Inventory"), "One row per host, directive, page.")),
        }
    },
    "/access-log": {
        "get": {
            "summary": "Who queried what, newest first (admin)",
            "operationId": "getAccessLog",
            "parameters": [
                _query(
                    "limit", {"type": "integer", "minimum": 1, "maximum": 10000}, "Entries (100)."
                )
            ],
            "responses": _responses(_json(_ref("AccessLog"), "The entries."), "403"),
        }
    },
    "/purge": {
        "post": {
            "summary": "Delete expired automatically collected events (admin)",
            "operationId": "purge",
            "responses": _responses(_json(_ref("Purged"), "How many were deleted."), "403"),
        }
    },
    "/openapi.json": {
        "get": {
            "summary": "This document",
            "operationId": "getOpenApi",
            "security": [],
            "responses": {"200": _json({"type": "object"}, "The OpenAPI document.")},
        }
    },
}

_DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "consent-mw query API",
        "version": __version__,
        "description": "Answers from the consent ledger for the advertising team. Every"
        " request is written to the access log (token name, route, ids or filters, time).",
    },
    "security": [{"bearer": []}],
    "paths": _PATHS,
    "components": {
        "schemas": _SCHEMAS,
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    },
}


def openapi_document(root_path: str = "") -> dict[str, Any]:
    """The document; ``root_path`` (where the app is mounted) becomes its server URL."""
    document = copy.deepcopy(_DOCUMENT)
    document["paths"].update(copy.deepcopy(FEED_PATHS))
    document["components"]["schemas"].update(copy.deepcopy(FEED_SCHEMAS))
    if root_path:
        document["servers"] = [{"url": root_path}]
    return document
