"""Ledger stores: SQLite (embedded default), memory (tests); see :func:`store_from_url`."""

from __future__ import annotations

from ..exceptions import ConfigError
from .base import BaseStore, Record, new_record_id
from .memory import MemoryStore
from .sqlite import SQLiteStore

__all__ = ["BaseStore", "MemoryStore", "Record", "SQLiteStore", "new_record_id", "store_from_url"]


def store_from_url(url: str) -> BaseStore:
    """A store from a URL: ``sqlite:///path/to/ledger.sqlite3``, ``sqlite:///:memory:`` or
    ``memory://``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError(f"Store URL {url!r} has no scheme; use sqlite:///path or memory://.")
    if scheme == "memory":
        return MemoryStore()
    if scheme == "sqlite":
        path = rest[1:] if rest.startswith("/") else rest
        if not path:
            raise ConfigError("A sqlite:/// URL needs a file path, e.g. sqlite:///ledger.sqlite3.")
        return SQLiteStore(path)
    raise ConfigError(f"Unknown store URL scheme {scheme!r}; use sqlite:// or memory://.")
