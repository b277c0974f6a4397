"""The consent-gated recorder: what each decision lets it keep, for how long, and how
it behaves when its queue is full or the ledger is down. First the ``Recorder`` on
its own (``flush()`` by hand, no sleeps), then through both middlewares."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from consent_mw import (
    ConsentMiddleware,
    MemoryStore,
    Policy,
    StoreUnavailable,
    WSGIConsentMiddleware,
)
from consent_mw.core.device import DeviceParser
from consent_mw.core.recorder import LOGIN_RETENTION_DAYS, Hit, Recorder
from consent_mw.policy.presets import preset_dict
from consent_mw.stores.base import Event
from support.harness import (
    SECRET,
    get_each,
    http_scope,
    lifespan_cycle,
    ok_app,
    run_asgi,
    sync_writes,
)
from support.html_apps import (
    ANDROID_PHONE,
    GOOGLEBOT,
    IPAD,
    WINDOWS_CHROME,
    AppRequest,
    Harness,
    Reply,
    build,
)
from support.user_agents import AUTOMATED

DAY = 86400.0
NOW = 1_767_225_600.0  # 2026-01-01 00:00 UTC
NECESSARY = frozenset({"necessary"})
ANALYTICS = frozenset({"necessary", "analytics"})
ADVERTISING = frozenset({"necessary", "advertising"})
EVERYTHING = frozenset({"necessary", "functional", "analytics", "advertising"})


@pytest.fixture(scope="module")
def parser() -> DeviceParser:
    return DeviceParser()


@pytest.fixture
def make_recorder(parser: DeviceParser) -> Iterator[Any]:
    """``make_recorder(store, **options)``: a recorder whose worker never wakes by itself
    on a timer (the tests flush by hand); closed at the end. ``worker=False``: no worker
    thread at all, for a test that counts what each ``flush()`` wrote (a full batch
    would wake the worker, which could write it first)."""
    made: list[Recorder] = []

    def make(
        store: Any = None, policy: Policy | None = None, *, worker: bool = True, **options: Any
    ) -> Recorder:
        options.setdefault("interval", 3600)
        recorder = Recorder(
            MemoryStore() if store is None else store,
            policy or Policy.preset("gdpr"),
            parser=lambda: parser,
            **options,
        )
        if not worker:
            recorder._start = lambda: None  # type: ignore[method-assign]
        made.append(recorder)
        return recorder

    yield make
    for recorder in made:
        recorder._closed = True
        recorder._wake.set()


def hit(
    allowed: frozenset[str] = NECESSARY,
    *,
    user_agent: str | None = ANDROID_PHONE,
    ip: str | None = "203.0.113.57",
    path: str = "/shop",
    status: int = 200,
    when: float = NOW,
    kind: str = "request",
    subject_id: str | None = "subject-1",
    user_id: str | None = None,
    device_id: str | None = None,
) -> Hit:
    return Hit(
        time=when,
        kind=kind,
        path=path,
        status=status,
        ip=ip,
        user_agent=user_agent,
        allowed=allowed,
        subject_id=subject_id,
        user_id=user_id,
        device_id=device_id,
    )


def add_hits(recorder: Recorder, indexes: range, when: float) -> None:
    """Hits on ``/0``, ``/1``, … (no user agent: one event each)."""
    for index in indexes:
        recorder.add(hit(path=f"/{index}", when=when, user_agent=None))


def by_kind(events: Sequence[Event]) -> dict[str, Event]:
    found = {e.kind: e for e in events}
    assert len(found) == len(events), events
    return found


# -- minimisation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "kept"),
    [
        ("203.0.113.57", "203.0.113.0"),
        ("2001:db8:1:2::1", "2001:db8:1::"),
        ("::ffff:198.51.100.9", "198.51.100.0"),
        (None, None),
        ("garbage", None),
    ],
)
def test_no_consent_leaves_only_the_necessary_event(
    make_recorder: Any, ip: str | None, kept: str | None
) -> None:
    recorder = make_recorder()
    [event] = recorder.events(hit(ip=ip, device_id="dev-1"))
    assert event == Event(
        time=NOW,
        kind="request",
        purpose="necessary",
        expires_at=NOW + 90 * DAY,
        path="/shop",
        status=200,
        ip=kept,
        subject_id="subject-1",
        user_id=None,
        bot=False,
        device={},
    )


@pytest.mark.parametrize(
    ("user_agent", "facts"),
    [
        (ANDROID_PHONE, {"type": "mobile", "model": "SM-S918N", "os": "Android"}),
        (IPAD, {"type": "tablet", "model": "iPad", "os": "iOS", "browser": "Mobile Safari"}),
        (WINDOWS_CHROME, {"type": "pc", "model": None, "os": "Windows", "browser": "Chrome"}),
    ],
)
def test_analytics_adds_a_device_event(
    make_recorder: Any, user_agent: str, facts: dict[str, Any]
) -> None:
    recorder = make_recorder()
    events = by_kind(list(recorder.events(hit(ANALYTICS, user_agent=user_agent, device_id="d"))))
    assert set(events) == {"request", "device"}
    device = events["device"]
    assert device.purpose == "analytics"
    assert device.ip is None  # the network fact stays in the necessary event only
    assert (device.path, device.status, device.subject_id) == ("/shop", 200, "subject-1")
    for key, value in facts.items():
        assert device.device[key] == value, key
    assert "device_id" not in device.device
    assert events["request"].device == {}


def test_analytics_without_a_user_agent_has_no_device_event(make_recorder: Any) -> None:
    recorder = make_recorder()
    for user_agent in (None, "", "\x00\x01"):
        assert [e.kind for e in recorder.events(hit(ANALYTICS, user_agent=user_agent))] == [
            "request"
        ]


def test_advertising_with_a_device_id_adds_an_ad_device_event(make_recorder: Any) -> None:
    recorder = make_recorder()
    events = by_kind(list(recorder.events(hit(ADVERTISING, device_id="dev-42"))))
    assert set(events) == {"request", "ad_device"}
    ad = events["ad_device"]
    assert ad.purpose == "advertising"
    assert ad.device == {"device_id": "dev-42"}
    assert ad.ip is None
    everything = by_kind(list(recorder.events(hit(EVERYTHING, device_id="dev-42"))))
    assert set(everything) == {"request", "device", "ad_device"}
    assert "device_id" not in everything["device"].device


def test_advertising_without_a_device_id(make_recorder: Any) -> None:
    recorder = make_recorder()
    assert [e.kind for e in recorder.events(hit(ADVERTISING))] == ["request"]


@pytest.mark.parametrize(
    "user_agent",
    [
        GOOGLEBOT,
        "Mozilla/5.0 (compatible; Yeti/1.1; +http://naver.me/spd)",
        "curl/8.4.0",
        AUTOMATED["UptimeRobot"],
        AUTOMATED["Scrapy"],
        AUTOMATED["archive.org_bot"],
        AUTOMATED["W3C-checklink"],
        AUTOMATED["HeadlessChrome"],
        "TLSProber/0.9",  # ua-parser's crawler list names it, the patterns do not
    ],
)
def test_bots_are_flagged_and_not_profiled(make_recorder: Any, user_agent: str) -> None:
    recorder = make_recorder()
    [event] = recorder.events(hit(EVERYTHING, user_agent=user_agent, device_id="dev-1"))
    assert event.bot is True
    assert event.purpose == "necessary" and event.device == {}


def test_exclude_paths(make_recorder: Any) -> None:
    recorder = make_recorder(exclude_paths=["/health", "/static/"])
    assert not recorder.wants("/health")
    assert not recorder.wants("/healthz")  # a prefix, as documented
    assert not recorder.wants("/static/app.js")
    assert recorder.wants("/shop")
    assert make_recorder().wants("/health")


# -- hashed IPs ----------------------------------------------------------------------------


def test_hashed_ip_is_salted_and_stable_within_a_day(make_recorder: Any) -> None:
    recorder = make_recorder(ip_mode="hash")

    def ip_of(ip: str | None, when: float) -> str | None:
        return next(iter(recorder.events(hit(ip=ip, when=when)))).ip

    morning = ip_of("203.0.113.57", NOW + 3600)
    assert morning is not None and morning.startswith("h:")
    assert "203.0.113" not in morning
    assert ip_of("203.0.113.57", NOW + 20 * 3600) == morning
    assert ip_of("203.0.113.58", NOW + 3600) != morning  # the full IP, not the /24
    assert ip_of("203.0.113.57", NOW + DAY + 3600) != morning  # a new salt the next day
    assert ip_of(None, NOW) is None
    # Another recorder (another process) has its own salt.
    other = make_recorder(ip_mode="hash")
    assert next(iter(other.events(hit(when=NOW + 3600)))).ip != morning


# -- retention -----------------------------------------------------------------------------


def policy_with_retention() -> Policy:
    data = preset_dict("gdpr")
    days = {"necessary": 30, "analytics": 400, "advertising": 180}
    for category in data["categories"]:
        if category["id"] in days:
            category["retention_days"] = days[category["id"]]
    return Policy.from_dict(data)


def test_expiry_follows_each_purposes_retention(make_recorder: Any) -> None:
    recorder = make_recorder(policy=policy_with_retention())
    events = by_kind(list(recorder.events(hit(EVERYTHING, device_id="dev-1"))))
    assert events["request"].expires_at == NOW + 30 * DAY
    assert events["device"].expires_at == NOW + 400 * DAY
    assert events["ad_device"].expires_at == NOW + 180 * DAY


def test_default_retention_is_90_days(make_recorder: Any) -> None:
    events = by_kind(list(make_recorder().events(hit(EVERYTHING, device_id="dev-1"))))
    assert {e.expires_at for e in events.values()} == {NOW + 90 * DAY}


@pytest.mark.parametrize("policy", [None, "retention"])
def test_login_records_are_kept_91_days(make_recorder: Any, policy: str | None) -> None:
    recorder = make_recorder(policy=policy_with_retention() if policy else None)
    [event] = recorder.events(hit(kind="login", user_id="alice"))
    assert LOGIN_RETENTION_DAYS == 91
    assert event.kind == "login" and event.user_id == "alice"
    assert event.expires_at == NOW + 91 * DAY


# -- the queue -----------------------------------------------------------------------------


def test_add_then_flush_writes_to_the_store(make_recorder: Any) -> None:
    store = MemoryStore()
    recorder = make_recorder(store)
    now = time.time()
    recorder.add(hit(ANALYTICS, when=now))
    recorder.add(hit(when=now + 1, path="/cart"))
    assert recorder.flush() == 3
    assert recorder.written == 3
    assert [(e.kind, e.path) for e in store.events()] == [
        ("request", "/cart"),
        ("device", "/shop"),
        ("request", "/shop"),
    ]
    assert recorder.flush() == 0


def test_full_queue_counts_dropped_hits(make_recorder: Any) -> None:
    store = MemoryStore()
    recorder = make_recorder(store, max_queue=3)
    now = time.time()
    for index in range(5):
        recorder.add(hit(path=f"/{index}", when=now + index))
    assert recorder.dropped == 2
    assert recorder.flush() == 3
    assert sorted(e.path for e in store.events()) == ["/0", "/1", "/2"]
    recorder.add(hit(path="/5", when=now + 5))  # room again
    assert recorder.flush() == 1
    assert recorder.dropped == 2


def test_full_link_and_note_queues_count_too(make_recorder: Any) -> None:
    recorder = make_recorder(max_queue=1)
    recorder.link("s1", "alice")
    recorder.link("s2", "alice")
    note = Event(
        time=NOW,
        kind="cookie_audit",
        purpose="necessary",
        expires_at=NOW + DAY,
        path="/",
        status=200,
    )
    recorder.note(note)
    recorder.note(note)
    assert recorder.dropped == 2


class FlakyStore(MemoryStore):
    """``record_events`` raises StoreUnavailable while ``down`` (or on the listed calls)."""

    def __init__(self, fail_calls: Sequence[int] = ()) -> None:
        super().__init__()
        self.down = False
        self.calls = 0
        self.fail_calls = set(fail_calls)
        self.link_down = False

    def record_events(self, events: Sequence[Event]) -> None:
        self.calls += 1
        if self.down or self.calls in self.fail_calls:
            raise StoreUnavailable("ledger down")
        super().record_events(events)

    def link_user(self, subject_id: str, user_id: str) -> None:
        if self.link_down:
            raise StoreUnavailable("ledger down")
        super().link_user(subject_id, user_id)


def test_store_down_keeps_the_batch_within_the_bound(make_recorder: Any) -> None:
    store = FlakyStore()
    recorder = make_recorder(store, max_queue=4)
    now = time.time()
    for index in range(4):
        recorder.add(hit(path=f"/{index}", when=now + index))
    store.down = True
    assert recorder.flush() == 0
    assert recorder.failures == 1
    assert recorder.dropped == 0
    # The queue is full of kept hits: further hits are dropped and counted.
    recorder.add(hit(path="/late", when=now + 10))
    assert recorder.dropped == 1
    assert recorder.flush() == 0
    assert recorder.failures == 2
    store.down = False
    assert recorder.flush() == 4
    assert [e.path for e in store.events()] == ["/3", "/2", "/1", "/0"]
    assert (recorder.written, recorder.failures, recorder.dropped) == (4, 2, 1)


def test_store_failing_midway_keeps_only_what_was_not_written(make_recorder: Any) -> None:
    store = FlakyStore(fail_calls=[2])
    recorder = make_recorder(store, batch_size=2, worker=False)
    now = time.time()
    for index in range(5):
        recorder.add(hit(path=f"/{index}", when=now + index))
    assert recorder.flush() == 2  # the first batch, then the second one failed
    assert recorder.failures == 1
    assert sorted(e.path for e in store.events()) == ["/0", "/1"]
    assert recorder.flush() == 3
    assert sorted(e.path for e in store.events()) == ["/0", "/1", "/2", "/3", "/4"]
    assert recorder.dropped == 0


def test_links_and_notes_wait_for_the_store(make_recorder: Any) -> None:
    store = FlakyStore()
    recorder = make_recorder(store)
    store.link_down = True
    recorder.link("subject-1", "alice")
    recorder.add(hit(when=time.time()))
    assert recorder.flush() == 0
    assert store.subjects_of("alice") == []
    store.link_down = False
    store.down = True
    note = Event(
        time=time.time(),
        kind="cookie_audit",
        purpose="necessary",
        expires_at=time.time() + DAY,
        path="/",
        status=200,
    )
    recorder.note(note)
    assert recorder.flush() == 0
    assert store.subjects_of("alice") == ["subject-1"]
    store.down = False
    assert recorder.flush() == 2
    assert {e.kind for e in store.events()} == {"cookie_audit", "request"}
    assert recorder.failures == 2


def test_close_flushes_and_stops(make_recorder: Any) -> None:
    store = MemoryStore()
    recorder = make_recorder(store)
    recorder.add(hit(ANALYTICS, when=time.time()))
    recorder.link("subject-1", "alice")
    thread = recorder._thread
    assert thread is not None and thread.is_alive()
    recorder.close()
    assert not thread.is_alive()
    assert {e.kind for e in store.events()} == {"request", "device"}
    assert store.subjects_of("alice") == ["subject-1"]
    # Closed: nothing more is queued.
    recorder.add(hit(when=time.time()))
    recorder.link("subject-2", "alice")
    assert recorder.flush() == 0
    assert len(store.events()) == 2


def test_close_without_anything_queued(make_recorder: Any) -> None:
    recorder = make_recorder()
    recorder.close()
    assert recorder._thread is None
    assert recorder.written == 0


def test_the_worker_flushes_a_full_batch_by_itself(make_recorder: Any) -> None:
    store = MemoryStore()
    recorder = make_recorder(store, batch_size=3)
    now = time.time()
    for index in range(3):
        recorder.add(hit(path=f"/{index}", when=now))
    deadline = time.monotonic() + 5
    while len(store.events()) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(store.events()) == 3


def test_the_worker_writes_whole_batches_and_leaves_the_rest_for_the_interval(
    make_recorder: Any,
) -> None:
    # Hits arriving while a batch is written are not chased one round trip each: the
    # worker woken by a full batch writes whole batches; the rest waits for more hits,
    # the interval or close().
    store = MemoryStore()
    calls = sync_writes(store)
    recorder = make_recorder(store, batch_size=4)
    now = time.time()
    with recorder._flushing:  # the worker waits until all six are queued
        add_hits(recorder, range(6), now)
    deadline = time.monotonic() + 5
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # time enough for a second write, were there one
    assert calls == [4] and len(recorder._queue) == 2
    assert recorder.flush() == 2 and calls == [4, 2]
    assert [e.path for e in store.events()] == [f"/{i}" for i in reversed(range(6))]


# -- on the event loop (on_loop: what ConsentMiddleware asks for) --------------------------


class WhoWrites(MemoryStore):
    """Notes each write: through which face, from which thread, how many events; the
    async face waits for ``gate`` when one is set."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[str, int, int]] = []
        self.gate: asyncio.Event | None = None

    def record_events(self, events: Sequence[Event]) -> None:
        self.writes.append(("sync", threading.get_ident(), len(events)))
        super().record_events(events)

    async def arecord_events(self, events: Sequence[Event]) -> None:
        if self.gate is not None:
            await self.gate.wait()
        self.writes.append(("async", threading.get_ident(), len(events)))
        super().record_events(events)


