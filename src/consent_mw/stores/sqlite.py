"""The embedded default ledger: one SQLite file (stdlib ``sqlite3``, WAL mode).

One connection per thread (sqlite3 connections must not be shared between
threads); async callers reach it through a worker thread (see
:class:`~consent_mw.stores.base.BaseStore`). Each consent change is one
transaction: append the record, replace the current state, adjust counters.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any

from ..exceptions import StoreUnavailable
from .base import BaseStore, Record

__all__ = ["SQLiteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL UNIQUE,
    subject_id TEXT NOT NULL,
    user_id TEXT,
    time REAL NOT NULL,
    policy_version TEXT NOT NULL,
    action TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_subject ON records (subject_id, seq);
CREATE INDEX IF NOT EXISTS records_user ON records (user_id) WHERE user_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS current (
    subject_id TEXT PRIMARY KEY,
    user_id TEXT,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    policy_version TEXT NOT NULL,
    category TEXT NOT NULL,
    granted INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (policy_version, category, granted)
);
"""

_BUMP = """
INSERT INTO counters (policy_version, category, granted, n) VALUES (?, ?, ?, ?)
ON CONFLICT (policy_version, category, granted) DO UPDATE SET n = n + excluded.n
"""


class SQLiteStore(BaseStore):
    """The default ledger: ``SQLiteStore("consent-ledger.sqlite3")``."""

    def __init__(
        self, path: str | os.PathLike[str] = "consent-ledger.sqlite3", *, timeout: float = 5.0
    ) -> None:
        self.path = os.fspath(path)
        self.timeout = timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        # Every connection to ":memory:" opens its own empty database, so an in-memory
        # ledger uses one connection for all threads, one operation at a time.
        self._memory = self.path == ":memory:"
        self._shared: sqlite3.Connection | None = None
        self._shared_lock = threading.Lock()
        with self._connect() as connection:
            connection.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = (
            self._shared if self._memory else getattr(self._local, "connection", None)
        )
        if connection is None:
            try:
                connection = sqlite3.connect(
                    self.path, timeout=self.timeout, check_same_thread=False, isolation_level=None
                )
                connection.execute("PRAGMA journal_mode=WAL")
                # WAL with synchronous=FULL: a committed record survives a power loss.
                connection.execute("PRAGMA synchronous=FULL")
            except sqlite3.Error as exc:
                raise StoreUnavailable(
                    f"Cannot open the SQLite ledger {self.path!r}: {exc}"
                ) from exc
            if self._memory:
                self._shared = connection
            else:
                self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _run(self, fn: Any) -> Any:
        try:
            if self._memory:
                with self._shared_lock:
                    return fn(self._connect())
            return fn(self._connect())
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"The SQLite ledger is not available: {exc}") from exc

    def append(self, record: Record) -> None:
        body = record.to_json()

        def write(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT body FROM current WHERE subject_id = ?", (record.subject_id,)
                ).fetchone()
                db.execute(
                    "INSERT INTO records (record_id, subject_id, user_id, time, policy_version,"
                    " action, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.record_id,
                        record.subject_id,
                        record.user_id,
                        record.time,
                        record.policy_version,
                        record.action,
                        body,
                    ),
                )
                if row is not None:
                    old = Record.from_json(row[0])
                    db.executemany(
                        _BUMP, [(old.policy_version, c, int(g), -1) for c, g in old.choices.items()]
                    )
                db.executemany(
                    _BUMP,
                    [(record.policy_version, c, int(g), 1) for c, g in record.choices.items()],
                )
                db.execute(
                    "INSERT INTO current (subject_id, user_id, body) VALUES (?, ?, ?)"
                    " ON CONFLICT (subject_id) DO UPDATE SET user_id = excluded.user_id,"
                    " body = excluded.body",
                    (record.subject_id, record.user_id, body),
                )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

        self._run(write)

    def current(self, subject_id: str) -> Record | None:
        row = self._run(
            lambda db: db.execute(
                "SELECT body FROM current WHERE subject_id = ?", (subject_id,)
            ).fetchone()
        )
        return Record.from_json(row[0]) if row else None

    def history(self, subject_id: str, *, limit: int = 100) -> list[Record]:
        rows = self._run(
            lambda db: db.execute(
                "SELECT body FROM records WHERE subject_id = ? ORDER BY seq DESC LIMIT ?",
                (subject_id, limit),
            ).fetchall()
        )
        return [Record.from_json(row[0]) for row in rows]

    def counts(self, policy_version: str | None = None) -> dict[tuple[str, str, bool], int]:
        sql = "SELECT policy_version, category, granted, n FROM counters WHERE n != 0"
        args: tuple[str, ...] = ()
        if policy_version is not None:
            sql += " AND policy_version = ?"
            args = (policy_version,)
        rows = self._run(lambda db: db.execute(sql, args).fetchall())
        return {(v, c, bool(g)): n for v, c, g, n in rows}

    def record_count(self) -> int:
        return int(self._run(lambda db: db.execute("SELECT count(*) FROM records").fetchone()[0]))

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()
        self._shared = None
