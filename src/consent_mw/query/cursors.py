"""Opaque page cursors: what a store needs to resume, bound to the query that made it.

A cursor is URL-safe base64 of ``[kind, fingerprint, position]``: ``kind`` says which
walk it continues (``export``, ``history``), ``fingerprint`` the filters or subject it
was made for (a cursor reused with other filters is refused rather than silently
mixing two exports), ``position`` the store's own resume point (text, or for a user's
history an object of positions per consent id).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from .errors import BadQuery

__all__ = ["decode_cursor", "encode_cursor"]

_MAX = 8192


def encode_cursor(kind: str, fingerprint: str, position: Any) -> str:
    text = json.dumps([kind, fingerprint, position], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, kind: str, fingerprint: str) -> Any:
    """The position in ``cursor``; :class:`BadQuery` if it is not a cursor of this query."""
    if len(cursor) > _MAX:
        raise BadQuery(
            "cursor is too long; use the next_cursor of the previous page.", code="bad_cursor"
        )
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        found_kind, found_print, position = json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, RecursionError):
        raise BadQuery(
            "cursor is not a cursor of this API; use the next_cursor of the previous page.",
            code="bad_cursor",
        ) from None
    if found_kind != kind or found_print != fingerprint:
        raise BadQuery(
            f"cursor belongs to another {found_kind if isinstance(found_kind, str) else 'query'}"
            " (other filters or another subject); start again without a cursor.",
            code="bad_cursor",
        )
    return position
