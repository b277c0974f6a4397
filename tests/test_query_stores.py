"""What the query surface needs from every store: history pages, a walk over every current
state, a recount, the access log — and, on Redis, counters that answer in one command."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from redis.connection import Connection

from consent_mw.stores import AccessEntry, CursorError, RedisStore
from consent_mw.stores.base import BaseStore
from support.query import NOW, make_record
from support.query import ledger_fixture as ledger_fixture  # noqa: F401  (fixture)
from support.redis_servers import (  # noqa: F401  (session fixtures)
    RedisServer,
    cluster_url,
    redis_cluster_nodes_fixture,
    redis_standalone_fixture,
)

Ledger = Callable[..., BaseStore]


def walk(store: BaseStore, count: int) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(100_000):  # bounded: a walk must end
        batch = store.scan_current(cursor, count=count)
        assert [r.subject_id for r in batch.records] == sorted(r.subject_id for r in batch.records)
        seen += [r.subject_id for r in batch.records]
        if batch.next is None:
            return seen
        cursor = batch.next
    raise AssertionError("the walk did not end")


# -- history pages -----------------------------------------------------------------------


def test_history_pages_are_newest_first_and_survive_appends(ledger: Ledger) -> None:
    store = ledger()
    for i in range(7):
        store.append(make_record("h", at=NOW + i, analytics=i % 2 == 0))
    first = store.history_page("h", limit=3)
    assert [r.time for r in first.records] == [NOW + 6, NOW + 5, NOW + 4]
    assert first.more and first.next is not None
    store.append(make_record("h", at=NOW + 100))  # a new record between two pages
    second = store.history_page("h", limit=3, before=first.next)
    assert [r.time for r in second.records] == [NOW + 3, NOW + 2, NOW + 1]
    third = store.history_page("h", limit=3, before=second.next)
    assert [r.time for r in third.records] == [NOW]
    assert not third.more and third.next is None
    # a position resumes after any record of a page, not only the last
    middle = store.history_page("h", limit=2, before=first.positions[0])
    assert [r.time for r in middle.records] == [NOW + 5, NOW + 4]


def test_history_page_edges(ledger: Ledger) -> None:
    store = ledger()
    assert store.history_page("nobody", limit=5).records == []
    store.append(make_record("e"))
    assert store.history_page("e", limit=0).records == []
    whole = store.history_page("e", limit=5)
    assert len(whole.records) == 1 and not whole.more
    with pytest.raises(CursorError):
        store.history_page("e", limit=5, before="not-a-position")
    with pytest.raises(ValueError):
        store.history_page("", limit=5)


# -- the walk over current states ------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 7, 1000])
def test_a_walk_returns_every_subject_once(ledger: Ledger, count: int) -> None:
    store = ledger()
    subjects = [f"s{i:03d}" for i in range(150)] + ["a{b}c", "한글", "x}:cur", "%7B", "p*q?[r]"]
    for subject in subjects:
        store.append(make_record(subject))
        store.append(make_record(subject, advertising=True))  # history of two, state of one
    seen = walk(store, count)
    assert sorted(seen) == sorted(subjects)


def test_a_walk_over_an_empty_ledger(ledger: Ledger) -> None:
    # (a Redis walk over a shared server may take several empty batches to say so)
    assert walk(ledger(), 10) == []


def test_a_walk_skips_erased_subjects_and_other_ledgers_keys(ledger: Ledger) -> None:
    store = ledger()
    for i in range(20):
        store.append(make_record(f"s{i}"))
    proof = make_record("s3", action="delete", choices={})
    store.delete_subject("s3", proof=proof)
    store.link_user("s4", "user-1")
    assert sorted(walk(store, 5)) == sorted(f"s{i}" for i in range(20) if i != 3)


def test_keyset_cursors_resume_after_any_record(ledger: Ledger) -> None:
    store = ledger()
    for i in range(30):
        store.append(make_record(f"k{i:02d}"))
    batch = store.scan_current(None, count=10)
    if not batch.keyset:
        with pytest.raises(CursorError):
            batch.after(make_record("k00"))
        assert batch.start is not None
        return
    rest = store.scan_current(batch.after(batch.records[3]), count=100)
    assert [r.subject_id for r in rest.records] == [f"k{i:02d}" for i in range(4, 30)]


@pytest.mark.redis
def test_a_redis_cursor_is_checked(redis_standalone: RedisServer) -> None:
    store = RedisStore(redis_standalone.url, prefix=f"cur{time.time_ns()}")
    try:
        for bad in ["x", "1", "a:b", "0:-1", "9" * 50]:
            with pytest.raises(CursorError):
                store.scan_current(bad)
    finally:
        store.close()


def test_recount_matches_the_counters(ledger: Ledger) -> None:
    store = ledger()
    rng = random.Random(7)
    for _ in range(300):
        subject = f"r{rng.randrange(60)}"
        store.append(
            make_record(
                subject,
                version=rng.choice(["1", "2"]),
                advertising=rng.random() < 0.5,
                analytics=rng.random() < 0.3,
            )
        )
    store.delete_subject("r1", proof=make_record("r1", action="delete", choices={}))
    assert store.recount() == store.counts()
    assert store.recount("2") == store.counts("2")


def test_async_faces_of_the_query_methods(ledger: Ledger) -> None:
    store = ledger()
    for i in range(5):
        store.append(make_record(f"a{i}", at=NOW + i))
    store.append(make_record("a0", at=NOW + 10))

    async def scenario() -> None:
        page = await store.ahistory_page("a0", limit=1)
        assert page.records[0].time == NOW + 10 and page.more
        batch = await store.ascan_current(None, count=1000)
        seen = [r.subject_id for r in batch.records]
        cursor = batch.next
        while cursor is not None:
            batch = await store.ascan_current(cursor, count=1000)
            seen += [r.subject_id for r in batch.records]
            cursor = batch.next
        assert sorted(seen) == [f"a{i}" for i in range(5)]
        await store.alog_access(AccessEntry(NOW, "async", "stats", "python"))
        assert [e.actor for e in await store.aaccess_log(5)] == ["async"]
        if hasattr(store, "aclose"):
            await store.aclose()

    asyncio.run(scenario())


# -- the access log ------------------------------------------------------------------------


def test_access_log_is_newest_first_and_durable(ledger: Ledger) -> None:
    store = ledger()
    for i in range(5):
        store.log_access(
            AccessEntry(
                NOW + i,
                f"actor-{i}",
                "lookup",
                "http",
                {"ids": ["a", "한글"]},
                token_id="abcdef012345",
                scope="read",
                route="POST /lookup",
            )
        )
    entries = store.access_log(3)
    assert [e.actor for e in entries] == ["actor-4", "actor-3", "actor-2"]
    assert entries[0].params == {"ids": ["a", "한글"]} and entries[0].route == "POST /lookup"
    assert store.access_log(0) == []
    again = ledger()  # another instance over the same data (SQLite file, Redis keys)
    assert [e.actor for e in again.access_log(10)] == [f"actor-{i}" for i in range(4, -1, -1)]


@pytest.mark.redis
def test_redis_access_log_is_a_capped_stream(redis_standalone: RedisServer) -> None:
    store = RedisStore(redis_standalone.url, prefix=f"cap{time.time_ns()}", access_log_max=1000)
    try:
        for i in range(3000):
            store.log_access(AccessEntry(NOW + i, "a", "stats", "cli"))
        with redis_standalone.client() as admin:
            assert admin.type(store.keys.access()) == b"stream"
            assert 1000 <= admin.xlen(store.keys.access()) < 1200  # MAXLEN ~ trims whole nodes
        assert store.access_log(1)[0].time == NOW + 2999
    finally:
        store.close()


# -- Redis counters: one command on a single server, exact everywhere --------------------------


@pytest.mark.redis
def test_counts_on_a_single_server_read_one_hash(
    redis_standalone: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RedisStore(redis_standalone.url, prefix=f"one{time.time_ns()}")
    try:
        store.append(make_record("a", advertising=True))
        store.counts()  # builds the total once
        sends = 0
        send = Connection.send_packed_command

        def counting(self: Connection, command: object, check_health: bool = True) -> None:
            nonlocal sends
            sends += 1
            send(self, command, check_health)  # type: ignore[no-untyped-call]

        monkeypatch.setattr(Connection, "send_packed_command", counting)
        assert store.counts() == {
            ("2026-11", "functional", True): 1,
            ("2026-11", "analytics", False): 1,
            ("2026-11", "advertising", True): 1,
        }
        assert sends == 1
    finally:
        store.close()


@pytest.mark.redis
def test_the_total_is_rebuilt_exactly_when_missing(redis_standalone: RedisServer) -> None:
    store = RedisStore(redis_standalone.url, prefix=f"tot{time.time_ns()}")
    rng = random.Random(3)
    expected: Counter[tuple[str, str, bool]] = Counter()
    try:
        for i in range(200):
            store.append(make_record(f"t{i % 50}", advertising=rng.random() < 0.5))
        assert store.counts() == store.recount()
        with redis_standalone.client() as admin:
            admin.delete(store.keys.total())  # a ledger written before the total existed
        for i in range(30):  # changes while it is missing do not touch it…
            store.append(make_record(f"t{i}", analytics=True))
        # … and the rebuild sums the shards, which saw every change
        for record in store.iter_current():
            for category, granted in record.choices.items():
                expected[(record.policy_version, category, granted)] += 1
        assert store.counts() == dict(expected) == store.recount()
        with redis_standalone.client() as admin:
            assert admin.hget(store.keys.total(), "#") == b"1"
    finally:
        store.close()


@pytest.mark.redis
@pytest.mark.parametrize("kind", ["redis", "redis-cluster"])
def test_append_many_is_as_exact_as_append(kind: str, request: pytest.FixtureRequest) -> None:
    if kind == "redis":
        url = request.getfixturevalue("redis_standalone").url
    else:
        url = cluster_url(request.getfixturevalue("redis_cluster_nodes"))
    store = RedisStore(url, prefix=f"many{time.time_ns()}")
    try:
        records = [make_record(f"m{i % 400}", advertising=i % 3 == 0) for i in range(1000)]
        assert store.append_many(records, chunk=128) == 1000
        assert store.append_many(records[-5:]) == 0  # retried: already current
        assert store.counts() == store.recount()
        assert sum(n for (_, c, _), n in store.counts().items() if c == "advertising") == 400
        assert len(store.history("m0", limit=10)) == 3
    finally:
        store.close()


def test_the_sqlite_access_log_is_capped(tmp_path: Path) -> None:
    from consent_mw import ConfigError, SQLiteStore

    store = SQLiteStore(tmp_path / "ledger.sqlite3", access_log_max=1000)
    for n in range(2500):
        store.log_access(
            AccessEntry(time=NOW + n, actor="ads", action="stats", via="python", params={"n": n})
        )
    kept = store.access_log(limit=5000)
    assert 1000 <= len(kept) <= 2000
    assert kept[0].params == {"n": 2499}  # newest first, the newest kept
    with pytest.raises(ConfigError):
        SQLiteStore(tmp_path / "other.sqlite3", access_log_max=10)
