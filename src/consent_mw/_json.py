"""Compact JSON for the bulk paths: query answers, exports, batch decoding of records.

With ``orjson`` installed (the ``fast`` extra) encoding a thousand-subject answer takes
a tenth of the standard library's time and decoding the records half; without it the
standard library does the same work. The output is the same JSON either way (compact
separators, UTF-8, non-ASCII unescaped) and the same bytes except for floats written in
exponent form (``1e-07`` here, ``1e-7`` with orjson: the same number). Values orjson
refuses (integers beyond 64 bits) fall back to the standard library.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

__all__ = ["FAST", "dumps", "loads_own"]

orjson: ModuleType | None
try:
    import orjson
except ImportError:  # the tests also run without it (monkeypatched to None)
    orjson = None

FAST = orjson is not None
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


def dumps(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON bytes."""
    if orjson is not None:
        try:
            encoded: bytes = orjson.dumps(value)
            return encoded
        except TypeError:  # orjson.JSONEncodeError: e.g. an int beyond 64 bits
            pass
    return _ENCODE(value).encode("utf-8")


def loads_own(data: bytes) -> Any:
    """JSON this library wrote (records, events: no integer beyond 64 bits, which orjson
    would read as a float); invalid input raises :class:`ValueError`."""
    if orjson is not None:
        try:
            return orjson.loads(data)
        except ValueError:  # NaN and the like: the standard library decides
            pass
    return json.loads(data)
