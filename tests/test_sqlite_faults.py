"""The SQLite ledger under faults, behind a real server (uvicorn, or wsgiref with a thread
per request) in a child process: a descriptor limit with thread churn, an unwritable
ledger file, the ledger deleted while serving, a full disk. Each test posts consents to
``/_consent`` and checks that every acknowledged one (200 with a ``record_id``) is in the
ledger file afterwards, read by a fresh connection as after a restart; a refusal must be
a 503 with Retry-After, never a 500 or a dropped connection. Servers: :mod:`sqlite_servers`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pytest

from consent_mw import SQLiteStore
from support.sqlite_servers import LedgerServer, acknowledged, stored_record_ids, unwritable

Results = list[tuple[str, str | None]]


def statuses(results: Iterable[tuple[str, str | None]]) -> Counter[str]:
    return Counter(status for status, _ in results)


def files_open(server: LedgerServer) -> int:
    """The server's descriptors other than sockets (connections still closing vary)."""
    return sum(not target.startswith("socket:") for target in server.descriptors())


def new_ledger(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.sqlite3"
    SQLiteStore(path).close()
    return path


def test_thread_churn_under_uvicorn_keeps_descriptors_flat(tmp_path: Path) -> None:
    # anyio retires a worker thread idle for 10 s; here after 0.1 s, so every burst
    # after a pause runs on new threads, as bursts minutes apart do in production.
    ledger = new_ledger(tmp_path)
    acked: set[str] = set()
    server = LedgerServer(ledger, tmp_path / "uvicorn.log", nofile=256, thread_idle=0.1)
    with server:
        counts = []
        for burst in range(8):
            results = server.burst(40)
            acked |= acknowledged(results)
            assert statuses(results) == {"200": 40}, f"burst {burst}: {statuses(results)}"
            counts.append(files_open(server))
            assert server.ledger_descriptors() <= 2 * 4 + 1  # database + -wal each, one -shm
            time.sleep(0.3)
        assert max(counts) <= counts[0] + 2 * 4, counts  # at most the pool filling up
    assert acked <= stored_record_ids(ledger)
    assert len(acked) == 8 * 40


def test_thread_per_request_wsgi_server_keeps_descriptors_flat(tmp_path: Path) -> None:
    ledger = new_ledger(tmp_path)
    acked: set[str] = set()
    server = LedgerServer(ledger, tmp_path / "wsgi.log", kind="wsgi", nofile=256)
    with server:
        counts = []
        for round_ in range(30):  # 300 requests, each on a thread of its own
            results = server.burst(10)
            acked |= acknowledged(results)
            assert statuses(results) == {"200": 10}, f"round {round_}: {statuses(results)}"
            counts.append(files_open(server))
        assert server.ledger_descriptors() <= 2 * 4 + 1
        assert max(counts) <= counts[0] + 2 * 4, counts
    assert len(acked) == 300 and acked <= stored_record_ids(ledger)


def test_unwritable_ledger_answers_503_then_recovers(tmp_path: Path) -> None:
    # Started while the ledger cannot be written: SQLite opens it read-only without a
    # word, and a connection stays read-only for its whole life.
    ledger = new_ledger(tmp_path)
    server = LedgerServer(ledger, tmp_path / "uvicorn.log")
    try:
        with unwritable(ledger):
            server.start()
            assert statuses(server.burst(40)) == {"503": 40}
            assert server.get("/") == 200  # pages are served all along
        after = server.burst(40)  # writable again: every consent is saved
        assert statuses(after) == {"200": 40}
        with unwritable(ledger):  # the fault again, now under connections opened before it
            during = server.burst(40) + server.burst(40)
            assert set(statuses(during)) <= {"200", "503"}, statuses(during)
        again = server.burst(40)
        assert statuses(again) == {"200": 40}
    finally:
        server.stop()
    assert acknowledged(after + during + again) <= stored_record_ids(ledger)


def test_ledger_deleted_while_serving_is_written_again(tmp_path: Path) -> None:
    ledger = new_ledger(tmp_path)
    server = LedgerServer(ledger, tmp_path / "uvicorn.log")
    with server:
        assert statuses(server.burst(20)) == {"200": 20}
        for end in ("", "-wal", "-shm"):
            Path(f"{ledger}{end}").unlink()
        after = server.burst(40)
        assert server.get("/") == 200
    # Nothing acknowledged is lost; and here none is refused: the file is created again.
    assert acknowledged(after) <= stored_record_ids(ledger)
    assert statuses(after) == {"200": 40}
    assert "created it again" in server.log_text()
    with server:  # a restart serves from the new file
        later = server.burst(5)
        assert statuses(later) == {"200": 5}
    assert acknowledged(after + later) <= stored_record_ids(ledger)


def test_full_disk_answers_503_and_recovers(tmp_path: Path) -> None:
    # RLIMIT_FSIZE at the files' current sizes: any write that grows a file fails with
    # EFBIG, as on a full disk (SIGXFSZ is ignored by the server, as it must be then).
    ledger = new_ledger(tmp_path)
    server = LedgerServer(ledger, tmp_path / "uvicorn.log")
    with server:
        before = server.burst(20)
        assert statuses(before) == {"200": 20}
        sizes = [Path(f"{ledger}{end}").stat().st_size for end in ("", "-wal")]
        server.limit_file_size(max(sizes))
        try:
            during: Results = []
            for _ in range(5):
                during += server.burst(40)
            assert set(statuses(during)) <= {"200", "503"}, statuses(during)
            assert statuses(during)["503"] > 0  # the limit did bind
            assert server.get("/") == 200
        finally:
            server.limit_file_size(None)
        after = server.burst(40)
        assert statuses(after) == {"200": 40}
    assert acknowledged(before + during + after) <= stored_record_ids(ledger)


@pytest.fixture(autouse=True)
def _linux_only() -> None:
    if not Path("/proc/self/fd").is_dir():  # pragma: no cover - the suite runs on Linux
        pytest.fail("These tests read /proc/<pid>/fd (Linux).", pytrace=False)
