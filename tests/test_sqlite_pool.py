"""The SQLite ledger's connections, without a server: bounded whatever the thread churn,
retired after a fault of the file, and never acknowledging a write that landed in a file
no longer at the ledger's path. Both faces (sync, and async through worker threads).
The same faults behind real servers: ``test_sqlite_faults.py``."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from consent_mw import ConfigError, Record, SQLiteStore, StoreUnavailable
from consent_mw.stores._sqlite_file import READ_CHECK_EVERY
from consent_mw.stores.sqlite import SQLiteStore as _Store
from support.sqlite_servers import unwritable
from test_stores import record

FACES = ["sync", "async"]


def ledger_descriptors(directory: Path) -> int:
    """This process's open descriptors on files in ``directory``."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith(str(directory))
        except OSError:  # the listing's own descriptor, closed meanwhile
            pass
    return count


def append(store: SQLiteStore, face: str, item: Record) -> None:
    if face == "sync":
        store.append(item)
    else:
        anyio.run(store.aappend, item)


def current(store: SQLiteStore, face: str, subject: str) -> Record | None:
    if face == "sync":
        return store.current(subject)
    return anyio.run(store.acurrent, subject)


def in_threads(count: int, target: Callable[[int], Any]) -> None:
    """``target(i)`` in ``count`` threads started together; their errors re-raised."""
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            target(index)
        except BaseException as exc:  # pragma: no cover - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


# -- a bounded number of connections -----------------------------------------------------


def test_short_lived_threads_leave_no_connections_behind(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "ledger.sqlite3")
    try:
        for batch in range(10):  # 300 threads, 30 at a time, each writing and reading

            def work(index: int, batch: int = batch) -> None:
                item = record(f"s{batch}-{index}", analytics=True)
                store.append(item)
                assert store.current(item.subject_id) == item

            in_threads(30, work)
            assert ledger_descriptors(tmp_path) <= 2 * 4 + 1  # database + -wal each, one -shm
        assert store.counts() == {("1", "analytics", True): 300}
    finally:
        store.close()
    assert ledger_descriptors(tmp_path) == 0


def test_short_lived_worker_threads_of_the_async_face(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "ledger.sqlite3")

    async def burst(round_: int) -> None:
        async with anyio.create_task_group() as group:
            for index in range(30):
                group.start_soon(store.aappend, record(f"s{round_}-{index}", analytics=True))
                group.start_soon(store.acurrent, f"s{round_}-{index}")

    try:
        for round_ in range(10):  # each run has worker threads of its own, ended with it
            anyio.run(burst, round_)
            assert ledger_descriptors(tmp_path) <= 2 * 4 + 1
        assert store.counts() == {("1", "analytics", True): 300}
    finally:
        store.close()


def test_a_caller_waits_for_a_free_connection_up_to_the_timeout(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "ledger.sqlite3", max_connections=2, timeout=0.2)
    pool = store._file.pool
    held = [pool.acquire(), pool.acquire()]
    try:
        with pytest.raises(StoreUnavailable, match="max_connections"):
            store.current("a")
        release = threading.Timer(0.05, pool.release, [held.pop()])
        release.start()
        assert store.current("a") is None  # got the connection released meanwhile
        release.join()
    finally:
        for db in held:
            pool.release(db)
        store.close()


def test_close_closes_every_connection(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "ledger.sqlite3")
    barrier = threading.Barrier(4)

    def read(index: int) -> None:
        store._file.run(lambda db: barrier.wait(5))  # four connections open at once

    in_threads(4, read)
    assert ledger_descriptors(tmp_path) == 2 * 4 + 1
    store.close()
    assert ledger_descriptors(tmp_path) == 0


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "4", None])
def test_max_connections_must_be_a_positive_int(tmp_path: Path, value: Any) -> None:
    with pytest.raises(ConfigError, match="max_connections"):
        SQLiteStore(tmp_path / "ledger.sqlite3", max_connections=value)


@pytest.mark.parametrize("value", [-1, "5", None])
def test_timeout_must_be_a_number(tmp_path: Path, value: Any) -> None:
    with pytest.raises(ConfigError, match="timeout"):
        SQLiteStore(tmp_path / "ledger.sqlite3", timeout=value)


def test_memory_ledger_is_one_connection_for_every_thread() -> None:
    store = SQLiteStore(":memory:", max_connections=8)
    in_threads(20, lambda index: store.append(record(f"s{index}", analytics=True)))
    assert anyio.run(store.acounts) == {("1", "analytics", True): 20}
    assert store._file.pool.open_count == 1
    store.close()


# -- a connection that met a fault is retired ------------------------------------------


