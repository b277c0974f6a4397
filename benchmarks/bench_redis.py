"""RedisStore against its own redis-server: round trips, batch lookups, exact counters.

Starts a private ``redis-server`` (``_redis_server.Server``: from the binary on PATH,
a free loopback port, files in a temporary directory) and stops it at the end, whatever
happens.

(a) A consent change costs one round trip: socket writes counted on the client
    (every command or pipeline is one write) and EVALSHA calls counted by the
    server (``INFO commandstats``), per change. Target: exactly 1.
(b) ``lookup()`` of 10,000 subjects in one batch, decoded into records, against
    raw redis-py reading the same 10,000 keys with a pipeline of GETs (the raw
    per-key read of the current state, which is a string), bytes left undecoded.
    Interleaved rounds, median. Target: lookup >= 70% of the raw throughput.
(c) 8 writer processes x 10,000 consent changes over 2,000 shared subjects, two
    policy versions, four categories; then a full recount of every current state
    against ``counts()``, and the history lengths against the number of changes.
    Target: exact.

Run: ``python benchmarks/bench_redis.py [--fsync always|everysec|no]``. Exit status 1
when a target is missed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from _redis_server import Server
from redis.connection import Connection

from consent_mw.stores import Record, RedisStore

LOOKUP_SUBJECTS = 10_000
LOOKUP_ROUNDS = 9
WRITERS = 8
CHANGES_PER_WRITER = 10_000
SHARED_SUBJECTS = 2_000
CATEGORIES = ("functional", "analytics", "advertising", "personalisation")


def make_record(subject: str, rng: random.Random, version: str | None = None) -> Record:
    return Record(
        record_id=uuid.uuid4().hex,
        subject_id=subject,
        time=time.time(),
        policy_version=version or rng.choice(("2025-01", "2025-06")),
        text_hash="ab" * 32,
        choices={c: rng.random() < 0.5 for c in CATEGORIES},
        action="custom",
        source="banner",
        regime="gdpr",
        locale="ko",
        ip="203.0.113.0",
        user_agent="Mozilla/5.0 (bench)",
    )


# -- (a) round trips per change ----------------------------------------------------------------


def round_trips(server: Server) -> dict[str, float]:
    store = RedisStore(server.url, prefix="bench-rt")
    rng = random.Random(1)
    for i in range(10):  # connect and load the script first
        store.append(make_record(f"warm-{i}", rng))
    sends = 0
    send = Connection.send_packed_command

    def counting(self: Connection, command: Any, check_health: bool = True) -> None:
        nonlocal sends
        sends += 1
        send(self, command, check_health)  # type: ignore[no-untyped-call]

    changes = 2_000
    with server.client() as admin:
        admin.config_resetstat()
        setattr(Connection, "send_packed_command", counting)  # noqa: B010
        try:
            for i in range(changes):
                store.append(make_record(f"s{i % 200}", rng))
        finally:
            setattr(Connection, "send_packed_command", send)  # noqa: B010
        stats = admin.info("commandstats")
    evalsha = stats.get("cmdstat_evalsha", {}).get("calls", 0)
    store.close()
    return {"changes": changes, "writes": sends / changes, "evalsha": evalsha / changes}


# -- (b) batch lookup against raw pipelined reads ----------------------------------------------


def lookup_throughput(server: Server) -> dict[str, float]:
    store = RedisStore(server.url, prefix="bench-lookup")
    rng = random.Random(2)
    subjects = [uuid.uuid4().hex for _ in range(LOOKUP_SUBJECTS)]
    for subject in subjects:
        store.append(make_record(subject, rng))
    keys = [store.keys.cur(s) for s in subjects]
    raw = server.client()

    def raw_read() -> float:
        started = time.perf_counter()
        with raw.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.get(key)
            values = pipe.execute()
        elapsed = time.perf_counter() - started
        assert sum(v is not None for v in values) == LOOKUP_SUBJECTS
        return elapsed

    def ours() -> float:
        started = time.perf_counter()
        found = store.lookup(subjects)
        elapsed = time.perf_counter() - started
        assert sum(r is not None for r in found.values()) == LOOKUP_SUBJECTS
        return elapsed

    raw_read(), ours()  # warm up both
    raw_times, our_times = [], []
    for _ in range(LOOKUP_ROUNDS):
        raw_times.append(raw_read())
        our_times.append(ours())
    raw.close()
    store.close()
    raw_s, our_s = statistics.median(raw_times), statistics.median(our_times)
    return {
        "raw_per_s": LOOKUP_SUBJECTS / raw_s,
        "ours_per_s": LOOKUP_SUBJECTS / our_s,
        "raw_ms": raw_s * 1000,
        "ours_ms": our_s * 1000,
        "ratio": raw_s / our_s,
    }


# -- (c) concurrent writers, exact counters -----------------------------------------------------


def writer(url: str, prefix: str, index: int) -> float:
    store = RedisStore(url, prefix=prefix, timeout=10)
    rng = random.Random(1000 + index)
    started = time.perf_counter()
    for _ in range(CHANGES_PER_WRITER):
        store.append(make_record(f"subject-{rng.randrange(SHARED_SUBJECTS)}", rng))
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed


def concurrent_writers(server: Server) -> dict[str, Any]:
    prefix = "bench-writers"
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(WRITERS) as pool:
        pool.starmap(writer, [(server.url, prefix, i) for i in range(WRITERS)])
    elapsed = time.perf_counter() - started
    store = RedisStore(server.url, prefix=prefix, timeout=30)
    subjects = [f"subject-{i}" for i in range(SHARED_SUBJECTS)]
    recount: Counter[tuple[str, str, bool]] = Counter()
    for state in store.lookup(subjects).values():
        if state is not None:
            for category, granted in state.choices.items():
                recount[(state.policy_version, category, granted)] += 1
    counted = time.perf_counter()
    counts = store.counts()
    counts_ms = (time.perf_counter() - counted) * 1000
    with server.client() as admin, admin.pipeline(transaction=False) as pipe:
        for subject in subjects:
            pipe.llen(store.keys.hist(subject))
        records = sum(pipe.execute())
    store.close()
    total = WRITERS * CHANGES_PER_WRITER
    return {
        "changes": total,
        "per_s": total / elapsed,
        "records": records,
        "exact": counts == {k: n for k, n in recount.items() if n} and records == total,
        "cells": len(counts),
        "subjects_counted": sum(recount.values()) // len(CATEGORIES),
        "counts_ms": counts_ms,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fsync", choices=("always", "everysec", "no"), default="everysec")
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        print("redis-server is not on PATH: sudo apt-get install redis-server", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as directory:
        server = Server(Path(directory), args.fsync)
        try:
            version = server.client().info("server")["redis_version"]
            rt = round_trips(server)
            lookup = lookup_throughput(server)
            writers = concurrent_writers(server)
        finally:
            server.stop()

    rows = [
        (
            "(a) round trips per consent change",
            f"{rt['writes']:.3f} socket writes, {rt['evalsha']:.3f} EVALSHA ({rt['changes']:.0f})",
            "= 1",
            rt["writes"] == 1 and rt["evalsha"] == 1,
        ),
        (
            f"(b) lookup of {LOOKUP_SUBJECTS:,} subjects (median of {LOOKUP_ROUNDS})",
            f"{lookup['ours_per_s']:,.0f}/s ({lookup['ours_ms']:.1f} ms) vs raw pipelined GET "
            f"{lookup['raw_per_s']:,.0f}/s ({lookup['raw_ms']:.1f} ms) = {lookup['ratio']:.0%}",
            ">= 70%",
            lookup["ratio"] >= 0.70,
        ),
        (
            f"(c) {WRITERS} writers x {CHANGES_PER_WRITER:,} changes",
            f"{writers['per_s']:,.0f} changes/s; {writers['records']:,} records; "
            f"{writers['cells']} counters match a recount of "
            f"{writers['subjects_counted']:,} subjects: {writers['exact']} "
            f"(counts() read 16,384 shards in {writers['counts_ms']:.0f} ms)",
            "exact",
            bool(writers["exact"]),
        ),
    ]
    print(f"RedisStore on redis-server {version}, loopback, appendfsync {args.fsync}\n")
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'target':<7} {'ok':<4} result")
    for name, result, target, ok in rows:
        print(f"{name:<{width}}  {target:<7} {'yes' if ok else 'NO':<4} {result}")
    return 0 if all(r[3] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