async def stalled_write(recorder: Recorder, store: WhoWrites, indexes: range) -> None:
    """On the running loop: hits that fill a batch, and the loop's task taking it and
    waiting on a write that does not complete until ``store.gate`` is set."""
    store.gate = asyncio.Event()
    add_hits(recorder, indexes, time.time())
    await asyncio.sleep(0)  # the task takes the batch and waits on the store


def added_on_a_loop(recorder: Recorder, indexes: range) -> None:
    """``add_hits`` on an event loop, until the loop's task has written what it took."""

    async def serve() -> None:
        add_hits(recorder, indexes, time.time())
        await recorder.settle()

    asyncio.run(serve())


def test_on_the_loop_a_full_batch_is_written_by_the_loop_not_the_worker(
    make_recorder: Any,
) -> None:
    store = WhoWrites()
    recorder = make_recorder(store, on_loop=True, batch_size=3)
    added_on_a_loop(recorder, range(4))
    loop_thread = threading.get_ident()
    assert store.writes == [("async", loop_thread, 3)]
    assert sorted(e.path for e in store.events()) == ["/0", "/1", "/2"]
    assert len(recorder._queue) == 1  # less than a batch: the interval's, or close()'s
    assert recorder.written == 3
    assert recorder.flush() == 1 and store.writes[-1][0] == "sync"


