"""Connections to one SQLite file: a bounded pool, and which errors retire a connection.

A connection per thread leaks one descriptor pair per thread a server ever started
(thread-per-request servers, anyio retiring idle workers); the pool lends at most
``size`` connections to whichever thread asks and makes the others wait (up to
``timeout``, then :class:`~consent_mw.exceptions.StoreUnavailable`). A connection that met
a fault of the file (:func:`is_fault`) is retired with every idle one, since they were
opened under the same conditions (a read-only file stays read-only for the life of a
connection); the next caller opens a fresh one.

::

    pool = Pool(open_connection, size=4, timeout=5.0, name="'ledger.sqlite3'")
    db = pool.acquire()
    ...                  # then exactly one of
    pool.release(db)     # back to the idle list
    pool.retire(db)      # closed, and every idle connection with it
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable

from ..exceptions import StoreUnavailable

__all__ = ["FileId", "Pool", "PooledConnection", "file_id", "is_fault"]

#: (device, inode): which file a path named when a connection opened it.
FileId = tuple[int, int]

# Primary result codes of a connection whose file is unwritable, unreadable or gone:
# READONLY 8, IOERR 10, CORRUPT 11, FULL 13, CANTOPEN 14, NOTADB 26. BUSY and LOCKED
# (another writer) and SQL errors leave the connection as good as it was.
_FAULT_CODES = frozenset({8, 10, 11, 13, 14, 26})


def is_fault(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` says the connection's file is faulty (retire the connection)."""
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    return isinstance(code, int) and code & 0xFF in _FAULT_CODES


def file_id(path: str) -> FileId | None:
    """``path``'s (device, inode), or None when nothing is there."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino


class PooledConnection(sqlite3.Connection):
    """A connection that knows the files it opened and the pool generation it belongs to."""

    files: dict[str, FileId | None] = {}  # replaced per connection, never changed in place
    generation = 0
    checked = float("-inf")  # time.monotonic() when its files were last found in place


class Pool:
    """At most ``size`` connections from ``open_connection``, lent one caller at a time."""

    def __init__(
        self,
        open_connection: Callable[[], PooledConnection],
        *,
        size: int,
        timeout: float,  # seconds a caller waits for a free connection
        name: str,  # the ledger, for messages
    ) -> None:
        self._open_connection = open_connection
        self.size = size
        self.timeout = timeout
        self.name = name
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)  # a connection came back, or closed
        self._waiting = 0  # callers in _wait (notify only then: it is not free)
        self._idle: list[PooledConnection] = []
        self._open = 0  # idle + lent + being opened
        self._generation = 0

    @property
    def open_count(self) -> int:
        """Connections open now (idle, lent or being opened)."""
        return self._open

    def acquire(self) -> PooledConnection:
        with self._lock:
            if not self._idle and self._open >= self.size:
                self._wait()
            if self._idle:
                return self._idle.pop()  # the most recently used: its pages are warm
            self._open += 1
            generation = self._generation
        try:
            connection = self._open_connection()
        except BaseException:
            with self._lock:
                self._open -= 1
                self._wake()
            raise
        connection.generation = generation
        return connection

    def _wait(self) -> None:
        """Until a connection is idle or may be opened (called holding the lock)."""
        deadline = time.monotonic() + self.timeout
        self._waiting += 1
        try:
            while not self._idle and self._open >= self.size:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StoreUnavailable(
                        f"All {self.size} connections to the SQLite ledger {self.name} stayed"
                        f" busy for {self.timeout:g} s; retry later, or raise max_connections."
                    )
                self._ready.wait(left)
        finally:
            self._waiting -= 1

    def _wake(self, everyone: bool = False) -> None:
        if self._waiting:
            self._ready.notify_all() if everyone else self._ready.notify()

    def release(self, connection: PooledConnection) -> None:
        """Hand ``connection`` back; one of an older generation, or still inside a
        transaction (its rollback failed), is closed instead."""
        with self._lock:
            if connection.generation == self._generation and not connection.in_transaction:
                self._idle.append(connection)
                self._wake()
                return
            self._open -= 1
            self._wake()
        _close(connection)

    def retire(self, connection: PooledConnection) -> None:
        """Close ``connection`` and every idle one; those lent out now close when released."""
        with self._lock:
            self._generation += 1
            stale, self._idle = self._idle, []
            self._open -= 1 + len(stale)
            self._wake(everyone=True)
        for each in (connection, *stale):
            _close(each)

    def close(self) -> None:
        """Close the idle connections; those lent out now close when released."""
        with self._lock:
            self._generation += 1
            stale, self._idle = self._idle, []
            self._open -= len(stale)
            self._wake(everyone=True)
        for each in stale:
            _close(each)


def _close(connection: sqlite3.Connection) -> None:
    # A connection being retired for a fault may fail to close cleanly; it is gone either way.
    with contextlib.suppress(sqlite3.Error):
        connection.close()
