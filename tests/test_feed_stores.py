"""Point-in-time answers and the change feed, on every store (memory, SQLite, Redis,
Redis Cluster, Django's ORM), and the Redis feed across a real server restart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from consent_mw import ConfigError
from consent_mw.stores import CursorError, RedisStore
from consent_mw.stores.base import BaseStore, new_record_id
from consent_mw.stores.feed import FEED_START
from support.query import NOW, make_record
from support.query import ledger_fixture as ledger_fixture  # noqa: F401  (fixture)
from support.redis_servers import (  # noqa: F401  (session fixtures)
    RedisServer,
    redis_cluster_nodes_fixture,
    redis_standalone_fixture,
    require_redis_binaries,
)

T = NOW - 3600.0


def _delete(store: BaseStore, subject: str, at: float) -> int:
    proof = make_record(subject, at=at, action="delete", choices={})
    return store.delete_subject(subject, proof=proof)


def test_as_of_answers_the_state_at_the_time_asked(ledger: Callable[..., BaseStore]) -> None:
    store = ledger()
    before = make_record("a", at=T - 100, advertising=True)
    after = make_record("a", at=T + 100, advertising=False)
    store.append(before)
    store.append(after)
    store.append(make_record("b", at=T + 1, advertising=True))  # only after T
    store.append(make_record("c", at=T, advertising=True))  # exactly at T: counts
    store.append(make_record("gone", at=T - 50, advertising=True))
    _delete(store, "gone", T + 10)

    at_t = store.as_of(["a", "b", "c", "gone", "nobody"], T)
    assert at_t["a"] == before
    assert at_t["b"] is None and at_t["nobody"] is None
    assert at_t["c"] is not None and at_t["c"].choices["advertising"] is True
    # a deleted subject answers None at every time: its records are erased
    assert at_t["gone"] is None
    assert store.as_of(["a"], T + 100)["a"] == after
    assert store.as_of(["a"], T - 101)["a"] is None
    assert store.as_of(["gone"], T + 1000)["gone"] is None
    # the current-state answer is unchanged by the question
    assert store.current("a") == after
    assert asyncio.run(store.aas_of(["a", "b"], T)) == {"a": before, "b": None}


def test_as_of_in_bulk_crosses_batches(ledger: Callable[..., BaseStore]) -> None:
    store = ledger()
    ids = [f"s{i:05d}" for i in range(950)]
    for i, subject in enumerate(ids):
        if i % 3:
            store.append(make_record(subject, at=T - 10, advertising=i % 2 == 0))
        store.append(make_record(subject, at=T + 10, advertising=True))
    found = store.as_of(ids, T)
    assert list(found) == ids
    for i, subject in enumerate(ids):
        state = found[subject]
        if i % 3:
            assert state is not None and state.choices["advertising"] is (i % 2 == 0)
        else:
            assert state is None


def test_as_of_walks_a_long_history(ledger: Callable[..., BaseStore]) -> None:
    store = ledger()
    records = [make_record("long", at=T + i, advertising=i % 2 == 0) for i in range(300)]
    for r in records:
        store.append(r)
    for i in (0, 7, 8, 40, 299):
        assert store.as_of(["long"], T + i + 0.5)["long"] == records[i]


def _feed_capable(ledger: Callable[..., BaseStore]) -> bool:
    return ledger.backend != "redis-cluster"  # type: ignore[attr-defined]


def test_the_feed_lists_every_change_in_order_and_resumes(
    ledger: Callable[..., BaseStore],
) -> None:
    store = ledger()
    if not _feed_capable(ledger):
        with pytest.raises(ConfigError, match="single Redis server"):
            store.changes()
        return
    assert store.feed_end() == FEED_START
    assert store.changes().changes == []
    written = [make_record(f"f{i % 7}", at=T + i, advertising=i % 2 == 0) for i in range(40)]
    for r in written:
        store.append(r)
    store.append(written[-1])  # a retried write: no second entry

    seen, cursor, cursors = [], FEED_START, []
    while True:
        page = store.changes(cursor, limit=9)
        if not page.changes:
            assert page.next == cursor
            break
        seen += [c.record for c in page.changes]
        cursors += [c.cursor for c in page.changes]
        cursor = page.next
    assert seen == written
    assert cursor == store.feed_end()
    # resuming from any cursor gives exactly the changes after it
    middle = cursors[16]
    assert [c.record for c in store.changes(middle, limit=1000).changes] == written[17:]
    assert asyncio.run(store.achanges(middle, limit=2)).changes[0].record == written[17]
    assert asyncio.run(store.afeed_end()) == cursor
    assert store.changes(cursor, limit=0).changes == []


def test_a_deletion_erases_the_subjects_feed_entries(ledger: Callable[..., BaseStore]) -> None:
    store = ledger()
    if not _feed_capable(ledger):
        return
    store.append(make_record("keep", at=T))
    store.append(make_record("erase", at=T + 1, advertising=True))
    store.append(make_record("erase", at=T + 2))
    _delete(store, "erase", T + 3)
    records = [c.record for c in store.changes(limit=100).changes]
    assert [(r.subject_id, r.action) for r in records] == [("keep", "custom"), ("erase", "delete")]


@pytest.mark.parametrize("cursor", ["", "x", "-1", "1-", "1.5", "9" * 30])
def test_a_cursor_the_store_did_not_make_is_refused(
    ledger: Callable[..., BaseStore], cursor: str
) -> None:
    store = ledger()
    if not _feed_capable(ledger):
        return
    with pytest.raises(CursorError):
        store.changes(cursor)


@pytest.mark.redis
def test_the_redis_feed_delivers_every_change_once_across_a_restart(tmp_path: Path) -> None:
    require_redis_binaries()
    server = RedisServer(tmp_path / "redis").start()  # appendonly, appendfsync always
    try:
        store = RedisStore(server.url, prefix="restart", timeout=1.0, retries=3)
        first = [make_record(f"r{i}", at=T + i) for i in range(30)]
        for r in first:
            store.append(r)
        page = store.changes(limit=20)
        assert [c.record for c in page.changes] == first[:20]
        cursor = page.next

        server.kill()  # SIGKILL: no shutdown save; the append-only file is all there is
        server.start()

        for r in (second := [make_record(f"r{i}", at=T + 100 + i) for i in range(15)]):
            store.append(r)
        delivered = []
        while page := store.changes(cursor, limit=7):
            if not page.changes:
                break
            delivered += [c.record for c in page.changes]
            cursor = page.next
        assert delivered == first[20:] + second
        # and nothing again from the last cursor
        assert store.changes(cursor).changes == []
        store.close()
    finally:
        server.stop()


def test_new_record_ids_stay_distinct_for_the_feed() -> None:
    # feed entries of two records written in the same millisecond are told apart by id
    assert new_record_id(T) != new_record_id(T)
