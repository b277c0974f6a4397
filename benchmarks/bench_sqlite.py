"""The SQLite store's throughput with its connection pool, side by side with a connection
per thread (the strategy it replaced), in one run.

Three variants of the same ``SQLiteStore`` code and SQL, each on its own file in one
temporary directory:

- ``store``: the store as it is (the pool, and the checks that the file under a
  connection is still the one at the path: a stat per read at most every
  ``READ_CHECK_EVERY``; a stat of the database and an existence test of its -wal inside
  a write transaction and again after COMMIT);
- ``pool``: the same with those file checks turned off (the pool's own cost);
- ``per-thread``: the anchor, ``PerThreadStore``, which only swaps how a connection is
  found (a minimal copy of the old ``_connect``/``_run``/``_transaction``: one
  connection per thread, kept for the thread's life, no pool, no checks). The anchor
  is shown at its best: its threads live for the whole run, so it never pays for
  opening connections again (and never leaks them here either).

Workloads (each store preloaded with 1,000 subjects): ``append`` of new records and
``current`` of known subjects, on the sync face from 1 and 4 threads and on the async
face (``aappend``/``acurrent`` through anyio worker threads) with 8 tasks at once. Rounds
interleave the variants, each first in turn; the figure per variant is the median of
the rounds' operations per second. The machine is shared and noisy: compare the ratios,
not the absolute figures. Target: pool / per-thread >= 0.9 for every workload (the pool
is no regression). store / per-thread is shown beside it with what the file checks add
per operation: the price of never acknowledging a write that landed in a deleted file.

Run: ``.venv/bin/python benchmarks/bench_sqlite.py [--rounds N]``. Exit status 1 when a
target is missed.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio

from consent_mw import Record, SQLiteStore, StoreUnavailable

PRELOAD = 1000
TARGET = 0.9
_counter = iter(range(10**9))


class PoolOnly(SQLiteStore):
    """The store with the file checks turned off: what the pool alone costs."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._file._check = lambda db, journal: None  # type: ignore[method-assign]


