"""The ledger contract, run against every store (memory, SQLite, Redis, Redis Cluster,
Django's ORM); ``store_from_url``. The Redis stores run against servers started by
:mod:`support.redis_servers`; each test gets its own key prefix; the Django store runs
on the tests' Django site (:mod:`support.django_site`), its tables emptied per test."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
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
from consent_mw.stores import STATUTORY_HOLD_KINDS, Event, RedisStore
from consent_mw.stores.base import BaseStore, new_record_id
from support.redis_servers import (  # noqa: F401  (session fixtures used through getfixturevalue)
    RedisServer,
    cluster_url,
    redis_cluster_nodes_fixture,
    redis_standalone_fixture,
)

_sequence = iter(range(1, 10**9))
V1 = Path(__file__).parent / "fixtures" / "v1"


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


STORES = [
    "memory",
    "sqlite",
    "sqlite-memory",
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("redis-cluster", marks=pytest.mark.redis),
    "django",
]


@pytest.fixture(params=STORES)
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], BaseStore]]:
    """A store factory; closes what it opened. Every call shares the same data."""
    opened: list[BaseStore] = []
    url = None
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_standalone")
        url = server.url
    elif request.param == "redis-cluster":
        url = cluster_url(request.getfixturevalue("redis_cluster_nodes"))
    prefix = f"t{uuid.uuid4().hex[:12]}"
    if request.param == "django":
        from support.django_site import empty_ledger

        empty_ledger()

    def make() -> BaseStore:
        store: BaseStore
        if request.param == "django":
            from consent_mw.django.store import DjangoStore

            store = DjangoStore()
        elif url is not None:
            store = RedisStore(url, prefix=prefix)
        elif request.param == "memory":
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


def event(
    subject: str | None = "subject-a",
    *,
    at: float | None = None,
    kind: str = "page",
    user: str | None = None,
    ttl: float = 3600.0,
    **extra: Any,
) -> Event:
    when = time.time() if at is None else at
    return Event(
        time=when,
        kind=kind,
        purpose="necessary",
        expires_at=when + ttl,
        path=f"/p/{next(_sequence)}",
        status=200,
        ip="203.0.113.0",
        subject_id=subject,
        user_id=user,
        device={"type": "mobile", "os": "한글"},
        **extra,
    )


def deletion(subject: str) -> Record:
    return dataclasses.replace(record(subject), action="delete", choices={}, ip=None, extra={})


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

    def test_per_service_counts_move_exactly(self, make_store: Callable[[], BaseStore]) -> None:
        # The ledger of the release before per-service consent: records without services.
        old_records = [
            Record.from_json(line) for line in (V1 / "records.jsonl").read_text().splitlines()
        ]
        store = make_store()
        for old in sorted(old_records, key=lambda r: (r.time, r.record_id)):
            store.append(old)
        before = store.counts()
        assert before == store.recount()
        assert store.current(old_records[0].subject_id) == next(
            r
            for r in sorted(old_records, key=lambda r: (r.time, r.record_id), reverse=True)
            if r.subject_id == old_records[0].subject_id
        )
        meta = replace(
            record("a", advertising=False, analytics=True),
            services={"advertising": {"Meta": True, "TikTok": False}},
        )
        store.append(meta)
        # an old subject chooses per service: its old choices come off, the new go on
        subject = old_records[0].subject_id
        store.append(replace(meta, record_id=new_record_id(), subject_id=subject))
        counts = store.counts()
        assert counts[("1", "advertising/Meta", True)] == 2
        assert counts[("1", "advertising/TikTok", False)] == 2
        assert counts == store.recount()
        # a changes their mind: advertising whole; the per-service counters go
        store.append(replace(record("a", advertising=True, analytics=True)))
        counts = store.counts()
        assert counts[("1", "advertising/Meta", True)] == 1
        assert counts == store.recount()
        assert store.current("a") is not None and store.current("a").services == {}  # type: ignore[union-attr]
        assert store.history(subject)[0].services["advertising"] == {"Meta": True, "TikTok": False}

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

    # -- added with lookup, users, deletion and events ------------------------------------

    def test_retried_append_is_applied_once(self, make_store: Callable[[], BaseStore]) -> None:
        store = make_store()
        item = record("a", analytics=True)
        store.append(item)
        store.append(item)  # e.g. a client retry after a lost reply
        assert store.history("a") == [item]
        assert store.counts() == {("1", "analytics", True): 1}

    def test_history_limit_zero_and_bad_ids(self, make_store: Callable[[], BaseStore]) -> None:
        store = make_store()
        store.append(record("a"))
        assert store.history("a", limit=0) == []
        with pytest.raises(ValueError):
            store.current("")
        with pytest.raises(ValueError):
            store.append(record(""))

    @pytest.mark.parametrize("subject", ["a{b}c", "x}:cur", "%7B", "{", "한글-동의", "a b\\n"])
    def test_any_subject_id_is_its_own_key(
        self, make_store: Callable[[], BaseStore], subject: str
    ) -> None:
        store = make_store()
        mine, other = record(subject, analytics=True), record("a", analytics=False)
        store.append(mine)
        store.append(other)
        assert store.current(subject) == mine
        assert store.history(subject) == [mine]
        assert store.lookup([subject, "a"]) == {subject: mine, "a": other}
        assert store.counts() == {("1", "analytics", True): 1, ("1", "analytics", False): 1}

    def test_counts_filter_does_not_match_a_version_prefix(
        self, make_store: Callable[[], BaseStore]
    ) -> None:
        store = make_store()
        store.append(record("a", version="1", analytics=True))
        store.append(record("b", version="10", analytics=True))
        store.append(record("c", version="1:0", analytics=False))
        assert store.counts("1") == {("1", "analytics", True): 1}
        assert store.counts("10") == {("10", "analytics", True): 1}
        assert store.counts("1:0") == {("1:0", "analytics", False): 1}

    def test_lookup_in_one_batch(self, make_store: Callable[[], BaseStore]) -> None:
        store = make_store()
        subjects = [f"s{i}" for i in range(1205)]  # more than one chunk of any store
        appended = {}
        for index, subject in enumerate(subjects):
            if index % 3:
                appended[subject] = record(subject, analytics=index % 2 == 0)
                store.append(appended[subject])
        found = store.lookup(subjects + ["s1", "nobody"])
        assert list(found) == subjects + ["nobody"]  # asked order, duplicates once
        assert found == {s: appended.get(s) for s in subjects + ["nobody"]}
        assert store.lookup([]) == {}
        with pytest.raises(TypeError):
            store.lookup("s1")

    def test_users_link_subjects_across_devices(self, make_store: Callable[[], BaseStore]) -> None:
        store = make_store()
        assert store.subjects_of("user-1") == []
        assert store.by_user("user-1") is None
        phone, laptop = record("phone", analytics=True), record("laptop", analytics=False)
        store.append(phone)
        store.append(laptop)
        store.link_user("phone", "user-1")
        store.link_user("laptop", "user-1")
        store.link_user("tablet", "user-1")  # linked before any consent on that device
        store.link_user("laptop", "user-2")
        assert store.subjects_of("user-1") == ["tablet", "laptop", "phone"]
        store.link_user("phone", "user-1")  # logs in again on the phone
        assert store.subjects_of("user-1") == ["phone", "tablet", "laptop"]
        assert store.subjects_of("user-2") == ["laptop"]
        assert store.by_user("user-1") == laptop  # the most recent state wins
        later = record("phone", analytics=False, advertising=True)
        store.append(later)
        assert store.by_user("user-1") == later
        assert store.by_user("user-2") == laptop

    def test_delete_subject(self, make_store: Callable[[], BaseStore]) -> None:
        store = make_store()
        store.append(record("a", analytics=True, advertising=True))
        store.append(record("a", analytics=True, advertising=False))
        keep = record("b", analytics=True, advertising=False)
        store.append(keep)
        store.link_user("a", "user-1")
        store.link_user("b", "user-1")
        now = time.time()
        store.record_events(
            [
                event("a", at=now - 3),
                event("a", at=now - 2, kind="login", user="user-1"),
                event("a", at=now - 1, kind="device", user="user-1"),
                event("b", at=now),
            ]
        )
        proof = deletion("a")
        assert store.delete_subject("a", proof=proof) == 2 + 2  # records + events
        assert store.current("a") is None
        assert store.history("a") == [proof]
        assert store.lookup(["a", "b"]) == {"a": None, "b": keep}
        assert store.counts() == {("1", "analytics", True): 1, ("1", "advertising", False): 1}
        assert store.subjects_of("user-1") == ["b"]
        assert store.by_user("user-1") == keep
        # the login record is under a statutory hold; everything else of "a" is gone
        assert "login" in STATUTORY_HOLD_KINDS
        assert [e.kind for e in store.events("a")] == ["login"]
        assert [e.kind for e in store.events(user_id="user-1")] == ["login"]
        assert [e.subject_id for e in store.events()] == ["b", "a"]
        # deleting again removes nothing more; a new consent starts afresh
        assert store.delete_subject("a", proof=deletion("a")) == 1  # the first proof
        fresh = record("a", analytics=False)
        store.append(fresh)
        assert store.current("a") == fresh
        assert store.counts() == {
            ("1", "analytics", True): 1,
            ("1", "analytics", False): 1,
            ("1", "advertising", False): 1,
        }
        with pytest.raises(ValueError):
            store.delete_subject("a", proof=record("a"))  # not a "delete" record
        with pytest.raises(ValueError):
            store.delete_subject("a", proof=deletion("b"))

    def test_events_round_trip_and_filters(self, make_store: Callable[[], BaseStore]) -> None:
        store = make_store()
        now = time.time()
        first = event("a", at=now - 5, user="user-1", bot=True)
        second = event("a", at=now - 4)
        third = event(None, at=now - 3, user="user-1", kind="login")
        fourth = event(None, at=now - 2)
        fifth = event("b", at=now - 1, user="user-2")
        store.record_events([first, second, third])
        store.record_events([fourth, fifth])
        store.record_events([])
        assert store.events() == [fifth, fourth, third, second, first]
        assert store.events(limit=2) == [fifth, fourth]
        assert store.events(limit=0) == []
        assert store.events("a") == [second, first]
        assert store.events(user_id="user-1") == [third, first]
        assert store.events("a", user_id="user-1") == [first]
        assert store.events("a", user_id="user-2") == []
        assert store.events("nobody") == []

    def test_event_text_comes_back_as_it_went_in(self, make_store: Callable[[], BaseStore]) -> None:
        # Redis carries a batch's bodies inside one JSON argument (EVENT_ADD): every
        # character a path or a device fact may hold must survive both encodings.
        store = make_store()
        now = time.time()
        odd = '/공연/"quoted"\\back\tslash\x01\u2028/😀?q=a&b=<c>'
        sent = [
            dataclasses.replace(event("a", at=now - 2), path=odd),
            dataclasses.replace(
                event("a", at=now - 1), device={"model": 'Galaxy "S24" \\ 울트라', "n": 1.5}
            ),
        ]
        store.record_events(sent)
        assert store.events("a") == sent[::-1]

    def test_a_large_mixed_batch_is_stored_whole(self, make_store: Callable[[], BaseStore]) -> None:
        # More events per subject, user and global index than one Redis script takes.
        store = make_store()
        now = time.time()
        batch = [
            event(
                ("a", "b", None)[i % 3],
                at=now - 1000 + i * 0.5,
                user=("user-1", None)[i % 2],
            )
            for i in range(1200)
        ]
        store.record_events(batch)
        newest_first = batch[::-1]
        assert store.events(limit=5000) == newest_first
        assert store.events("a", limit=5000) == [e for e in newest_first if e.subject_id == "a"]
        assert store.events(user_id="user-1", limit=5000) == [
            e for e in newest_first if e.user_id == "user-1"
        ]
        assert len(store.events("b", limit=5000)) == 400

    def test_expired_events_are_never_returned(self, make_store: Callable[[], BaseStore]) -> None:
        store = make_store()
        now = time.time()
        live = event("a", at=now - 10)
        gone = event("a", at=now - 20, ttl=5)  # expired 15 s ago: never stored by Redis
        soon = event("a", at=now, ttl=0.4)
        store.record_events([gone, live, soon])
        assert store.events("a") == [soon, live]
        time.sleep(0.5)
        assert store.events("a") == [live]
        assert store.events() == [live]
        if isinstance(store, RedisStore):
            assert store.purge() == 0  # the keys' own expiry did the work
            assert store.purge(now + 7200) == 0
            assert store.events("a") == [live]  # Redis expires by the server's clock
        else:
            assert store.purge() == 2
            assert store.purge(now + 7200) == 1  # purge(now) takes the caller's clock
            assert store.events("a") == []

    def test_ping(self, make_store: Callable[[], BaseStore]) -> None:
        make_store().ping()

    def test_async_face_of_the_whole_protocol(self, make_store: Callable[[], BaseStore]) -> None:
        store = make_store()
        first, second = record("a", analytics=True), record("b", analytics=False)
        events = [event("a", user="user-1"), event("b")]
        proof = deletion("a")

        async def scenario() -> dict[str, Any]:
            await store.aappend(first)
            await store.aappend(second)
            await store.alink_user("a", "user-1")
            await store.arecord_events(events)
            await store.aping()
            seen = {
                "lookup": await store.alookup(["a", "b", "c"]),
                "counts": await store.acounts(),
                "counts_v": await store.acounts("2"),
                "subjects": await store.asubjects_of("user-1"),
                "by_user": await store.aby_user("user-1"),
                "events": await store.aevents(),
                "events_a": await store.aevents("a"),
                "events_u": await store.aevents(user_id="user-1", limit=1),
                "purged": await store.apurge(0.0),
            }
            seen["deleted"] = await store.adelete_subject("a", proof=proof)
            seen["after"] = (await store.acurrent("a"), await store.acounts())
            return seen

        seen = anyio.run(scenario)
        assert seen["lookup"] == {"a": first, "b": second, "c": None}
        assert seen["counts"] == {("1", "analytics", True): 1, ("1", "analytics", False): 1}
        assert seen["counts_v"] == {}
        assert seen["subjects"] == ["a"]
        assert seen["by_user"] == first
        assert seen["events"] == sorted(events, key=lambda e: e.time, reverse=True)
        assert seen["events_a"] == [events[0]]
        assert seen["events_u"] == [events[0]]
        assert seen["purged"] == 0
        assert seen["deleted"] == 2
        assert seen["after"] == (None, {("1", "analytics", False): 1})
        assert store.history("a") == [proof]  # the sync face reads what the async one wrote

    def test_sync_and_async_faces_see_the_same_data(
        self, make_store: Callable[[], BaseStore]
    ) -> None:
        store = make_store()
        first, second = record("a", analytics=True), record("a", advertising=True)
        store.append(first)

        async def read_then_write() -> tuple[Record | None, list[Record]]:
            seen = await store.acurrent("a"), await store.ahistory("a")
            await store.aappend(second)
            return seen

        assert asyncio.run(read_then_write()) == (first, [first])
        assert store.history("a") == [second, first]
        assert store.counts() == {("1", "advertising", True): 1}


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
    [
        "",
        "ledger.sqlite3",
        "sqlite://",
        "sqlite:///",
        "postgres://x",
        "redis+cluster://",
        "redis+cluster://host:port",
        "redis+cluster://h:7000/3",
        "redis+cluster://h:7000?nope=1",
    ],
)
def test_store_from_url_bad(url: str) -> None:
    with pytest.raises(ConfigError):
        store_from_url(url)