def test_on_the_loop_hits_queued_while_a_batch_is_written_follow_it(
    make_recorder: Any,
) -> None:
    store = WhoWrites()
    recorder = make_recorder(store, on_loop=True, batch_size=2)

    async def serve() -> None:
        await stalled_write(recorder, store, range(2))
        add_hits(recorder, range(2, 5), time.time())
        assert store.gate is not None
        store.gate.set()
        await recorder.settle()

    asyncio.run(serve())
    assert [(face, count) for face, _, count in store.writes] == [("async", 2), ("async", 2)]
    assert [h.path for h in recorder._queue] == ["/4"]


def test_on_the_loop_the_batch_in_hand_survives_the_loop_shutting_down(
    make_recorder: Any,
) -> None:
    # A loop closed with the write pending (no lifespan shutdown to wait for it):
    # the task is cancelled and puts its batch back for the worker or close().
    store = WhoWrites()
    recorder = make_recorder(store, on_loop=True, batch_size=2)
    asyncio.run(stalled_write(recorder, store, range(2)))  # the gate never set
    assert store.writes == [] and [h.path for h in recorder._queue] == ["/0", "/1"]
    recorder.close()
    assert sorted(e.path for e in store.events()) == ["/0", "/1"]
    assert store.writes[-1][0] == "sync"