def test_a_connection_opened_read_only_is_replaced_once_writable(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    SQLiteStore(path).close()
    with unwritable(path):
        store = SQLiteStore(path)  # SQLite opens it read-only, without a word
        with pytest.raises(StoreUnavailable, match="readonly"):
            store.append(record("a"))
    try:
        item = record("a", analytics=True)
        store.append(item)
        assert store.current("a") == item
        in_threads(8, lambda index: store.append(record(f"t{index}")))
        assert store.record_count() == 9
    finally:
        store.close()


def test_a_worker_thread_connection_opened_read_only_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    SQLiteStore(path).close()
    item = record("a", analytics=True)

    async def scenario() -> Record | None:
        # One event loop: its worker thread (and whatever it keeps) serves every call.
        with unwritable(path), pytest.raises(StoreUnavailable, match="readonly"):
            await store.aappend(record("a"))
        await store.aappend(item)
        return await store.acurrent("a")

    with unwritable(path):
        store = SQLiteStore(path)
    try:
        assert anyio.run(scenario) == item
    finally:
        store.close()


def test_a_busy_ledger_keeps_its_connections(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SQLiteStore(path, timeout=0.01)
    [connection] = store._file.pool._idle
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreUnavailable, match="locked"):
            store.append(record())
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert store._file.pool._idle == [connection]  # another writer is no fault of the file
    store.append(record())
    assert store.record_count() == 1
    store.close()


def test_a_file_that_is_not_a_database_is_unavailable_until_restored(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SQLiteStore(path)
    store.append(record("a"))
    store.close()  # everything is in the database file now
    saved = path.read_bytes()
    path.write_bytes(b"not a database, " * 512)
    with pytest.raises(StoreUnavailable, match="not a database"):
        store.append(record("b"))
    assert store._file.pool.open_count == 0  # closed, not handed to the next caller
    path.write_bytes(saved)
    item = record("c")
    store.append(item)
    assert store.current("c") == item
    assert store.record_count() == 2
    store.close()


# -- a write is acknowledged only in the file at the path ----------------------------------


@pytest.mark.parametrize("face", FACES)
def test_a_deleted_ledger_is_noticed_on_the_next_write(
    tmp_path: Path, face: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SQLiteStore(path)
    append(store, face, record("a"))
    for end in ("", "-wal", "-shm"):
        Path(f"{path}{end}").unlink()
    caplog.set_level(logging.WARNING, "consent_mw.stores.sqlite")
    item = record("b", analytics=True)
    append(store, face, item)  # returns: so it must be in the file at the path
    assert current(store, face, "b") == item
    store.close()
    assert "created it again" in caplog.text
    reopened = SQLiteStore(path)
    assert reopened.current("b") == item
    assert reopened.current("a") is None  # deleted with the file
    assert reopened.counts() == {("1", "analytics", True): 1}
    reopened.close()


def test_a_write_committed_into_a_file_deleted_meanwhile_is_written_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The file goes after the check inside the transaction, before COMMIT: only the check
    # after COMMIT can see that the record went into an unlinked file.
    path = tmp_path / "ledger.sqlite3"
    store = SQLiteStore(path)
    store.append(record("a"))
    insert = _Store._insert_record
    calls = []

    def insert_then_delete(db: sqlite3.Connection, item: Record, body: str) -> None:
        insert(db, item, body)
        calls.append(item.record_id)
        if len(calls) == 1:
            for end in ("", "-wal", "-shm"):
                Path(f"{path}{end}").unlink()

    monkeypatch.setattr(_Store, "_insert_record", staticmethod(insert_then_delete))
    item = record("b")
    store.append(item)
    assert calls == [item.record_id] * 2  # written twice: the second time in the new file
    store.close()
    reopened = SQLiteStore(path)
    assert reopened.history("b") == [item]
    reopened.close()


@pytest.mark.parametrize("face", FACES)
def test_a_replaced_ledger_is_noticed_on_the_next_read(tmp_path: Path, face: str) -> None:
    path, other = tmp_path / "ledger.sqlite3", tmp_path / "restored.sqlite3"
    store = SQLiteStore(path)
    mine = record("a")
    store.append(mine)
    restored = SQLiteStore(other)
    theirs = record("b")
    restored.append(theirs)
    restored.close()
    os.replace(path, tmp_path / "old.sqlite3")  # e.g. a restore from a backup
    os.replace(other, path)
    time.sleep(READ_CHECK_EVERY)  # a read trusts a check this recent (a stat per read costs)
    assert current(store, face, "b") == theirs
    assert current(store, face, "a") is None
    later = record("c")
    append(store, face, later)
    store.close()
    reopened = SQLiteStore(path)
    assert [r.subject_id for r in reopened.iter_current()] == ["b", "c"]
    reopened.close()
    old = SQLiteStore(tmp_path / "old.sqlite3")  # the old file kept everything it had
    assert [r.subject_id for r in old.iter_current()] == ["a"]
    old.close()
