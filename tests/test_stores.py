"""The ledger contract, run against every store; ``store_from_url``."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from consent_mw import (
    ConfigError,
    MemoryStore,
    Record,
    SQLiteStore,
    StoreUnavailable,
    store_from_url,
)
from consent_mw.stores.base import BaseStore, new_record_id

_sequence = iter(range(1, 10**9))


def record(subject: str = "subject-a", version: str = "1", **choices: bool) -> Record:
    n = next(_sequence)
    return Record(
        record_id=f"{n:012x}{'0' * 16}",
        subject_id=subject,
        time=1_790_000_000.0 + n,
        policy_version=version,
        text_hash="ab" * 32,
        choices=choices or {"analytics": False, "advertising": False},
        action="custom",
        source="banner",
        regime="gdpr",
        locale="ko",
        ip="203.0.113.0",
        extra={"note": "한글"},
    )


@pytest.fixture(params=["memory", "sqlite", "sqlite-memory"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], BaseStore]]:
    """A store factory; closes what it opened."""
    opened: list[BaseStore] = []

    def make() -> BaseStore:
        store: BaseStore
        if request.param == "memory":
            store = MemoryStore()
        elif request.param == "sqlite-memory":
            store = SQLiteStore(":memory:")
        else:
            store = SQLiteStore(tmp_path / "ledger.sqlite3")
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


class TestStoreContract:
    def test_append_and_current(self, make_store: Callable[[], BaseStore]) -> None:
        store = make_store()
        assert store.current("subject-a") is None
        first, second = record(analytics=True), record(analytics=False)
        store.append(first)
        assert store.current("subject-a") == first
        store.append(second)
        assert store.current("subject-a") == second
        assert store.current("subject-b") is None

    def test_records_round_trip_every_field(self, make_store: Callable[[], BaseStore]) -> None:
        store = make_store()
        original = record(analytics=True)
        store.append(original)
        [loaded] = store.history("subject-a")
        assert loaded == original
        assert loaded.to_dict() == original.to_dict()

    def test_history_is_newest_first_and_limited(self, make_store: Callable[[], BaseStore]) -> None:
        store = make_store()
        mine = [record("subject-a") for _ in range(5)]
        for index, item in enumerate(mine):
            store.append(item)
            store.append(record(f"other-{index}"))
        assert store.history("subject-a") == mine[::-1]
        assert store.history("subject-a", limit=2) == [mine[4], mine[3]]
        assert store.history("nobody") == []

    def test_counts_are_exact_after_changes(self, make_store: Callable[[], BaseStore]) -> None:
        store = make_store()
        assert store.counts() == {}
        store.append(record("a", analytics=True, advertising=True))
        store.append(record("b", analytics=True, advertising=False))
        assert store.counts() == {
            ("1", "analytics", True): 2,
            ("1", "advertising", True): 1,
            ("1", "advertising", False): 1,
        }
        # a changes their mind: their previous choices are taken off
        store.append(record("a", analytics=False, advertising=False))
        assert store.counts() == {
            ("1", "analytics", True): 1,
            ("1", "analytics", False): 1,
            ("1", "advertising", False): 2,
        }
        # b re-consents under a new policy version
        store.append(record("b", version="2", analytics=True, advertising=True))
        assert store.counts() == {
            ("1", "analytics", False): 1,
            ("1", "advertising", False): 1,
            ("2", "analytics", True): 1,
            ("2", "advertising", True): 1,
        }
        assert store.counts("2") == {("2", "analytics", True): 1, ("2", "advertising", True): 1}
        assert store.counts("9") == {}

    def test_same_choices_twice_count_once(self, make_store: Callable[[], BaseStore]) -> None:
        store = make_store()
        for _ in range(3):
            store.append(record("a", analytics=True))
        assert store.counts() == {("1", "analytics", True): 1}
        assert len(store.history("a")) == 3

    def test_async_face(self, make_store: Callable[[], BaseStore]) -> None:
        store = make_store()
        first, second = record(analytics=True), record(analytics=False)

        async def scenario() -> tuple[Any, ...]:
            await store.aappend(first)
            await store.aappend(second)
            return (
                await store.acurrent("subject-a"),
                await store.ahistory("subject-a"),
                await store.ahistory("subject-a", limit=1),
            )

        current, history, limited = asyncio.run(scenario())
        assert current == second
        assert history == [second, first]
        assert limited == [second]
        assert store.counts() == {("1", "analytics", False): 1}

    def test_async_face_under_anyio(self, make_store: Callable[[], BaseStore]) -> None:
        store = make_store()
        item = record(analytics=True)

        async def scenario() -> Record | None:
            await store.aappend(item)
            return await store.acurrent("subject-a")

        assert anyio.run(scenario) == item

    def test_concurrent_appends_keep_counts_exact(
        self, make_store: Callable[[], BaseStore]
    ) -> None:
        store = make_store()
        subjects, rounds, threads = 8, 10, 8
        barrier = threading.Barrier(threads)
        errors: list[BaseException] = []

        def worker(index: int) -> None:
            try:
                barrier.wait()
                for round_ in range(rounds):
                    for subject in range(subjects):
                        granted = (index + round_ + subject) % 2 == 0
                        store.append(record(f"s{subject}", analytics=granted))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        assert errors == []
        counts = store.counts()
        # Each subject counts once, with whatever its last record says.
        assert sum(counts.values()) == subjects
        expected: dict[tuple[str, str, bool], int] = {}
        for subject in range(subjects):
            current = store.current(f"s{subject}")
            assert current is not None
            key = ("1", "analytics", current.choices["analytics"])
            expected[key] = expected.get(key, 0) + 1
            assert len(store.history(f"s{subject}", limit=1000)) == rounds * threads
        assert counts == expected

    def test_concurrent_async_appends(self, make_store: Callable[[], BaseStore]) -> None:
        store = make_store()

        async def scenario() -> None:
            async with anyio.create_task_group() as group:
                for index in range(20):
                    group.start_soon(store.aappend, record(f"s{index % 4}", analytics=True))

        anyio.run(scenario)
        assert store.counts() == {("1", "analytics", True): 4}


# -- SQLite specifics ---------------------------------------------------------------------------


def test_sqlite_state_persists_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SQLiteStore(path)
    item = record(analytics=True)
    store.append(item)
    store.close()
    reopened = SQLiteStore(path)
    try:
        assert reopened.current("subject-a") == item
        assert reopened.history("subject-a") == [item]
        assert reopened.counts() == {("1", "analytics", True): 1}
        reopened.append(record(analytics=False))
        assert reopened.counts() == {("1", "analytics", False): 1}
    finally:
        reopened.close()


def test_sqlite_record_count_and_file(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SQLiteStore(path)
    store.append(record())
    store.append(record())
    assert store.record_count() == 2
    store.close()
    assert path.exists()
    with sqlite3.connect(path) as db:
        assert db.execute("select count(*) from records").fetchone() == (2,)


def test_sqlite_unopenable_path_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable):
        SQLiteStore(tmp_path / "missing-dir" / "ledger.sqlite3")


def test_sqlite_memory_database_works_from_worker_threads() -> None:
    store = store_from_url("sqlite:///:memory:")
    item = record(analytics=True)

    async def scenario() -> Record | None:
        await store.aappend(item)
        return await store.acurrent("subject-a")

    assert anyio.run(scenario) == item
    assert store.current("subject-a") == item


def test_sqlite_locked_database_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SQLiteStore(path, timeout=0.01)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailable):
            store.append(record())
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    store.append(record())
    assert store.record_count() == 1


# -- records ---------------------------------------------------------------------------------


def test_record_json_round_trip() -> None:
    item = record(analytics=True)
    assert Record.from_json(item.to_json()) == item
    assert Record.from_json(item.to_json().encode()) == item
    assert Record.from_dict({**item.to_dict(), "unknown": 1}) == item


def test_new_record_ids_are_time_ordered_and_unique() -> None:
    ids = [new_record_id(1_790_000_000 + i) for i in range(50)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 50
    assert len({new_record_id(1_790_000_000) for _ in range(50)}) == 50
    assert all(len(i) == 28 for i in ids)


# -- store_from_url ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("memory://", MemoryStore),
        ("memory://anything", MemoryStore),
        ("sqlite:///ledger.sqlite3", SQLiteStore),
    ],
)
def test_store_from_url(
    url: str, kind: type, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = store_from_url(url)
    try:
        assert isinstance(store, kind)
    finally:
        store.close()


def test_store_from_url_sqlite_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    relative = store_from_url("sqlite:///rel.sqlite3")
    absolute = store_from_url(f"sqlite:///{tmp_path / 'abs.sqlite3'}")
    try:
        assert isinstance(relative, SQLiteStore) and isinstance(absolute, SQLiteStore)
        assert Path(relative.path).resolve() == tmp_path / "rel.sqlite3"
        assert Path(absolute.path) == tmp_path / "abs.sqlite3"
        assert (tmp_path / "rel.sqlite3").exists() and (tmp_path / "abs.sqlite3").exists()
    finally:
        relative.close()
        absolute.close()


@pytest.mark.parametrize(
    "url",
    ["", "ledger.sqlite3", "sqlite://", "sqlite:///", "redis://localhost:6379/0", "postgres://x"],
)
def test_store_from_url_bad(url: str) -> None:
    with pytest.raises(ConfigError):
        store_from_url(url)
