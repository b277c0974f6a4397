"""Recording automatically collected data, only as far as the decision allows.

The middlewares hand each finished request to :meth:`Recorder.add` (a deque
append: no store round trip on the response path). Each full batch is turned
into minimised :class:`~consent_mw.stores.base.Event` records and written in
one store call: by a worker thread, or, under an ASGI server (``on_loop``), by a
task on the server's event loop, which awaits the store's async face. The worker
thread writes what is left once a second (``interval``), and at shutdown.

Why the loop: the minimising is pure Python and holds the GIL whichever thread
runs it; run by a second thread, every hand-over of the GIL between it and the
event loop (at each socket call of either) costs both a wake-up. Side by side under
uvicorn (the demo's page, every hit recorded into Redis), throughput went from 0.60×
to 0.72× of the bare app's when the loop took the work over.

What is kept depends on the visitor's decision, one event per purpose so each is
kept only as long as its purpose allows:

- always (necessary / security basis): time, path, status and the IP truncated
  to /24 or /48 (or keyed-hashed with a salt that rotates daily);
- with ``analytics``: device type, model, OS and browser from the user agent;
- with ``advertising``: the device id cookie;
- bots are flagged and not profiled; excluded paths leave nothing at all.

When the store is down the worker keeps what fits in its bounded queue and
drops (and counts) the rest, so memory never grows without bound.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Literal, NamedTuple

from ..exceptions import StoreError
from ..policy.model import Policy
from ..stores.base import BaseStore, Event
from ..stores.records import minimised_event
from .device import DeviceParser, bot_check, truncate_ip

__all__ = ["LOGIN_RETENTION_DAYS", "Recorder", "Hit"]

logger = logging.getLogger("consent_mw.recorder")

#: Hits minimised between two releases of the GIL by the worker (see
#: :func:`_let_others_run`), or two turns of the event loop by its task. A batch
#: (``batch_size`` hits, written in one store call) is another: encoding its writes
#: holds the GIL too, so batches stay small enough (~1 ms) that a request never
#: waits long behind one.
_SLICE = 32


def _let_others_run() -> None:
    """Hand the GIL to a thread that waits for it (the event loop, a WSGI worker).

    The worker's work is pure Python; without this, a thread serving requests would
    wait up to the interpreter's switch interval (5 ms) for the GIL each time it gave
    it up for I/O, for as long as a batch takes: a tail-latency spike per batch.
    Releasing it every few dozen hits (~0.1 ms of work) keeps that wait short."""
    time.sleep(0)


#: Protection of Communications Secrets Act: service login records, 3 months.
LOGIN_RETENTION_DAYS = 91
_DEFAULT_RETENTION_DAYS = 90


class Hit(NamedTuple):
    """One finished request as the adapters hand it over: raw facts plus what is allowed.

    A named tuple: built on every recorded request, in C (a frozen dataclass costs a
    few microseconds more)."""

    time: float
    kind: str
    path: str
    status: int
    ip: str | None
    user_agent: str | None
    allowed: frozenset[str]
    subject_id: str | None
    user_id: str | None = None
    device_id: str | None = None


class _IPHasher:
    """Keyed hash of an IP with a random salt that changes every UTC day and is never
    stored: records of one day can be linked, across days they cannot."""

    def __init__(self) -> None:
        self._day = ""
        self._salt = b""
        self._lock = threading.Lock()

    def __call__(self, ip: str | None, when: float) -> str | None:
        if not ip:
            return None
        day = dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%d")
        with self._lock:
            if day != self._day:
                self._day, self._salt = day, secrets.token_bytes(32)
            salt = self._salt
        return "h:" + hmac.new(salt, ip.encode("utf-8"), hashlib.sha256).hexdigest()[:24]


class Recorder:
    """Batches minimised events to a store from a background thread."""

    def __init__(
        self,
        store: BaseStore,
        policy: Policy,
        *,
        exclude_paths: Sequence[str] = (),
        ip_mode: Literal["truncate", "hash"] = "truncate",
        interval: float = 1.0,
        batch_size: int = 128,
        max_queue: int = 10_000,
        parser: Callable[[], DeviceParser | None] = lambda: None,
        on_loop: bool = False,
    ) -> None:
        self.store = store
        #: full batches are written by a task on the running asyncio loop, when there is one
        self.on_loop = on_loop
        self.policy = policy
        self.exclude_paths = tuple(exclude_paths)
        self.interval = interval
        self.batch_size = batch_size
        self.max_queue = max_queue
        # Called when first needed: building the user-agent parser takes a moment.
        self._parser = parser
        self._is_bot = bot_check(parser)
        self._hash = _IPHasher() if ip_mode == "hash" else None
        self._retention = {
            c.id: (c.retention_days or _DEFAULT_RETENTION_DAYS) * 86400.0 for c in policy.categories
        }
        self._queue: deque[Hit] = deque()
        self._links: deque[tuple[str, str]] = deque()
        self._ready: deque[Event] = deque()
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        #: the task writing full batches on the event loop (on_loop), while it runs
        self._draining: asyncio.Task[None] | None = None
        #: the hits the loop's task has taken from the queue and not written yet
        self._in_hand: list[Hit] = []
        #: after a failed write on the loop: no new task before this (time.monotonic());
        #: the worker retries meanwhile, once per interval
        self._loop_resumes = 0.0
        #: events written, hits dropped (queue full or store down), failed batch writes
        self.written = 0
        self.dropped = 0
        self.failures = 0

    # -- the response path ------------------------------------------------------

    def wants(self, path: str) -> bool:
        return not path.startswith(self.exclude_paths) if self.exclude_paths else True

    def add(self, hit: Hit) -> None:
        """Queue one finished request. Never blocks, never touches the store."""
        if self._closed:
            return
        if len(self._queue) >= self.max_queue:
            self.dropped += 1
            return
        self._queue.append(hit)
        if self._thread is None:
            self._start()
        if len(self._queue) >= self.batch_size:
            self._batch_full()

    def _batch_full(self) -> None:
        if self.on_loop:
            # A task running writes this batch too. After a failed write, the hits
            # wait for the worker's next try: a task per request would minimise a
            # batch each time only to fail again.
            if self._draining is not None and not self._unstick():
                return
            if time.monotonic() < self._loop_resumes:
                return
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not on an asyncio loop (trio, a thread): the worker
                pass
            else:
                self._draining = loop.create_task(self._drain())
                return
        if len(self._queue) == self.batch_size:  # wake the worker once per full batch
            self._wake.set()

    async def _drain(self) -> None:
        """On the event loop: write whole batches while there are any (see ``on_loop``).
        The loop serves other requests between slices of a batch and while the store
        is written. Cancelled (the loop shuts down without a lifespan shutdown), the
        batch in hand goes back to the queue, for the worker or :meth:`close`."""
        queue = self._queue
        me = asyncio.current_task()
        # On the recorder, not in this frame: a loop closed with this task pending
        # never runs it again, and the worker takes the batch back (see _unstick).
        batch = self._in_hand = []
        try:
            while len(queue) >= self.batch_size and not self._closed:
                events: list[Event] = []
                for _ in self._take(batch, events, self.batch_size):
                    await asyncio.sleep(0)
                if events:
                    await self.store.arecord_events(events)
                    self.written += len(events)
                batch.clear()
        except Exception as exc:
            # Kept for the worker's next try, within the queue's bound; a store's own
            # failure is expected (the ledger down), anything else is a bug to see.
            self._give_back(batch)
            self.failures += 1
            self._loop_resumes = time.monotonic() + self.interval
            if isinstance(exc, StoreError):
                logger.warning("Recorder could not write to the ledger: %s", exc)
            else:
                logger.exception("Recorder failed to write a batch on the event loop")
        except asyncio.CancelledError:
            self._give_back(batch)
            raise
        finally:
            # (Run at garbage collection too, for a task its closed loop left pending:
            # by then another task may be the recorder's.)
            if self._draining is me:
                self._draining = None

    def _give_back(self, batch: list[Hit]) -> None:
        """The loop's task's batch back to the queue, unless _unstick took it."""
        with self._lock:
            if self._in_hand is batch:
                self._requeue(batch)
                self._in_hand = []

    def _unstick(self) -> bool:
        """Whether the loop's task is gone for good: its loop closed with it pending
        (a test client's loop, say, closed without cancelling it). Then its batch goes
        back to the queue and a new task (or the worker) takes over."""
        draining = self._draining
        if draining is None or draining.done() or not draining.get_loop().is_closed():
            return draining is None
        with self._lock:  # the worker and a new loop's request may both find it
            if self._draining is draining:
                self._draining = None
                self._requeue(self._in_hand)
                self._in_hand = []
        return True

    async def settle(self) -> None:
        """Wait for the batch the event loop is writing, if any (before :meth:`close`
        at an ASGI server's shutdown: what it took from the queue is written)."""
        draining = self._draining
        if draining is not None and draining.get_loop() is asyncio.get_running_loop():
            # wait() neither cancels the task nor raises what it raised: the shutdown
            # goes on to close() whatever became of the batch.
            await asyncio.wait([draining])

    def note(self, event: Event) -> None:
        """Queue an event that is already minimised (the cookie audit's findings)."""
        if self._closed or len(self._ready) >= self.max_queue:
            self.dropped += 1
            return
        self._ready.append(event)
        if self._thread is None:
            self._start()

    def link(self, subject_id: str, user_id: str) -> None:
        """Queue linking a consent id to a user id (written with the next batch)."""
        if self._closed or len(self._links) >= self.max_queue:
            self.dropped += 1
            return
        self._links.append((subject_id, user_id))
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="consent_mw-recorder", daemon=True
                )
                self._thread.start()

    # -- the worker ----------------------------------------------------------------

    def _run(self) -> None:
        while not self._closed:
            full = self._wake.wait(self.interval)
            self._wake.clear()
            # Woken by a full batch: whole batches only, the rest waits for the next
            # one or the interval. Writing the few hits that arrived while a batch was
            # written, then the few after those, would chase the queue's tail with
            # batches of one or two hits: a round trip (and an fsync) for each. While
            # the event loop writes batches (on_loop), the hits are left to it.
            self.flush(whole=full and not self._closed, hits=self._unstick())

    def flush(self, *, whole: bool = False, hits: bool = True) -> int:
        """Write what is queued now (``whole``: only whole batches of hits; ``hits``
        False: only the links and the audit's events); returns the number of events
        written. Hits queued while it writes wait for the next flush."""
        with self._flushing:
            written = 0
            left = len(self._queue) if hits else 0
            try:
                while self._links:
                    subject_id, user_id = self._links[0]
                    self.store.link_user(subject_id, user_id)
                    self._links.popleft()
                if self._ready:
                    ready = list(self._ready)
                    self.store.record_events(ready)
                    for _ in ready:
                        self._ready.popleft()
                    written += len(ready)
                while left > 0 and (not whole or left >= self.batch_size):
                    batch: list[Hit] = []
                    events: list[Event] = []
                    wanted = min(left, self.batch_size)
                    for _ in self._take(batch, events, wanted):
                        _let_others_run()
                    # Fewer than wanted: the event loop's task took the rest.
                    left = left - wanted if len(batch) == wanted else 0
                    try:
                        if events:
                            self.store.record_events(events)
                    except StoreError:
                        self._requeue(batch)
                        raise
                    written += len(events)
                    _let_others_run()
            except StoreError as exc:
                # Kept for the next round, within the queue's bound; see _requeue.
                self.failures += 1
                logger.warning("Recorder could not write to the ledger: %s", exc)
            finally:
                self.written += written
            return written

    def _take(self, batch: list[Hit], events: list[Event], limit: int) -> Iterator[None]:
        """Move hits from the queue into ``batch`` (up to ``limit``) and their events
        into ``events``, pausing after every slice: the caller lets others run then (the
        worker gives the GIL back, the loop's task a turn to the loop). Stops early when
        the queue runs dry: the other writer took the rest."""
        queue = self._queue
        while len(batch) < limit:
            try:
                hit = queue.popleft()
            except IndexError:
                return
            batch.append(hit)
            events.extend(self.events(hit))
            if len(batch) % _SLICE == 0:
                yield

    def _requeue(self, batch: list[Hit]) -> None:
        room = self.max_queue - len(self._queue)
        keep = batch[-room:] if room > 0 else []
        self.dropped += len(batch) - len(keep)
        self._queue.extendleft(reversed(keep))

    def close(self) -> None:
        """Flush what is queued and stop the worker (at shutdown)."""
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=max(self.interval, 1.0) * 5)
        self._unstick()
        self.flush()

    # -- minimisation ----------------------------------------------------------------

    def events(self, hit: Hit) -> Iterable[Event]:
        """The events ``hit`` may leave behind, one per purpose."""
        allowed = hit.allowed
        bot = self._is_bot(hit.user_agent)
        ip = self._hash(hit.ip, hit.time) if self._hash else truncate_ip(hit.ip)
        keep = (
            LOGIN_RETENTION_DAYS * 86400.0
            if hit.kind == "login"
            else self._retention.get("necessary", _DEFAULT_RETENTION_DAYS * 86400.0)
        )
        yield minimised_event(
            time=hit.time,
            kind=hit.kind,
            purpose="necessary",
            expires_at=hit.time + keep,
            path=hit.path,
            status=hit.status,
            ip=ip,
            subject_id=hit.subject_id,
            user_id=hit.user_id,
            bot=bot,
        )
        if bot:
            return
        parser = self._parser() if "analytics" in allowed else None
        if parser is not None:
            facts = parser.facts(hit.user_agent)
            if facts is not None:
                yield minimised_event(
                    time=hit.time,
                    kind="device",
                    purpose="analytics",
                    expires_at=hit.time + self._retention.get("analytics", keep),
                    path=hit.path,
                    status=hit.status,
                    subject_id=hit.subject_id,
                    device=facts.to_dict(),
                )
        if "advertising" in allowed and hit.device_id:
            yield minimised_event(
                time=hit.time,
                kind="ad_device",
                purpose="advertising",
                expires_at=hit.time + self._retention.get("advertising", keep),
                path=hit.path,
                status=hit.status,
                subject_id=hit.subject_id,
                device={"device_id": hit.device_id},
            )
