"""One SQLite file reached through a bounded pool, and held to being the file at its path.

SQLite keeps writing into a database file that was deleted or replaced under an open
connection (in WAL mode without a word), so a record committed there would be
acknowledged and then lost. Every write therefore checks, inside its transaction and
again after ``COMMIT``, that the database file its connection opened is still the one
at the path (same device and inode) and that its ``-wal`` is still there; if not, the
pool's connections are retired and the write runs once more on a fresh connection,
into the file at the path (the store's writes are idempotent). A file found missing is
created again with the schema, and a warning says so. Reads check the database file too
(one ``stat``, at most every ``READ_CHECK_EVERY`` per connection). A connection that met
a fault of the file is retired (see :mod:`._sqlite_pool`); one that was opened
read-only, or could not open its journal, before the fault cleared gets one retry on a
fresh one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from ..exceptions import StoreError, StoreUnavailable
from ._sqlite_pool import Pool, PooledConnection, file_id, is_fault

__all__ = ["SQLiteFile"]

logger = logging.getLogger("consent_mw.stores.sqlite")
T = TypeVar("T")

#: Seconds a read trusts the last check of its connection's file: a stat per read would
#: cost a fifth of a small read; a file replaced meanwhile is noticed this much later.
READ_CHECK_EVERY = 0.05

#: Faults of a connection opened before the file became usable again: retry on a fresh one.
_STALE = ("SQLITE_READONLY", "SQLITE_CANTOPEN")


class _Moved(Exception):
    """The file a connection opened is no longer the one at the path."""


def _failure(exc: sqlite3.Error, path: str) -> StoreError:
    if isinstance(exc, sqlite3.OperationalError) or is_fault(exc):
        return StoreUnavailable(
            f"The SQLite ledger {path!r} is not available ({exc}); retry later."
        )
    return StoreError(f"The SQLite ledger {path!r} refused the operation: {exc}.")


class SQLiteFile:
    """``run(fn)`` / ``run(fn, write=True)`` on the SQLite file at ``path``; ``":memory:"``
    is one connection for every thread, one operation at a time."""

    def __init__(self, path: str, *, schema: str, timeout: float, max_connections: int) -> None:
        self.path = path
        self.timeout = timeout
        self._schema = schema
        # Every connection to ":memory:" opens its own empty database.
        self._memory = path == ":memory:"
        self.pool = Pool(
            self._open,
            size=1 if self._memory else max_connections,
            timeout=timeout,
            name=repr(path),
        )
        self._writer = threading.Lock()
        self._opened = False
        db = self.pool.acquire()
        try:
            db.executescript(schema)  # also adds the tables a newer version introduced
        except sqlite3.Error as exc:
            self.pool.retire(db)
            raise StoreUnavailable(f"Cannot set up the SQLite ledger {path!r}: {exc}.") from exc
        self.pool.release(db)
        self._opened = True

    def _open(self) -> PooledConnection:
        try:
            db = sqlite3.connect(
                self.path,
                timeout=self.timeout,
                check_same_thread=False,
                isolation_level=None,
                factory=PooledConnection,
            )
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"Cannot open the SQLite ledger {self.path!r}: {exc}.") from exc
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # WAL with synchronous=FULL: a committed record survives a power loss.
            db.execute("PRAGMA synchronous=FULL")
            empty = not db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if empty:
                db.executescript(self._schema)
            if not self._memory:  # the journal is open by now: these are its files
                db.files = {end: file_id(self.path + end) for end in ("", "-wal")}
        except (sqlite3.Error, OSError) as exc:
            db.close()
            raise StoreUnavailable(f"Cannot open the SQLite ledger {self.path!r}: {exc}.") from exc
        if empty and self._opened and not self._memory:
            logger.warning(
                "The SQLite ledger %r was missing or empty; created it again with an empty"
                " schema (records written before are not in this file).",
                self.path,
            )
        return db

    def _check(self, db: PooledConnection, journal: bool) -> None:
        """Raise :class:`_Moved` unless the database ``db`` opened is still the one at the
        path and, if ``journal``, its ``-wal`` is still there. (Only the database is
        stat'ed: on ext4 a stat of the ``-wal`` made its next fsync ~50 us slower, see
        ``benchmarks/bench_sqlite.py``; SQLite never removes the ``-wal`` of an open
        database, so one that is there is the one it opened.)"""
        if not db.files:
            return
        try:
            now = file_id(self.path)
        except OSError as exc:  # e.g. a directory that may no longer be searched
            raise StoreUnavailable(f"Cannot check the SQLite ledger file: {exc}.") from exc
        if now != db.files[""]:
            raise _Moved(f"{self.path!r} was {'deleted' if now is None else 'replaced'}")
        wal = self.path + "-wal"
        if journal and db.files["-wal"] is not None and not os.access(wal, os.F_OK):
            raise _Moved(f"{wal!r} was deleted")

    def run(self, fn: Callable[[sqlite3.Connection], T], *, write: bool = False) -> T:
        """``fn(db)`` on a pooled connection (in one transaction if ``write``), on a fresh
        one once more if the first was stale (its file moved, or it opened read-only)."""
        if not write:
            return self._attempts(fn, self._read)
        # Writers take turns here rather than in SQLite's busy handler, which sleeps.
        if not self._writer.acquire(timeout=self.timeout):
            raise StoreUnavailable(
                f"Another write to the SQLite ledger {self.path!r} took over"
                f" {self.timeout:g} s; nothing was saved. Retry later."
            )
        try:
            return self._attempts(fn, self._write)
        finally:
            self._writer.release()

    def _attempts(
        self,
        fn: Callable[[sqlite3.Connection], T],
        how: Callable[[PooledConnection, Callable[[sqlite3.Connection], T]], T],
    ) -> T:
        moved: _Moved | None = None
        for attempt in (1, 2):
            db = self.pool.acquire()
            try:
                result = how(db, fn)
            except _Moved as exc:
                # Whatever db wrote is not in the file at the path: write it again there.
                logger.warning("The SQLite ledger %s while open; reopening it.", exc)
                self._settle(db)
                self.pool.retire(db)
                moved = exc
                continue
            except sqlite3.Error as exc:
                if self._memory or not is_fault(exc):
                    self.pool.release(db)
                    raise _failure(exc, self.path) from exc
                self.pool.retire(db)
                if attempt == 1 and exc.sqlite_errorname.startswith(_STALE):
                    continue
                raise _failure(exc, self.path) from exc
            except BaseException:
                self.pool.release(db)
                raise
            self.pool.release(db)
            return result
        raise StoreUnavailable(
            f"The SQLite ledger changed under the store twice in a row ({moved});"
            " nothing was saved. Retry later."
        ) from moved

    def _settle(self, db: PooledConnection) -> None:
        """Empty the ``-wal`` that ``db``'s moved file still shares with the path into
        that file: the new file at the path would read the old one's pages from it
        (SQLite only drops the ``-wal`` of a new, empty database)."""
        with contextlib.suppress(sqlite3.Error, OSError):
            if db.files and db.files["-wal"] == file_id(self.path + "-wal"):
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _read(self, db: PooledConnection, fn: Callable[[sqlite3.Connection], T]) -> T:
        now = time.monotonic()
        if now - db.checked >= READ_CHECK_EVERY:
            self._check(db, journal=False)
            db.checked = now
        return fn(db)

    def _write(self, db: PooledConnection, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(db)`` inside ``BEGIN IMMEDIATE`` … ``COMMIT`` (rolled back on error), in
        the file at the path before and after."""
        db.execute("BEGIN IMMEDIATE")
        try:
            self._check(db, journal=True)
            result = fn(db)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # an I/O error or a full disk may have rolled it back
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            raise
        self._check(db, journal=True)  # committed into a file deleted meanwhile?
        db.checked = time.monotonic()
        return result

    def close(self) -> None:
        self.pool.close()
