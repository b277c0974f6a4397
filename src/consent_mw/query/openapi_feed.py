"""The feed routes' part of the OpenAPI document (merged by :func:`.openapi.openapi_document`)."""

from __future__ import annotations

from typing import Any

from ._openapi_parts import _ID, _json, _object, _query, _ref, _responses
from .adfeed import MAX_CHANGES, MAX_WAIT
from .service import MAX_ID_LENGTH, MAX_LOOKUP

__all__ = ["FEED_PATHS", "FEED_SCHEMAS"]

_LATEST = 10**12
_STATUS = {"type": "string", "enum": ["GRANTED", "DENIED", "UNSPECIFIED"]}
_GA4_STATUS = {"type": "string", "enum": ["GRANTED", "DENIED"]}
_TIME = {"type": "number", "minimum": 0, "exclusiveMaximum": _LATEST}

FEED_SCHEMAS: dict[str, Any] = {
    "PlatformConsent": _object(
        {
            "google_ads_click_conversion": _object(
                {"consent": _object({"ad_user_data": _STATUS})},
            ),
            "google_ads_customer_match": _object(
                {"consent": _object({"ad_user_data": _STATUS, "ad_personalization": _STATUS})},
            ),
            "ga4_measurement_protocol": _object(
                {
                    "consent": _object(
                        {"ad_user_data": _GA4_STATUS, "ad_personalization": _GA4_STATUS}
                    )
                },
            ),
        }
    ),
    "PlatformResult": _object(
        {
            "id": {"type": "string"},
            "found": {"type": "boolean"},
            "state": {"oneOf": [_ref("SubjectState"), {"type": "null"}]},
            "platforms": _ref("PlatformConsent"),
        }
    ),
    "PlatformRequest": _object(
        {
            "ids": {
                "type": "array",
                "items": {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH},
                "maxItems": MAX_LOOKUP,
            },
            "at": {"oneOf": [_TIME, {"type": "null"}]},
        },
        required=["ids"],
    ),
    "PlatformAnswer": _object(
        {
            "at": {"type": ["number", "null"]},
            "results": {"type": "array", "items": _ref("PlatformResult")},
            "found": {"type": "integer"},
            "missing": {"type": "integer"},
        }
    ),
    "AsOf": _object(
        {
            "at": {"type": "number"},
            "id": {"type": "string"},
            "found": {"type": "boolean"},
            "state": {"oneOf": [_ref("SubjectState"), {"type": "null"}]},
            "platforms": _ref("PlatformConsent"),
        }
    ),
    "Changes": _object(
        {
            "changes": {
                "type": "array",
                "items": _object(
                    {
                        "cursor": {"type": "string"},
                        "record": _ref("Record"),
                        "personalised_ads": {"type": ["boolean", "null"]},
                        "platforms": _ref("PlatformConsent"),
                    }
                ),
            },
            "next_cursor": {
                "type": "string",
                "description": "Pass as cursor for the next page (the same when none came).",
            },
        }
    ),
}

_FEED_OFF = _json(_ref("Error"), "The ledger keeps no change feed (Redis Cluster).")

FEED_PATHS: dict[str, Any] = {
    "/platforms": {
        "post": {
            "summary": f"Google Ads / GA4 consent fields of up to {MAX_LOOKUP} ids (now or then)",
            "operationId": "platforms",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("PlatformRequest")}},
            },
            "responses": _responses(
                _json(_ref("PlatformAnswer"), "One result per distinct id, in order."), "413", "415"
            ),
        }
    },
    "/subjects/{id}/as-of": {
        "get": {
            "summary": "A consent id's state and platform fields at a past time",
            "operationId": "getAsOf",
            "parameters": [
                {**_ID, "description": "A consent id."},
                {
                    **_query("at", _TIME, "Seconds since the epoch."),
                    "required": True,
                },
            ],
            "responses": _responses(_json(_ref("AsOf"), "The state then (found false: none).")),
        }
    },
    "/changes": {
        "get": {
            "summary": "Every consent change after a cursor, in order (long-poll with wait)",
            "operationId": "getChanges",
            "parameters": [
                _query("cursor", {"type": "string"}, "next_cursor of the previous page (0)."),
                _query(
                    "limit", {"type": "integer", "minimum": 1, "maximum": MAX_CHANGES}, "(100)."
                ),
                _query(
                    "wait",
                    {"type": "number", "minimum": 0, "maximum": MAX_WAIT},
                    "Seconds to wait for a first change when there is none (0).",
                ),
            ],
            "responses": {**_responses(_json(_ref("Changes"), "A page.")), "501": _FEED_OFF},
        }
    },
}