def test_on_the_loop_a_task_left_on_a_closed_loop_gives_its_batch_back(
    make_recorder: Any,
) -> None:
    # A loop closed without cancelling its tasks (a test client's, say) never runs the
    # task again: the worker, a new loop's full batch and close() take its batch back.
    store = WhoWrites()
    recorder = make_recorder(store, on_loop=True, batch_size=2)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(stalled_write(recorder, store, range(2)))
    loop.close()  # the task still pending
    assert not recorder._queue and len(recorder._in_hand) == 2
    store.gate = None
    added_on_a_loop(recorder, range(2, 4))  # a new loop: a new task, the batch back
    assert sorted(e.path for e in store.events()) == ["/0", "/1", "/2", "/3"]
    assert recorder._draining is None and recorder._in_hand == []
    # The old task, collected, runs its cleanup: it leaves the recorder as it is.
    recorder._draining = sentinel = object()  # stands for a newer task
    gc.collect()
    assert recorder._draining is sentinel and len(store.events()) == 4
    recorder._draining = None


def test_on_the_loop_close_takes_back_a_stuck_tasks_batch(make_recorder: Any) -> None:
    store = WhoWrites()
    recorder = make_recorder(store, on_loop=True, batch_size=2)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(stalled_write(recorder, store, range(3)))
    loop.close()
    recorder.close()
    assert sorted(e.path for e in store.events()) == ["/0", "/1", "/2"]


