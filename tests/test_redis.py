"""RedisStore specifics: URLs, key layout, round trips, failures, a kill -9 mid-run.

The shared contract (the same tests for every store) is in ``test_stores.py``; the
servers come from :mod:`support.redis_servers` (real ``redis-server`` processes on loopback).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.connection import Connection
from redis.crc import key_slot

from consent_mw import (
    ConfigError,
    ConsentMiddleware,
    Record,
    StoreError,
    StoreUnavailable,
    store_from_url,
)
from consent_mw.stores import Event, RedisStore
from consent_mw.stores._redis_keys import (
    EVENT_SHARDS,
    SLOTS,
    Keys,
    parse_counter_field,
    slot_tags,
)
from support.harness import get_each, lifespan_cycle, ok_app, sync_writes
from support.redis_servers import (  # noqa: F401  (session fixtures)
    HOST,
    RedisServer,
    cluster_url,
    free_port,
    redis_cluster_nodes_fixture,
    redis_standalone_fixture,
    require_redis_binaries,
)

_n = iter(range(1, 10**9))


def record(subject: str, **choices: bool) -> Record:
    n = next(_n)
    return Record(
        record_id=f"{n:012x}{uuid.uuid4().hex[:16]}",
        subject_id=subject,
        time=1_790_000_000.0 + n,
        policy_version="3",
        text_hash="cd" * 32,
        choices=choices or {"analytics": False},
        action="custom",
        source="banner",
        regime="gdpr",
    )


def prefix() -> str:
    return f"r{uuid.uuid4().hex[:12]}"


@pytest.fixture
def standalone(redis_standalone: RedisServer) -> Iterator[Callable[..., RedisStore]]:
    opened: list[RedisStore] = []

    def make(**options: Any) -> RedisStore:
        options.setdefault("prefix", prefix())
        store = RedisStore(redis_standalone.url, **options)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


# -- configuration (no server needed) ------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "cluster", "nodes"),
    [
        ("redis://localhost:6379/0", False, []),
        ("rediss://user:secret@redis.internal:6380/2", False, []),
        (
            "redis+cluster://10.0.0.1:7000,10.0.0.2:7001",
            True,
            [("10.0.0.1", 7000), ("10.0.0.2", 7001)],
        ),
        ("rediss+cluster://:pw@[::1]:7000,node-b", True, [("::1", 7000), ("node-b", 6379)]),
    ],
)
def test_store_from_url_builds_a_lazy_redis_store(
    url: str, cluster: bool, nodes: list[tuple[str, int]]
) -> None:
    store = store_from_url(url)  # nothing connects until the first operation
    assert isinstance(store, RedisStore)
    assert store.cluster is cluster
    assert store._nodes == nodes
    if url.startswith("rediss+cluster"):
        assert store._options["ssl"] is True and store._options["password"] == "pw"
    store.close()


@pytest.mark.parametrize(
    "options",
    [
        {"url": "http://localhost"},
        {"timeout": None},
        {"timeout": 0},
        {"connect_timeout": float("inf")},
        {"retries": -1},
        {"socket_timeout": None},
        {"retry": None},
        {"prefix": ""},
        {"prefix": "a{b"},
        {"url": "redis+cluster://h:7000?socket_timeout=1&nope=2"},
        {"url": "redis+cluster://h:port"},
    ],
    ids=repr,
)
def test_bad_options_fail_when_the_store_is_built(options: dict[str, Any]) -> None:
    url = options.pop("url", "redis://localhost:6379/0")
    with pytest.raises(ConfigError):
        RedisStore(url, **options)


def test_cluster_url_query_options() -> None:
    store = RedisStore("redis+cluster://h:7000/?socket_timeout=0.5&ssl_cert_reqs=none")
    assert store._options["socket_timeout"] == 0.5
    assert store._options["ssl_cert_reqs"] == "none"


def test_every_slot_has_a_counter_shard_tag_that_hashes_to_it() -> None:
    tags = slot_tags()
    assert len(tags) == SLOTS == len(set(tags))
    assert all(key_slot(f"x:{{{tag}}}:y".encode()) == slot for slot, tag in enumerate(tags))
    keys = Keys("cmw")
    for subject in ["a", "c0ffee", "a{b}c", "x}:cur", "한글", "%7B"]:
        slot = key_slot(keys.cur(subject).encode())
        assert {
            key_slot(k.encode())
            for k in (keys.hist(subject), keys.users(subject), keys.counters(subject))
        } == {slot}


def test_counter_fields_parse_back() -> None:
    assert parse_counter_field(b"1:1analytics:1") == ("1", "analytics", True)
    assert parse_counter_field(b"3:1:0a:b:0") == ("1:0", "a:b", False)
    assert parse_counter_field("2:v2광고:1".encode()) == ("v2", "광고", True)
    with pytest.raises(ValueError):
        parse_counter_field(b"1:1analytics")


# -- against a server -----------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.parametrize("kind", ["redis", "redis-cluster"])
def test_a_consent_change_is_one_round_trip(
    kind: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if kind == "redis":
        url = request.getfixturevalue("redis_standalone").url
    else:
        url = cluster_url(request.getfixturevalue("redis_cluster_nodes"))
    # Count writes to any socket: one per command, one per pipeline (a round trip each).
    sends = 0
    send = Connection.send_packed_command

    def counting(self: Connection, command: Any, check_health: bool = True) -> None:
        nonlocal sends
        sends += 1
        send(self, command, check_health)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(Connection, "send_packed_command", counting)
    store = RedisStore(url, prefix=prefix())
    try:
        for i in range(20):  # connect (to every node the subjects live on), load the script
            store.append(record(f"s{i}"))
        sends = 0
        changes = 200
        for i in range(changes):
            store.append(record(f"s{i % 20}", analytics=i % 3 == 0))
        assert sends == changes
        sends = 0
        store.lookup([f"s{i}" for i in range(20)])
        assert sends <= (1 if kind == "redis" else 3)  # one pipeline (per node)
    finally:
        store.close()


@pytest.mark.redis
def test_script_cache_flush_is_recovered(
    standalone: Callable[..., RedisStore], redis_standalone: RedisServer
) -> None:
    store = standalone()
    store.append(record("a", analytics=True))
    with redis_standalone.client() as admin:
        admin.script_flush()
    store.append(record("a", analytics=False))  # NOSCRIPT → SCRIPT LOAD → EVALSHA
    with redis_standalone.client() as admin:
        admin.script_flush()
    now = time.time()
    store.record_events([Event(now, "page", "necessary", now + 60, "/", 200, subject_id="a")])

    async def scenario() -> dict[tuple[str, str, bool], int]:
        with redis_standalone.client() as admin:
            admin.script_flush()
        await store.aappend(record("b", analytics=True))
        return await store.acounts()

    assert asyncio.run(scenario()) == {("3", "analytics", False): 1, ("3", "analytics", True): 1}
    assert [e.path for e in store.events("a")] == ["/"]


@pytest.mark.redis
def test_keys_of_one_subject_share_a_slot_and_events_carry_a_ttl(
    standalone: Callable[..., RedisStore], redis_standalone: RedisServer
) -> None:
    store = standalone()
    store.append(record("subject-x", analytics=True))
    store.link_user("subject-x", "user-7")
    now = time.time()
    store.record_events(
        [Event(now, "page", "necessary", now + 30, "/a", 200, subject_id="subject-x")]
    )
    with redis_standalone.client() as admin:
        keys = sorted(k.decode() for k in admin.scan_iter(f"{store.keys.prefix}:*"))
        subject_keys = [k for k in keys if k.startswith(store.keys.subject("subject-x"))]
        assert {k.rsplit(":", 1)[-1] for k in subject_keys} >= {"hist", "cur", "users", "evt"}
        slots = {key_slot(k.encode()) for k in subject_keys}
        slots.add(key_slot(store.keys.counters("subject-x").encode()))
        assert len(slots) == 1
        [body] = [k for k in subject_keys if ":ev:" in k]
        assert 28_000 < admin.pttl(body) <= 30_000  # PXAT expires_at
        for index in (":evt", ":eve"):
            assert 0 < admin.pttl(store.keys.subject("subject-x") + index) <= 30_000
        assert admin.ttl(store.keys.cur("subject-x")) == -1  # the ledger never expires


@pytest.mark.redis
def test_a_batch_of_events_is_indexed_in_one_shard(
    standalone: Callable[..., RedisStore], redis_standalone: RedisServer
) -> None:
    store = standalone()
    now = time.time()
    batch = [
        Event(now, "page", "necessary", now + 60, f"/{i}", 200, subject_id=f"s{i % 7}")
        for i in range(200)
    ]
    store.record_events(batch)
    store.record_events(batch[:3])
    with redis_standalone.client() as admin:
        shards = [store.keys.shard(n) + ":evt" for n in range(EVENT_SHARDS)]
        sizes = [admin.zcard(key) for key in shards]
    # One index of the sixteen written per batch (two batches: one or two indexes).
    assert sum(sizes) == 203 and 1 <= len([n for n in sizes if n]) <= 2
    assert len(store.events(limit=500)) == 203
    assert {e.path for e in store.events(subject_id="s3")} == {f"/{i}" for i in range(3, 200, 7)}


@pytest.mark.redis
def test_recorded_hits_are_written_on_the_event_loop_through_the_async_client(
    standalone: Callable[..., RedisStore],
) -> None:
    # ConsentMiddleware's recorder writes a full batch from a task on the server's loop
    # (redis.asyncio), and its lifespan shutdown waits for it.
    store = standalone()
    middleware = ConsentMiddleware(
        ok_app, policy="gdpr", secret_key="s" * 32, store=store, record_requests=True
    )
    middleware.recorder.batch_size = 3
    written = sync_writes(store)

    async def serve() -> None:
        sent: list[dict[str, Any]] = []
        await get_each(middleware, [f"/page/{index}" for index in range(3)], sent)
        await lifespan_cycle(middleware, sent)

    asyncio.run(serve())
    assert written == []
    assert sorted(e.path for e in store.events()) == [f"/page/{i}" for i in range(3)]
    assert middleware.recorder.written == 3


@pytest.mark.redis
def test_expired_events_leave_the_indexes(
    standalone: Callable[..., RedisStore], redis_standalone: RedisServer
) -> None:
    store = standalone()
    now = time.time()
    store.record_events([Event(now, "page", "necessary", now + 0.3, "/old", 200, user_id="u")])
    time.sleep(0.4)
    store.record_events([Event(now, "page", "necessary", now + 60, "/new", 200, user_id="u")])
    assert [e.path for e in store.events(user_id="u")] == ["/new"]
    with redis_standalone.client() as admin:
        index = store.keys.user("u") + ":evt"
        assert admin.zcard(index) == 1  # the expired entry was trimmed by the write


@pytest.mark.redis
def test_async_clients_close_with_their_event_loop(standalone: Callable[..., RedisStore]) -> None:
    store = standalone()

    async def use() -> Record | None:
        await store.aappend(record("a"))
        return await store.acurrent("a")

    for _ in range(3):  # a fresh loop each time: no client leaks from one to the next
        assert asyncio.run(use()) is not None
        assert store._aclients == {}

    async def use_and_close() -> int:
        await store.acurrent("a")
        opened = len(store._aclients)
        await store.aclose()
        return opened - len(store._aclients)

    assert asyncio.run(use_and_close()) == 1


@pytest.mark.redis
def test_concurrent_first_async_calls_on_a_cluster(redis_cluster_nodes: list[RedisServer]) -> None:
    store = RedisStore(cluster_url(redis_cluster_nodes), prefix=prefix())

    async def burst() -> None:
        await asyncio.gather(*(store.aappend(record(f"s{i}", analytics=True)) for i in range(50)))

    try:
        asyncio.run(burst())
        assert store.counts() == {("3", "analytics", True): 50}
    finally:
        store.close()


@pytest.mark.redis
def test_cluster_spreads_subjects_over_every_node(redis_cluster_nodes: list[RedisServer]) -> None:
    store = RedisStore(cluster_url(redis_cluster_nodes), prefix=prefix())
    try:
        expected: Counter[tuple[str, str, bool]] = Counter()
        for i in range(300):
            granted = i % 4 == 0
            store.append(record(f"subject-{i}", analytics=granted))
            expected[("3", "analytics", granted)] += 1
        for server in redis_cluster_nodes:
            with server.client() as node:
                assert node.dbsize() > 0
        assert store.counts() == dict(expected)
    finally:
        store.close()


@pytest.mark.redis
def test_more_threads_than_connections_wait_for_one(standalone: Callable[..., RedisStore]) -> None:
    store = standalone(max_connections=2)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            for round_ in range(25):
                store.append(record(f"t{index}", analytics=round_ % 2 == 0))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert store.counts() == {("3", "analytics", True): 8}  # round 24 granted


# -- failures ----------------------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.parametrize("scheme", ["redis", "redis+cluster"])
def test_nothing_listening_is_unavailable(scheme: str) -> None:
    port = free_port()
    suffix = "/0" if scheme == "redis" else ""
    store = RedisStore(f"{scheme}://{HOST}:{port}{suffix}", timeout=0.5, connect_timeout=0.5)
    started = time.monotonic()
    calls: list[Callable[[], object]] = [
        lambda: store.append(record("a")),
        lambda: store.current("a"),
        lambda: store.lookup(["a", "b"]),
        lambda: store.counts(),
        lambda: store.ping(),
        lambda: store.record_events([]),  # nothing to write: no I/O, no error
    ]
    for call in calls[:-1]:
        with pytest.raises(StoreUnavailable):
            call()
    calls[-1]()
    with pytest.raises(StoreUnavailable):
        asyncio.run(store.aappend(record("a")))
    assert time.monotonic() - started < 20
    store.close()


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers: only a timeout ends a request."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((HOST, 0))
    listener.listen(16)
    listener.settimeout(0.1)
    accepted: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        done.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        listener.close()


@pytest.mark.redis
def test_a_server_that_never_answers_times_out() -> None:
    with silent_server() as port:
        store = RedisStore(f"redis://{HOST}:{port}/0", timeout=0.3, retries=1)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            store.append(record("a"))
        elapsed = time.monotonic() - started
        with pytest.raises(StoreUnavailable):
            asyncio.run(store.acurrent("a"))
        store.close()
    assert 0.3 <= elapsed < 3.0  # (1 + retries) x timeout + a short backoff, never forever


@pytest.mark.redis
def test_other_redis_errors_are_store_errors(
    standalone: Callable[..., RedisStore], redis_standalone: RedisServer
) -> None:
    store = standalone()
    with redis_standalone.client() as admin:
        admin.set(store.keys.cur("a"), "not json")
    with pytest.raises(StoreError) as caught:
        store.append(record("a"))
    assert not isinstance(caught.value, StoreUnavailable)


# -- kill -9 in the middle of a run -------------------------------------------------------------


@pytest.mark.redis
def test_every_acknowledged_change_survives_kill_9(
    tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    require_redis_binaries()
    server = RedisServer(tmp_path / "fault")  # appendonly yes, appendfsync always
    subjects = [f"subject-{i}" for i in range(40)]
    acknowledged: list[Record] = []
    refused = 0
    stop = threading.Event()
    rng = random.Random(7)

    with server:
        store = RedisStore(server.url, prefix="fault", timeout=0.5, connect_timeout=0.5)

        def writer() -> None:
            nonlocal refused
            deadline = time.monotonic() + 20  # bounded whatever happens
            while not stop.is_set() and time.monotonic() < deadline:
                item = record(
                    rng.choice(subjects),
                    analytics=rng.random() < 0.5,
                    advertising=rng.random() < 0.3,
                )
                try:
                    store.append(item)
                except StoreUnavailable:
                    refused += 1  # not acknowledged: may or may not be in the ledger
                    time.sleep(0.005)
                else:
                    acknowledged.append(item)

        def wait_for(count: int) -> None:
            deadline = time.monotonic() + 10
            while len(acknowledged) < count and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(acknowledged) >= count, "the writer stalled"

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            wait_for(500)
            server.kill()  # SIGKILL mid-run: no shutdown, no last fsync
            before = len(acknowledged)
            time.sleep(0.5)  # the outage: the writer's changes are refused meanwhile
            refused_in_outage = refused
            server.start()  # same port, same directory: Redis replays its AOF
            wait_for(before + 500)  # the store reconnected by itself
        finally:
            stop.set()
            thread.join(30)
        assert not thread.is_alive()

        histories = {s: store.history(s, limit=1_000_000) for s in subjects}
        in_ledger = {r.record_id for history in histories.values() for r in history}
        lost = [r for r in acknowledged if r.record_id not in in_ledger]
        current = store.lookup(subjects)
        recount: Counter[tuple[str, str, bool]] = Counter()
        for subject, state in current.items():
            if histories[subject]:
                assert state == histories[subject][0]  # the state is the newest proof
            if state is not None:
                for category, granted in state.choices.items():
                    recount[(state.policy_version, category, granted)] += 1
        counts = store.counts()
        store.close()

    figures = {
        "acknowledged": len(acknowledged),
        "acknowledged_before_kill": before,
        "refused": refused,
        "refused_during_outage": refused_in_outage,
        "found_in_ledger": len(in_ledger),
        "lost": len(lost),
    }
    for name, value in figures.items():
        record_property(name, value)
    print("kill -9 fault test:", figures)
    assert refused_in_outage > 0  # the outage was real
    assert lost == []
    assert len(in_ledger) >= len(acknowledged)  # unacknowledged writes may have landed too
    assert counts == {k: n for k, n in recount.items() if n}


def test_event_ids_are_unique_spread_over_the_shards_and_new_in_a_forked_worker() -> None:
    ids = [Keys.event_id(1_700_000_000.0) for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert {Keys.shard_of(i) for i in ids} == set(range(EVENT_SHARDS))  # spread evenly
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a worker forked after the parent made ids (gunicorn --preload)
        os.write(write, Keys.event_id(1_700_000_000.0).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    os.close(write)
    mine = Keys.event_id(1_700_000_000.0)
    # Same millisecond, same parent counter: without a reseed the two would be equal.
    assert child[:12] == mine[:12] and child != mine


def test_event_ids_of_one_shard_are_in_it_and_unique_among_all() -> None:
    spread = [Keys.event_id(1_700_000_000.0) for _ in range(500)]
    batch = [Keys.event_id(1_700_000_000.0, 5) for _ in range(500)]
    assert {Keys.shard_of(i) for i in batch} == {5}
    assert len(set(spread + batch)) == 1000
