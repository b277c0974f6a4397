"""The embedded default ledger: one SQLite file (stdlib ``sqlite3``, WAL mode).

A few pooled connections serve every thread (see :mod:`._sqlite_file`: a bounded
pool, faulty connections retired, a write acknowledged only once it is in the file at
the path); async callers reach it through a worker thread (see
:class:`~consent_mw.stores.base.BaseStore`). Each consent change is one
transaction: append the record, replace the current state, adjust counters.
Each change also gets a row in the ``feed`` table, in the same transaction (the change
feed: :mod:`.feed`). Events (automatically collected data) live in their own table until
:meth:`SQLiteStore.purge` deletes the expired ones; reads never return them.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from ..exceptions import ConfigError
from ._sqlite_file import SQLiteFile
from .base import (
    STATUTORY_HOLD_KINDS,
    BaseStore,
    Event,
    Record,
    check_proof,
    id_list,
    require_id,
)
from .feed import FEED_START, Change, ChangePage, parse_row_cursor
from .paging import AccessEntry, HistoryPage, ScanBatch, parse_position
from .records import counted

__all__ = ["SQLiteStore"]

T = TypeVar("T")

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
CREATE TABLE IF NOT EXISTS links (
    user_id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (user_id, subject_id)
);
CREATE INDEX IF NOT EXISTS links_subject ON links (subject_id);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    kind TEXT NOT NULL,
    subject_id TEXT,
    user_id TEXT,
    expires_at REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_time ON events (time);
CREATE INDEX IF NOT EXISTS events_subject ON events (subject_id, time)
    WHERE subject_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_user ON events (user_id, time) WHERE user_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_expiry ON events (expires_at);
CREATE TABLE IF NOT EXISTS feed (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feed_subject ON feed (subject_id);
CREATE TABLE IF NOT EXISTS access_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    actor TEXT NOT NULL,
    body TEXT NOT NULL
);
"""

#: SQLite's default limit on host parameters in one statement is 999 before 3.32.
_CHUNK = 900

_BUMP = """
INSERT INTO counters (policy_version, category, granted, n) VALUES (?, ?, ?, ?)
ON CONFLICT (policy_version, category, granted) DO UPDATE SET n = n + excluded.n
"""