def test_on_the_loop_store_down_keeps_the_batch(make_recorder: Any) -> None:
    store = FlakyStore()
    store.down = True
    recorder = make_recorder(store, on_loop=True, batch_size=2, max_queue=4, interval=60)
    added_on_a_loop(recorder, range(2))
    assert recorder.failures == 1 and recorder.dropped == 0 and store.calls == 1
    assert [h.path for h in recorder._queue] == ["/0", "/1"]
    # More full batches do not start a task each (each would minimise a batch only to
    # fail again): the hits wait for the worker's next try, once per interval.
    added_on_a_loop(recorder, range(2, 4))
    assert store.calls == 1 and recorder._draining is None
    assert [h.path for h in recorder._queue] == ["/0", "/1", "/2", "/3"]
    store.down = False
    assert recorder.flush() == 4 and recorder.written == 4


def test_on_the_loop_an_unexpected_failure_keeps_the_batch_and_the_shutdown_goes_on(
    make_recorder: Any, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(MemoryStore):
        async def arecord_events(self, events: Sequence[Event]) -> None:
            raise RuntimeError("a bug in a store")

    store = Broken()
    recorder = make_recorder(store, on_loop=True, batch_size=2)
    added_on_a_loop(recorder, range(2))  # settle() returns: it does not raise the bug
    assert recorder.failures == 1 and [h.path for h in recorder._queue] == ["/0", "/1"]
    assert "a bug in a store" in caplog.text
    recorder.close()  # the sync face works: nothing lost
    assert sorted(e.path for e in store.events()) == ["/0", "/1"]


def test_on_the_loop_without_a_running_loop_the_worker_writes(make_recorder: Any) -> None:
    # on_loop asks for the running asyncio loop; a WSGI thread (or trio) has none.
    store = WhoWrites()
    recorder = make_recorder(store, on_loop=True, batch_size=3)
    now = time.time()
    add_hits(recorder, range(3), now)
    deadline = time.monotonic() + 5
    while not store.writes and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [(face, count) for face, _, count in store.writes] == [("sync", 3)]
    assert store.writes[0][1] != threading.get_ident()


# -- through the middlewares ---------------------------------------------------------------


@pytest.fixture(params=["asgi", "wsgi"])
def adapter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def plain_app(request: AppRequest) -> Reply:
    status = 404 if request.path == "/missing" else 200
    return Reply(chunks=(b"ok",), status=status, headers=[("Content-Type", "text/plain")])


@pytest.fixture
def recording(adapter: str) -> Iterator[Any]:
    """``recording(**options)``: a harness recording requests into its own MemoryStore."""
    made: list[Harness] = []

    def make(**options: Any) -> Harness:
        options.setdefault("record_requests", True)
        harness = build(adapter, plain_app, store=MemoryStore(), **options)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.middleware.recorder.close()


def visit(
    harness: Harness, path: str = "/shop", *, choices: dict[str, bool] | None = None, **kw: Any
) -> list[Event]:
    cookies = dict(kw.pop("cookies", {}))
    if choices is not None:
        cookies["consent_mw"] = harness.token(choices)
    headers = {"user-agent": kw.pop("user_agent", ANDROID_PHONE), **kw.pop("headers", {})}
    harness.get(path, cookies=cookies, headers=headers)
    harness.middleware.recorder.flush()
    return list(harness.store.events())


def test_middleware_without_consent(recording: Any) -> None:
    harness = recording(device_id_cookie="did")
    before = time.time()
    [event] = visit(harness, cookies={"did": "dev-1"})
    assert (event.kind, event.purpose, event.path, event.status) == (
        "request",
        "necessary",
        "/shop",
        200,
    )
    assert event.ip == "203.0.113.0"
    assert event.device == {} and event.subject_id is None and event.bot is False
    assert before <= event.time <= time.time()


def test_middleware_with_analytics(recording: Any) -> None:
    harness = recording(device_id_cookie="did")
    events = by_kind(
        visit(harness, choices={"analytics": True}, user_agent=IPAD, cookies={"did": "d"})
    )
    assert set(events) == {"request", "device"}
    assert events["device"].device["type"] == "tablet"
    subject = events["request"].subject_id
    assert subject is not None and events["device"].subject_id == subject


def test_middleware_with_advertising_and_a_device_id(recording: Any) -> None:
    harness = recording(device_id_cookie="did")
    choices = {"analytics": True, "advertising": True}
    events = by_kind(
        visit(harness, choices=choices, user_agent=WINDOWS_CHROME, cookies={"did": "dev-7"})
    )
    assert set(events) == {"request", "device", "ad_device"}
    assert events["ad_device"].device == {"device_id": "dev-7"}
    assert events["device"].device["type"] == "pc"


def test_middleware_gpc_means_no_ad_device_event(recording: Any) -> None:
    harness = recording(device_id_cookie="did")
    choices = {"analytics": True, "advertising": True}
    events = visit(harness, choices=choices, cookies={"did": "dev-7"}, headers={"sec-gpc": "1"})
    assert {e.kind for e in events} == {"request", "device"}


def test_middleware_bot(recording: Any) -> None:
    harness = recording(device_id_cookie="did")
    everything = {"functional": True, "analytics": True, "advertising": True}
    [event] = visit(harness, choices=everything, user_agent=GOOGLEBOT, cookies={"did": "d"})
    assert event.bot is True and event.device == {}


def test_middleware_records_the_status(recording: Any) -> None:
    harness = recording()
    [event] = visit(harness, "/missing")
    assert (event.path, event.status) == ("/missing", 404)


def test_middleware_excluded_paths_leave_nothing(recording: Any) -> None:
    harness = recording(record_exclude_paths=["/health"])
    assert visit(harness, "/health", choices={"analytics": True}) == []
    assert len(visit(harness, "/shop")) == 1


def test_middleware_consent_endpoints_are_not_recorded(recording: Any) -> None:
    harness = recording()
    assert visit(harness, "/_consent") == []
    assert visit(harness, "/_consent/policy") == []


def test_middleware_records_nothing_unless_asked(recording: Any) -> None:
    harness = recording(record_requests=False)
    assert visit(harness, choices={"analytics": True}) == []


def test_middleware_hashed_ips(recording: Any) -> None:
    harness = recording(ip_mode="hash")
    visit(harness)
    events = visit(harness, "/cart")
    assert len(events) == 2
    assert events[0].ip == events[1].ip
    assert events[0].ip is not None and events[0].ip.startswith("h:")
    assert "203.0.113" not in events[0].ip


def test_middleware_ipv6_behind_a_proxy(recording: Any) -> None:
    harness = recording(trust_forwarded=True)
    [event] = visit(harness, headers={"x-forwarded-for": "2001:db8:1:2::1"})
    assert event.ip == "2001:db8:1::"


def test_middleware_store_down_never_fails_a_request(adapter: str) -> None:
    store = FlakyStore()
    store.down = True
    harness = build(adapter, plain_app, store=store, record_requests=True)
    result = harness.get("/shop", headers={"user-agent": IPAD})
    assert result.status == 200 and result.raw == b"ok"
    recorder = harness.middleware.recorder
    recorder.flush()
    assert recorder.failures >= 1
    store.down = False
    recorder.close()
    assert len(store.events()) == 1


class ClosingWhoWrites(WhoWrites):
    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []

    async def arecord_events(self, events: Sequence[Event]) -> None:
        await super().arecord_events(events)
        self.log.append("write")

    async def aclose(self) -> None:
        self.log.append("close")
        await super().aclose()


def test_asgi_shutdown_waits_for_the_batch_the_loop_is_writing() -> None:
    store = ClosingWhoWrites()
    middleware = ConsentMiddleware(
        ok_app, policy="gdpr", secret_key=SECRET, store=store, record_requests=True
    )
    middleware.recorder.batch_size = 2

    async def serve() -> list[dict[str, Any]]:
        store.gate = asyncio.Event()
        sent: list[dict[str, Any]] = []
        await get_each(middleware, ["/a", "/b"], sent)
        await asyncio.sleep(0)  # the loop's task has the batch and waits on the store
        assert store.writes == [] and not middleware.recorder._queue
        # The write completes well after the shutdown starts.
        asyncio.get_running_loop().call_later(0.2, store.gate.set)
        await lifespan_cycle(middleware, sent)
        return sent

    sent = asyncio.run(serve())
    assert sent[-1] == {"type": "lifespan.shutdown.complete"}
    assert store.log == ["write", "close"]
    assert sorted(e.path for e in store.events()) == ["/a", "/b"]
    assert [face for face, _, _ in store.writes] == ["async"]


# -- when a visit is recorded: one rule for both adapters ------------------------------------


class AppFailed(Exception):
    pass


async def asgi_failing(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["path"] == "/after-start":
        await send({"type": "http.response.start", "status": 200, "headers": []})
    raise AppFailed(scope["path"])


def wsgi_failing(environ: dict[str, Any], start_response: Any) -> Any:
    path = environ["PATH_INFO"]
    if path == "/error-page":
        try:
            raise AppFailed(path)
        except AppFailed:
            start_response("500 Internal Server Error", [], sys.exc_info())
            return [b"sorry"]
    if path == "/after-start":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def body() -> Iterator[bytes]:
            yield b"partial"
            raise AppFailed(path)

        return body()
    raise AppFailed(path)


def recorded_paths(middleware: Any) -> list[str]:
    middleware.recorder.flush()
    paths = sorted({event.path for event in middleware.store.events()})
    middleware.recorder.close()
    return paths


@pytest.mark.parametrize(("path", "recorded"), [("/after-start", True), ("/before-start", False)])
def test_asgi_records_a_visit_when_its_response_starts(path: str, recorded: bool) -> None:
    middleware = ConsentMiddleware(
        asgi_failing, policy="gdpr", secret_key=SECRET, store=MemoryStore(), record_requests=True
    )
    with pytest.raises(AppFailed):
        run_asgi(middleware, http_scope(path))
    assert recorded_paths(middleware) == ([path] if recorded else [])


@pytest.mark.parametrize(
    ("path", "recorded"),
    [("/after-start", True), ("/before-start", False), ("/error-page", False)],
)
def test_wsgi_records_a_visit_when_its_response_starts(path: str, recorded: bool) -> None:
    middleware = WSGIConsentMiddleware(
        wsgi_failing, policy="gdpr", secret_key=SECRET, store=MemoryStore(), record_requests=True
    )
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "HTTP_HOST": "testserver"}
    try:
        for _ in middleware(environ, lambda status, headers, exc_info=None: lambda data: None):
            pass
    except AppFailed:
        pass
    assert recorded_paths(middleware) == ([path] if recorded else [])
