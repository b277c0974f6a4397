"""Ledger stores: SQLite (embedded default), Redis (production), memory (tests); see
:func:`store_from_url`. ``RedisStore`` is imported on first use: redis-py is an extra
(``pip install 'consent_mw[redis]'``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..exceptions import ConfigError
from .base import STATUTORY_HOLD_KINDS, BaseStore, Event, Record, new_record_id
from .memory import MemoryStore
from .paging import AccessEntry, CursorError, HistoryPage, ScanBatch
from .sqlite import SQLiteStore

if TYPE_CHECKING:
    from .redis import RedisStore

__all__ = [
    "STATUTORY_HOLD_KINDS",
    "AccessEntry",
    "BaseStore",
    "CursorError",
    "Event",
    "HistoryPage",
    "MemoryStore",
    "Record",
    "RedisStore",
    "SQLiteStore",
    "ScanBatch",
    "new_record_id",
    "store_from_url",
]

_REDIS_SCHEMES = ("redis", "rediss", "redis+cluster", "rediss+cluster")


def __getattr__(name: str) -> Any:
    if name == "RedisStore":
        from .redis import RedisStore

        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def store_from_url(url: str) -> BaseStore:
    """A store from a URL: ``sqlite:///path/to/ledger.sqlite3``, ``sqlite:///:memory:``,
    ``memory://``, ``redis://host:6379/0``, ``rediss://…`` (TLS) or
    ``redis+cluster://host:port,host:port…`` (``rediss+cluster://`` with TLS)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError(
            f"Store URL {url!r} has no scheme; use sqlite:///path, redis://host or memory://."
        )
    if scheme == "memory":
        return MemoryStore()
    if scheme == "sqlite":
        path = rest[1:] if rest.startswith("/") else rest
        if not path:
            raise ConfigError("A sqlite:/// URL needs a file path, e.g. sqlite:///ledger.sqlite3.")
        return SQLiteStore(path)
    if scheme in _REDIS_SCHEMES:
        try:
            from .redis import RedisStore
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise ConfigError(
                "A redis:// ledger needs redis-py: pip install 'consent_mw[redis]'."
            ) from exc
        return RedisStore(url)
    raise ConfigError(
        f"Unknown store URL scheme {scheme!r}; use sqlite://, redis://, rediss://,"
        " redis+cluster:// or memory://."
    )