class SQLiteStore(BaseStore):
    """The default ledger: ``SQLiteStore("consent-ledger.sqlite3")``.

    At most ``max_connections`` connections are open, whatever the number of threads;
    ``timeout`` (seconds) bounds the wait for one and for another writer's lock, then
    :class:`~consent_mw.exceptions.StoreUnavailable`. A write returns only once it is
    committed in the file at ``path``; ``SECURITY.md`` says what happens under each
    fault of that file.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = "consent-ledger.sqlite3",
        *,
        timeout: float = 5.0,
        max_connections: int = 4,
        access_log_max: int = 1_000_000,
    ) -> None:
        if not isinstance(access_log_max, int) or access_log_max < 1000:
            raise ConfigError(f"access_log_max must be an int >= 1000, not {access_log_max!r}.")
        if type(max_connections) is not int or max_connections < 1:
            raise ConfigError(f"max_connections must be an int >= 1, not {max_connections!r}.")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout >= 0:
            raise ConfigError(f"timeout must be a number of seconds >= 0, not {timeout!r}.")
        self.path = os.fspath(path)
        self.timeout = timeout
        self.max_connections = max_connections
        self.access_log_max = access_log_max
        self._file = SQLiteFile(
            self.path, schema=_SCHEMA, timeout=timeout, max_connections=max_connections
        )

    def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return self._file.run(fn)

    def _transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(db)`` inside ``BEGIN IMMEDIATE`` … ``COMMIT``, durable in the file at path."""
        return self._file.run(fn, write=True)

    @staticmethod
    def _move_counts(db: sqlite3.Connection, old: Record | None, new: Record | None) -> None:
        if old is not None:
            db.executemany(_BUMP, [(old.policy_version, c, int(g), -1) for c, g in counted(old)])
        if new is not None:
            db.executemany(_BUMP, [(new.policy_version, c, int(g), 1) for c, g in counted(new)])

    @staticmethod
    def _current_of(db: sqlite3.Connection, subject_id: str) -> Record | None:
        row = db.execute("SELECT body FROM current WHERE subject_id = ?", (subject_id,)).fetchone()
        return Record.from_json(row[0]) if row else None

    @staticmethod
    def _insert_record(db: sqlite3.Connection, record: Record, body: str) -> None:
        db.execute("INSERT INTO feed (subject_id, body) VALUES (?, ?)", (record.subject_id, body))
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

    def append(self, record: Record) -> None:
        require_id(record.subject_id)
        body = record.to_json()

        def write(db: sqlite3.Connection) -> None:
            old = self._current_of(db, record.subject_id)
            if old is not None and old.record_id == record.record_id:
                return  # a retried write: already applied
            self._insert_record(db, record, body)
            self._move_counts(db, old, record)
            db.execute(
                "INSERT INTO current (subject_id, user_id, body) VALUES (?, ?, ?)"
                " ON CONFLICT (subject_id) DO UPDATE SET user_id = excluded.user_id,"
                " body = excluded.body",
                (record.subject_id, record.user_id, body),
            )

        self._transaction(write)

    def current(self, subject_id: str) -> Record | None:
        require_id(subject_id)
        row = self._run(
            lambda db: db.execute(
                "SELECT body FROM current WHERE subject_id = ?", (subject_id,)
            ).fetchone()
        )
        return Record.from_json(row[0]) if row else None

    def history(self, subject_id: str, *, limit: int = 100) -> list[Record]:
        require_id(subject_id)
        if limit <= 0:
            return []
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

    def lookup(self, subject_ids: Iterable[str]) -> dict[str, Record | None]:
        ids = id_list(subject_ids)

        def read(db: sqlite3.Connection) -> dict[str, str]:
            found: dict[str, str] = {}
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                found.update(
                    db.execute(
                        f"SELECT subject_id, body FROM current WHERE subject_id IN ({marks})",
                        chunk,
                    ).fetchall()
                )
            return found

        bodies = self._run(read)
        return {s: Record.from_json(bodies[s]) if s in bodies else None for s in ids}

    def as_of(self, subject_ids: Iterable[str], at: float) -> dict[str, Record | None]:
        ids = id_list(subject_ids)

        def read(db: sqlite3.Connection) -> dict[str, str]:
            found: dict[str, str] = {}
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                # max(seq) makes SQLite return the body of that row (a bare column
                # beside max() takes its values from the row that holds the maximum).
                rows = db.execute(
                    f"SELECT subject_id, body, action, max(seq) FROM records"
                    f" WHERE subject_id IN ({marks}) AND time <= ? GROUP BY subject_id",
                    (*chunk, at),
                ).fetchall()
                found.update((s, b) for s, b, action, _ in rows if action != "delete")
            return found

        bodies = self._run(read)
        return {s: Record.from_json(bodies[s]) if s in bodies else None for s in ids}

    def changes(self, after: str = FEED_START, *, limit: int = 100) -> ChangePage:
        start = parse_row_cursor(after)
        if limit <= 0:
            return ChangePage([], after)
        rows = self._run(
            lambda db: db.execute(
                "SELECT seq, body FROM feed WHERE seq > ? ORDER BY seq LIMIT ?", (start, limit)
            ).fetchall()
        )
        records = Record.many_from_json([body.encode("utf-8") for _, body in rows])
        changes = [Change(str(seq), r) for (seq, _), r in zip(rows, records, strict=True)]
        return ChangePage(changes, changes[-1].cursor if changes else after)

    def feed_end(self) -> str:
        row = self._run(lambda db: db.execute("SELECT max(seq) FROM feed").fetchone())
        return str(row[0] or 0)

    def link_user(self, subject_id: str, user_id: str) -> None:
        require_id(subject_id)
        require_id(user_id, "user_id")
        self._transaction(
            lambda db: db.execute(
                "INSERT INTO links (user_id, subject_id, seq)"
                " VALUES (?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM links WHERE user_id = ?))"
                " ON CONFLICT (user_id, subject_id) DO UPDATE SET seq = excluded.seq",
                (user_id, subject_id, user_id),
            )
        )

    def subjects_of(self, user_id: str) -> list[str]:
        require_id(user_id, "user_id")
        rows = self._run(
            lambda db: db.execute(
                "SELECT subject_id FROM links WHERE user_id = ? ORDER BY seq DESC", (user_id,)
            ).fetchall()
        )
        return [row[0] for row in rows]

    def delete_subject(self, subject_id: str, *, proof: Record) -> int:
        require_id(subject_id)
        check_proof(subject_id, proof)
        hold = sorted(STATUTORY_HOLD_KINDS)

        def erase(db: sqlite3.Connection) -> int:
            self._move_counts(db, self._current_of(db, subject_id), None)
            db.execute("DELETE FROM current WHERE subject_id = ?", (subject_id,))
            removed = db.execute("DELETE FROM records WHERE subject_id = ?", (subject_id,)).rowcount
            removed += db.execute(
                f"DELETE FROM events WHERE subject_id = ?"
                f" AND kind NOT IN ({','.join('?' * len(hold))})",
                (subject_id, *hold),
            ).rowcount
            db.execute("DELETE FROM links WHERE subject_id = ?", (subject_id,))
            # erased from the feed too: only the deletion proof is left to report it
            db.execute("DELETE FROM feed WHERE subject_id = ?", (subject_id,))
            self._insert_record(db, proof, proof.to_json())
            return int(removed)

        return int(self._transaction(erase))

    def record_events(self, events: Sequence[Event]) -> None:
        rows = [
            (e.time, e.kind, e.subject_id, e.user_id, e.expires_at, e.to_json()) for e in events
        ]
        if not rows:
            return
        self._transaction(
            lambda db: db.executemany(
                "INSERT INTO events (time, kind, subject_id, user_id, expires_at, body)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
        )

    def events(
        self, subject_id: str | None = None, user_id: str | None = None, limit: int = 100
    ) -> list[Event]:
        if limit <= 0:
            return []
        sql = "SELECT body FROM events WHERE expires_at > ?"
        args: list[Any] = [time.time()]
        if subject_id is not None:
            sql += " AND subject_id = ?"
            args.append(subject_id)
        if user_id is not None:
            sql += " AND user_id = ?"
            args.append(user_id)
        sql += " ORDER BY time DESC, seq DESC LIMIT ?"
        args.append(limit)
        rows = self._run(lambda db: db.execute(sql, args).fetchall())
        return [Event.from_dict(json.loads(row[0])) for row in rows]

    def purge(self, now: float | None = None) -> int:
        cutoff = time.time() if now is None else now
        sql = "DELETE FROM events WHERE expires_at <= ?"
        return int(self._transaction(lambda db: db.execute(sql, (cutoff,)).rowcount))

    def history_page(
        self, subject_id: str, *, limit: int = 100, before: str | None = None
    ) -> HistoryPage:
        # A position is the row's seq: rows appended later get larger ones.
        require_id(subject_id)
        if limit <= 0:
            return HistoryPage([], [], more=False)
        sql = "SELECT seq, body FROM records WHERE subject_id = ?"
        args: list[Any] = [subject_id]
        if before is not None:
            sql += " AND seq < ?"
            args.append(parse_position(before))
        sql += " ORDER BY seq DESC LIMIT ?"
        args.append(limit + 1)
        rows = self._run(lambda db: db.execute(sql, args).fetchall())
        page = rows[:limit]
        return HistoryPage(
            [Record.from_json(body) for _, body in page],
            [str(seq) for seq, _ in page],
            more=len(rows) > limit,
        )

    def scan_current(self, cursor: str | None = None, *, count: int = 1000) -> ScanBatch:
        # Keyset pagination over the primary key: the cursor is the last subject id, so
        # every batch is an index range scan however deep the walk is.
        count = max(count, 1)
        where, args = ("", [count]) if cursor is None else ("WHERE subject_id > ?", [cursor, count])
        sql = f"SELECT subject_id, body FROM current {where} ORDER BY subject_id LIMIT ?"
        rows = self._run(lambda db: db.execute(sql, args).fetchall())
        records = [Record.from_json(body) for _, body in rows]
        return ScanBatch(records, rows[-1][0] if len(rows) == count else None, start=cursor)

    def log_access(self, entry: AccessEntry) -> None:
        # Capped like the other stores' (the log names the ids asked about: personal data
        # is not kept without end): the oldest entries go, checked every 1,000 writes.
        cap = self.access_log_max

        def write(db: sqlite3.Connection) -> None:
            seq = db.execute(
                "INSERT INTO access_log (time, actor, body) VALUES (?, ?, ?)",
                (entry.time, entry.actor, entry.to_json()),
            ).lastrowid
            if seq is not None and seq % 1000 == 0:
                db.execute("DELETE FROM access_log WHERE seq <= ?", (seq - cap,))

        self._transaction(write)

    def access_log(self, limit: int = 100) -> list[AccessEntry]:
        if limit <= 0:
            return []
        rows = self._run(
            lambda db: db.execute(
                "SELECT body FROM access_log ORDER BY seq DESC LIMIT ?", (limit,)
            ).fetchall()
        )
        return [AccessEntry.from_json(row[0]) for row in rows]

    def ping(self) -> None:
        self._run(lambda db: db.execute("SELECT 1").fetchone())

    def record_count(self) -> int:
        return int(self._run(lambda db: db.execute("SELECT count(*) FROM records").fetchone()[0]))

    def close(self) -> None:
        self._file.close()