class PerThreadStore(SQLiteStore):
    """The anchor: a connection per thread, as the store had before the pool."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._local = threading.local()
        self._every: list[sqlite3.Connection] = []
        self._every_lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(
                self.path, timeout=self.timeout, check_same_thread=False, isolation_level=None
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            self._local.db = db
            with self._every_lock:
                self._every.append(db)
        return db

    def _run(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        try:
            return fn(self._connect())
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"The SQLite ledger is not available: {exc}") from exc

    def _transaction(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        def run(db: sqlite3.Connection) -> Any:
            db.execute("BEGIN IMMEDIATE")
            try:
                result = fn(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return result

        return self._run(run)

    def close(self) -> None:
        with self._every_lock:
            for db in self._every:
                db.close()
            self._every.clear()
        super().close()


def make_record(subject: str) -> Record:
    n = next(_counter)
    return Record(
        record_id=f"{int(time.time() * 1000):012x}{n:016x}",
        subject_id=subject,
        time=time.time(),
        policy_version="2026-11",
        text_hash="ab" * 32,
        choices={"analytics": n % 2 == 0, "advertising": n % 3 == 0},
        action="custom",
        source="banner",
        regime="gdpr",
        locale="en",
        ip="203.0.113.0",
        user_agent="bench",
    )


def subjects(count: int) -> list[str]:
    return [f"subject-{i:06d}" for i in range(count)]


# -- workloads: each returns the seconds its operations took -----------------------------


def sync_writes(pool: ThreadPoolExecutor, threads: int, per_thread: int) -> Callable[..., float]:
    def run(store: SQLiteStore) -> float:
        def work(_: int) -> None:
            for _ in range(per_thread):
                store.append(make_record(f"new-{next(_counter)}"))

        started = time.perf_counter()
        list(pool.map(work, range(threads)))
        return time.perf_counter() - started

    return run


def sync_reads(pool: ThreadPoolExecutor, threads: int, per_thread: int) -> Callable[..., float]:
    known = subjects(PRELOAD)

    def run(store: SQLiteStore) -> float:
        def work(index: int) -> None:
            for i in range(per_thread):
                if store.current(known[(index * per_thread + i) % PRELOAD]) is None:
                    raise SystemExit("a preloaded subject is missing")

        started = time.perf_counter()
        list(pool.map(work, range(threads)))
        return time.perf_counter() - started

    return run


async def async_ops(store: SQLiteStore, kind: str, tasks: int, per_task: int) -> float:
    known = subjects(PRELOAD)

    async def work(index: int) -> None:
        for i in range(per_task):
            if kind == "write":
                await store.aappend(make_record(f"new-{next(_counter)}"))
            elif await store.acurrent(known[(index * per_task + i) % PRELOAD]) is None:
                raise SystemExit("a preloaded subject is missing")

    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for index in range(tasks):
            group.start_soon(work, index)
    return time.perf_counter() - started


# (name, operations per round, sync runner or async (kind, tasks, per task))
Workload = tuple[str, int, Any]


VARIANTS = ("store", "pool", "per-thread")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    if not 3 <= args.rounds <= 51:
        parser.error("--rounds must be in 3..51")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()},"
        f" SQLite {sqlite3.sqlite_version}; load average at start {load}"
    )
    one, four = ThreadPoolExecutor(1), ThreadPoolExecutor(4)
    workloads: list[Workload] = [
        ("append, 1 thread", 100, sync_writes(one, 1, 100)),
        ("append, 4 threads", 200, sync_writes(four, 4, 50)),
        ("current, 1 thread", 4000, sync_reads(one, 1, 4000)),
        ("current, 4 threads", 8000, sync_reads(four, 4, 2000)),
        ("aappend, 8 tasks", 200, ("write", 8, 25)),
        ("acurrent, 8 tasks", 4000, ("read", 8, 500)),
    ]
    seconds: dict[tuple[str, str], list[float]] = {}

    def order(round_: int) -> list[str]:
        shift = round_ % len(VARIANTS)  # each variant first, second… equally often
        return list(VARIANTS[shift:] + VARIANTS[:shift])

    with tempfile.TemporaryDirectory(prefix="bench-sqlite-") as tmp:
        stores: dict[str, SQLiteStore] = {
            "store": SQLiteStore(Path(tmp) / "store.sqlite3"),
            "pool": PoolOnly(Path(tmp) / "pool.sqlite3"),
            "per-thread": PerThreadStore(Path(tmp) / "per-thread.sqlite3"),
        }
        try:
            for store in stores.values():
                for subject in subjects(PRELOAD):
                    store.append(make_record(subject))

            async def async_rounds() -> None:
                # One event loop for every round: its worker threads live throughout.
                for round_ in range(args.rounds + 1):
                    for name, _, spec in workloads:
                        if isinstance(spec, tuple):
                            for variant in order(round_):
                                took = await async_ops(stores[variant], *spec)
                                if round_:  # the first round warms up
                                    seconds.setdefault((name, variant), []).append(took)

            for round_ in range(args.rounds + 1):
                for name, _, spec in workloads:
                    if not isinstance(spec, tuple):
                        for variant in order(round_):
                            took = spec(stores[variant])
                            if round_:
                                seconds.setdefault((name, variant), []).append(took)
            anyio.run(async_rounds)
            connections = {
                "store": stores["store"]._file.pool.open_count,
                "per-thread": len(stores["per-thread"]._every),  # type: ignore[attr-defined]
            }
        finally:
            for store in stores.values():
                store.close()
            one.shutdown()
            four.shutdown()

    print(f"\nmedian of {args.rounds} interleaved rounds, operations per second\n")
    width = max(len(name) for name, _, _ in workloads)
    print(
        f"{'workload':<{width}}  {'store':>7}  {'pool':>7}  {'per-thread':>10}"
        f"  {'pool/per-thread':>15}  {'store/per-thread':>16}  checks add"
    )
    ok = True
    for name, operations, _ in workloads:
        rate = {v: operations / statistics.median(seconds[(name, v)]) for v in VARIANTS}
        pool_ratio = rate["pool"] / rate["per-thread"]
        store_ratio = rate["store"] / rate["per-thread"]
        added = (1 / rate["store"] - 1 / rate["pool"]) * 1e6
        ok &= pool_ratio >= TARGET
        mark = "" if pool_ratio >= TARGET else " NO"
        print(
            f"{name:<{width}}  {rate['store']:>7,.0f}  {rate['pool']:>7,.0f}"
            f"  {rate['per-thread']:>10,.0f}  {pool_ratio:>12.2f}{mark:<3}  {store_ratio:>16.2f}"
            f"  {added:+.1f} us/op"
        )
    print(
        f"\ntarget: pool / per-thread >= {TARGET} for every workload: {'met' if ok else 'MISSED'}"
        f"\nconnections open at the end: store {connections['store']},"
        f" per-thread {connections['per-thread']}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
