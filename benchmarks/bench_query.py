"""The query surface over a large Redis ledger, side by side with its anchors, in one run.

Starts a private ``redis-server`` (from the binary on PATH) on a free loopback port with
its files in a temporary directory (``appendonly no``, ``save ""``: the load is set-up,
not the subject) and stops it at the end, whatever happens. Loads ``--subjects``
subjects (default 1,000,000; one consent record each, two policy versions, three
categories) with ``RedisStore.append_many`` and prints how long that took. The counter
total exists before the load, so the load keeps it exact as production writes would.

(a) ``stats``: ``QueryService.stats()`` and ``GET /stats`` (the Starlette app through
    ``httpx.ASGITransport``, in-process) answer from the maintained counters; each
    the median of several calls, access-log write included. Anchor: ``store.recount()``,
    a walk over every current state (run once: it is slow), which must agree with the
    counters. Targets: each median < 5 ms, and recount / stats >= 100 (slower median).
(b) ``export`` of every subject, rows handed on batch by batch: the Python path
    (``ExportRun.batches()`` encoded with ``encode_rows``) to JSON Lines and to CSV,
    each in a fresh process; and ``GET /export`` from the app under a real uvicorn
    server on loopback (a child process), streamed by an httpx client that counts
    the lines. (``httpx.ASGITransport`` collects a whole body before it answers, so it
    cannot show a streamed export's memory.) Memory: the exporting process's peak
    resident set (``VmHWM``; the worker's own, or the server's) above its resident set
    when the export starts, the peak having been reset to that then (``clear_refs``):
    once after the first tenth of the rows and once at the end. Targets: >= 50,000
    rows/s and every subject exported, per path; flat memory: the growth at the end at
    most 16 MB above the growth after the first tenth (a leak of 20 bytes a row over
    900,000 rows would be 18 MB).
(c) ``POST /lookup`` of 1,000 known ids through the app (``httpx.AsyncClient`` over
    ``ASGITransport`` in the running event loop: request body, auth, JSON parsing,
    ``redis.asyncio``, answer encoding, no socket; the clock stops when the answer's
    bytes are in, before the client decodes them) against raw redis-py reading the
    same 1,000 current-state keys with a pipeline of GETs, bytes left undecoded. Also
    shown, as parts of the former: ``QueryService.alookup`` and ``RedisStore.alookup``
    (MGET + records decoded). Fresh ids every round, read once untimed before it (so
    no variant pays alone for cold keys), variants interleaved with each one first,
    second… equally often; medians. Target: POST /lookup <= 2 x raw.

Run: ``python benchmarks/bench_query.py [--subjects N] [--out FILE]``. The table is
printed and, for the full 1,000,000 (or with ``--out``), written to
``benchmarks/results/query.md``. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import datetime as dt
import hashlib
import multiprocessing
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any

import httpx
from _redis_server import Server, free_port, wait_for_port

from consent_mw import Policy
from consent_mw.query import QueryService, create_app, csv_header, encode_rows, hash_token
from consent_mw.stores import Record, RedisStore

HOST = "127.0.0.1"
PREFIX = "bench-query"
DEFAULT_SUBJECTS = 1_000_000
LOAD_CHUNK = 2000
STATS_CALLS = 31
LOOKUP_IDS = 1000
LOOKUP_ROUNDS = 32
LOOKUP_WARMUP = 4
LOOKUP_VARIANTS = ("raw", "store", "service", "http")
FLAT_SLACK_MB = 16.0
CURRENT_VERSION = "2026-11"
OLD_VERSION = "2026-06"
COUNTRIES = ("DE", "FR", "NL", "IT", "ES", "PL", "SE", "AT")
ACTIONS = ("accept_all", "reject_all", "custom", "custom")
NOW = time.time()
POLICY = Policy.preset("gdpr", version=CURRENT_VERSION)
READ_TOKEN = "cmwq_benchmark-read-token-0123456789abcdef"
TOKENS = [f"bench:read:sha256:{hash_token(READ_TOKEN)}"]
AUTH = {"authorization": f"Bearer {READ_TOKEN}"}
RESULTS = Path(__file__).resolve().parent / "results" / "query.md"


# -- the ledger ----------------------------------------------------------------------------


def subject_id(n: int) -> str:
    """Subject number ``n``'s consent id: 32 hex digits, as random-looking as real ones,
    yet computable from ``n`` (no list of a million ids is kept)."""
    return hashlib.blake2b(n.to_bytes(8, "big"), digest_size=16).hexdigest()


def make_record(n: int, rng: random.Random) -> Record:
    at = NOW - rng.uniform(0, 400 * 86400)  # some older than the consent lifetime
    current = rng.random() < 0.8
    return Record(
        record_id=f"{int(at * 1000):012x}{rng.getrandbits(64):016x}",
        subject_id=subject_id(n),
        time=at,
        policy_version=CURRENT_VERSION if current else OLD_VERSION,
        text_hash=f"{rng.getrandbits(256):064x}",
        choices={
            "functional": rng.random() < 0.7,
            "analytics": rng.random() < 0.5,
            "advertising": rng.random() < 0.4,
        },
        action=rng.choice(ACTIONS),
        source="banner",
        regime="gdpr",
        country=rng.choice(COUNTRIES),
        locale="en",
        gpc=rng.random() < 0.05,
        user_id=f"user-{n}" if rng.random() < 0.3 else None,
        ip="203.0.113.0",
        user_agent="Mozilla/5.0 (X11; Linux x86_64) bench",
    )


def records(start: int, stop: int) -> Iterator[Record]:
    rng = random.Random(start)
    for n in range(start, stop):
        yield make_record(n, rng)


def load_part(url: str, start: int, stop: int) -> int:
    """Load subjects ``start`` … ``stop - 1`` (in a worker process); how many applied."""
    store = RedisStore(url, prefix=PREFIX, timeout=60)
    try:
        return store.append_many(records(start, stop), chunk=LOAD_CHUNK)
    finally:
        store.close()


def load(server: Server, subjects: int, workers: int) -> float:
    """Load the ledger with ``workers`` processes (Python builds the records while Redis
    runs the scripts); the seconds it took."""
    store = RedisStore(server.url, prefix=PREFIX, timeout=60)
    store.counts()  # builds the (empty) counter total: the load keeps it exact from here
    store.close()
    bounds = [subjects * i // workers for i in range(workers + 1)]
    started = time.perf_counter()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        applied = sum(pool.map(load_part, [server.url] * workers, bounds[:-1], bounds[1:]))
    elapsed = time.perf_counter() - started
    if applied != subjects:
        raise SystemExit(f"the load applied {applied:,} of {subjects:,} records")
    return elapsed


# -- (a) stats against a recount ------------------------------------------------------------


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


async def http_stats(store: RedisStore, calls: int) -> list[float]:
    app = create_app(store, policy=POLICY, tokens=TOKENS)
    transport = httpx.ASGITransport(app=app)
    times: list[float] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for i in range(calls + 3):
            started = time.perf_counter()
            response = await client.get("/stats", headers=AUTH)
            elapsed = time.perf_counter() - started
            response.raise_for_status()
            if i >= 3:  # the first calls connect and warm up
                times.append(elapsed)
    await store.aclose()
    return times


def stats_part(server: Server, subjects: int) -> dict[str, Any]:
    store = RedisStore(server.url, prefix=PREFIX, timeout=60)
    service = QueryService(store, policy=POLICY)
    counts_times, service_times = [], []
    for i in range(STATS_CALLS + 3):
        started = time.perf_counter()
        counts = store.counts()
        middle = time.perf_counter()
        answer = service.stats()
        ended = time.perf_counter()
        if i >= 3:
            counts_times.append(middle - started)
            service_times.append(ended - middle)
    if answer["subjects"] != subjects:
        raise SystemExit(f"stats counted {answer['subjects']:,} subjects, not {subjects:,}")
    http_times = asyncio.run(http_stats(store, STATS_CALLS))
    started = time.perf_counter()
    recounted = store.recount()
    recount_s = time.perf_counter() - started
    store.close()
    service_ms, http_ms = median_ms(service_times), median_ms(http_times)
    return {
        "counts_ms": median_ms(counts_times),
        "service_ms": service_ms,
        "http_ms": http_ms,
        "http_max_ms": max(http_times) * 1000,
        "service_max_ms": max(service_times) * 1000,
        "recount_s": recount_s,
        "ratio": recount_s * 1000 / max(service_ms, http_ms),
        "exact": recounted == counts,
        "cells": len(counts),
    }


# -- (b) export ---------------------------------------------------------------------------------


def proc_mb(pid: int | str, field: str) -> float:
    """``VmHWM`` (peak resident set) or ``VmRSS`` (resident set now) of process ``pid``
    (or ``"self"``) from ``/proc`` (in KiB there), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(f"no {field} for process {pid}")


def start_peak(pid: int | str) -> tuple[float, bool]:
    """Open a measuring window on a process's peak resident set: reset its ``VmHWM`` to
    its resident set now (``clear_refs``, Linux >= 4.0) and return that size and True.
    Where the reset is refused, the peak so far and False: growth then only shows once
    it passes the earlier peak (start-up's, say)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return proc_mb(pid, "VmHWM"), False
    return proc_mb(pid, "VmRSS"), True


@dataclass
class ExportFigures:
    rows: int
    megabytes: float
    seconds: float
    base_mb: float  # resident set before the export
    growth_tenth_mb: float  # peak growth over base once a tenth of the rows were out
    growth_end_mb: float  # … at the end
    reset: bool  # the peak was reset before the export (see start_peak)

    @property
    def per_s(self) -> float:
        return self.rows / self.seconds

    @property
    def flat(self) -> bool:
        return self.growth_end_mb <= self.growth_tenth_mb + FLAT_SLACK_MB


def python_export(url: str, fmt: str, subjects: int) -> ExportFigures:
    """Every subject through ``ExportRun.batches()`` + ``encode_rows`` (in a fresh worker
    process: nothing else in it holds memory); the bytes are counted, then dropped, as a
    writer to a socket or file would."""
    store = RedisStore(url, prefix=PREFIX, timeout=60)
    service = QueryService(store, policy=POLICY)
    for _ in service.export(limit=1000):  # connect, load the code paths
        pass
    base, reset = start_peak("self")
    tenth = max(subjects // 10, 1)
    growth_tenth: float | None = None
    rows = size = 0
    started = time.perf_counter()
    run = service.export()
    for batch in run.batches():
        if fmt == "csv" and rows == 0:
            size += len(csv_header(run.categories))
        size += len(encode_rows(batch, "csv" if fmt == "csv" else "jsonl", run.categories))
        rows += len(batch)
        if growth_tenth is None and rows >= tenth:
            growth_tenth = proc_mb("self", "VmHWM") - base
    elapsed = time.perf_counter() - started
    growth_end = proc_mb("self", "VmHWM") - base
    store.close()
    return ExportFigures(rows, size / 1e6, elapsed, base, growth_tenth or 0.0, growth_end, reset)


def in_fresh_process(function: Any, *args: Any) -> Any:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def serve_api(url: str, port: int) -> None:
    """The query app under uvicorn (h11, asyncio) on loopback (a child process)."""
    import uvicorn

    app = create_app(RedisStore(url, prefix=PREFIX, timeout=60), policy=POLICY, tokens=TOKENS)
    config = uvicorn.Config(
        app, host=HOST, port=port, log_level="warning", access_log=False, lifespan="off"
    )
    uvicorn.Server(config).run()


def http_export(url: str, subjects: int) -> ExportFigures:
    """``GET /export`` (JSON Lines) from uvicorn, streamed and counted by httpx; memory
    is the server process's."""
    port = free_port()
    process = multiprocessing.get_context("spawn").Process(
        target=serve_api, args=(url, port), daemon=True
    )
    process.start()
    assert process.pid is not None
    pid = process.pid

    def stop() -> None:
        if process.is_alive():
            process.terminate()
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join(10)

    atexit.register(stop)
    try:
        wait_for_port(port, process.is_alive, "uvicorn")
        base_url = f"http://{HOST}:{port}"
        with httpx.Client(base_url=base_url, headers=AUTH, timeout=120) as client:
            client.get("/stats").raise_for_status()
            client.get("/export", params={"limit": 1000}).raise_for_status()  # warm up
            base, reset = start_peak(pid)
            tenth = max(subjects // 10, 1)
            growth_tenth: float | None = None
            rows = size = 0
            started = time.perf_counter()
            with client.stream("GET", "/export") as response:
                response.raise_for_status()
                for chunk in response.iter_raw():
                    rows += chunk.count(b"\n")
                    size += len(chunk)
                    if growth_tenth is None and rows >= tenth:
                        growth_tenth = proc_mb(pid, "VmHWM") - base
            elapsed = time.perf_counter() - started
            growth_end = proc_mb(pid, "VmHWM") - base
    finally:
        stop()
    return ExportFigures(rows, size / 1e6, elapsed, base, growth_tenth or 0.0, growth_end, reset)


# -- (c) lookup against raw pipelined reads ---------------------------------------------------


async def lookup_rounds(server: Server, subjects: int) -> dict[str, float]:
    """Medians (ms) of the lookup variants over interleaved rounds (see the module
    docstring), and POST /lookup over the raw read."""
    store = RedisStore(server.url, prefix=PREFIX, timeout=60)
    service = QueryService(store, policy=POLICY)
    app = create_app(store, policy=POLICY, tokens=TOKENS)
    raw = server.client()
    rng = random.Random(3)
    wanted = min(LOOKUP_IDS, subjects)

    async def timed(name: str, client: httpx.AsyncClient, ids: list[str]) -> float:
        if name == "raw":
            keys = store.keys.curs(ids)  # key names are part of the raw read too
            started = time.perf_counter()
            with raw.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.get(key)
                values = pipe.execute()
            elapsed = time.perf_counter() - started
            found = sum(v is not None for v in values)
        elif name == "store":
            started = time.perf_counter()
            records = await store.alookup(ids)
            elapsed = time.perf_counter() - started
            found = sum(r is not None for r in records.values())
        elif name == "service":
            started = time.perf_counter()
            answer = await service.alookup(ids)
            elapsed = time.perf_counter() - started
            found = answer["found"]
        else:
            started = time.perf_counter()
            response = await client.post("/lookup", json={"ids": ids}, headers=AUTH)
            elapsed = time.perf_counter() - started  # the body is in; decoding it is the client's
            response.raise_for_status()
            found = response.json()["found"]
        if found != len(ids):
            raise SystemExit(f"{name}: found {found} of {len(ids)} subjects")
        return elapsed

    times: dict[str, list[float]] = {name: [] for name in LOOKUP_VARIANTS}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for i in range(LOOKUP_WARMUP + LOOKUP_ROUNDS):
            ids = [subject_id(n) for n in rng.sample(range(subjects), wanted)]
            # Read once, untimed: whichever variant came first would otherwise pay alone
            # for bringing the keys into the server's caches.
            raw.mget(store.keys.curs(ids))
            shift = i % len(LOOKUP_VARIANTS)  # each variant first, second… equally often
            for name in LOOKUP_VARIANTS[shift:] + LOOKUP_VARIANTS[:shift]:
                elapsed = await timed(name, client, ids)
                if i >= LOOKUP_WARMUP:
                    times[name].append(elapsed)
    await store.aclose()
    raw.close()
    medians = {f"{name}_ms": median_ms(samples) for name, samples in times.items()}
    return {"ids": wanted, **medians, "ratio": medians["http_ms"] / medians["raw_ms"]}


# -- the report ------------------------------------------------------------------------------


def machine_notes(redis_version: str) -> list[str]:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    packages = ", ".join(
        f"{name} {dist_version(name)}"
        for name in ("starlette", "httpx", "uvicorn", "redis", "hiredis")
    )
    return [
        f"{platform.node()}: {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; load average at start {load} "
        "(a shared machine: other work may run beside)",
        f"redis-server {redis_version} on loopback, appendonly no, no snapshots; {packages}",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subjects", type=int, default=DEFAULT_SUBJECTS)
    parser.add_argument("--out", type=Path, help=f"write the table here (default {RESULTS})")
    parser.add_argument("--load-workers", type=int, default=2)
    args = parser.parse_args()
    if args.subjects < 1000:
        parser.error("--subjects must be at least 1000")
    if shutil.which("redis-server") is None:
        print("redis-server is not on PATH: sudo apt-get install redis-server", file=sys.stderr)
        return 2
    out = args.out or (RESULTS if args.subjects == DEFAULT_SUBJECTS else None)
    began = time.perf_counter()
    started_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    with tempfile.TemporaryDirectory(prefix="bench-query-") as directory:
        server = Server(Path(directory))
        try:
            with server.client() as admin:
                redis_version = admin.info("server")["redis_version"]
            notes = machine_notes(redis_version)
            for note in notes:
                print(note, flush=True)
            n = args.subjects
            print(f"loading {n:,} subjects …", flush=True)
            load_s = load(server, n, args.load_workers)
            with server.client() as admin:
                used_mb = admin.info("memory")["used_memory"] / 1e6
            print(f"loaded {n:,} subjects in {load_s:.1f} s ({n / load_s:,.0f}/s)", flush=True)
            stats = stats_part(server, n)
            print(f"stats done, recount took {stats['recount_s']:.1f} s", flush=True)
            jsonl = in_fresh_process(python_export, server.url, "jsonl", n)
            print(f"Python JSONL export: {jsonl.per_s:,.0f} rows/s", flush=True)
            csv_ = in_fresh_process(python_export, server.url, "csv", n)
            print(f"Python CSV export: {csv_.per_s:,.0f} rows/s", flush=True)
            http = http_export(server.url, n)
            print(f"HTTP JSONL export: {http.per_s:,.0f} rows/s", flush=True)
            lookup = asyncio.run(lookup_rounds(server, n))
        finally:
            server.stop()
    total_s = time.perf_counter() - began

    rows: list[tuple[str, str, str, bool]] = [
        (
            f"(a) stats, QueryService.stats() (median of {STATS_CALLS})",
            f"{stats['service_ms']:.2f} ms (max {stats['service_max_ms']:.2f}); "
            f"store.counts() alone {stats['counts_ms']:.2f} ms",
            "< 5 ms",
            stats["service_ms"] < 5,
        ),
        (
            f"(a) stats, GET /stats via ASGITransport (median of {STATS_CALLS})",
            f"{stats['http_ms']:.2f} ms (max {stats['http_max_ms']:.2f})",
            "< 5 ms",
            stats["http_ms"] < 5,
        ),
        (
            "(a) recount by scan / stats (slower median)",
            f"recount {stats['recount_s']:.1f} s = {stats['ratio']:,.0f}x; "
            f"{stats['cells']} counters equal the recount: {stats['exact']}",
            ">= 100x, equal",
            stats["ratio"] >= 100 and bool(stats["exact"]),
        ),
    ]
    for name, figures in (
        ("Python ExportRun -> JSON Lines", jsonl),
        ("Python ExportRun -> CSV", csv_),
        ("GET /export JSON Lines, uvicorn + httpx stream", http),
    ):
        rows.append(
            (
                f"(b) export, {name}",
                f"{figures.rows:,} rows, {figures.megabytes:,.0f} MB in {figures.seconds:.1f} s "
                f"= {figures.per_s:,.0f} rows/s",
                ">= 50,000/s, all",
                figures.per_s >= 50_000 and figures.rows >= n,
            )
        )
        rows.append(
            (
                "    its peak memory growth (first 10% of rows / all)",
                f"+{figures.growth_tenth_mb:.1f} MB / +{figures.growth_end_mb:.1f} MB over "
                f"{figures.base_mb:.0f} MB resident at the start"
                + ("" if figures.reset else " (peak not reset: growth past the earlier peak)"),
                f"flat (+{FLAT_SLACK_MB:.0f} MB)",
                figures.flat,
            )
        )
    rows.append(
        (
            f"(c) POST /lookup of {lookup['ids']:,} ids, in-process ASGITransport "
            f"(median of {LOOKUP_ROUNDS})",
            f"{lookup['http_ms']:.2f} ms vs raw pipelined GET {lookup['raw_ms']:.2f} ms "
            f"= {lookup['ratio']:.2f}x (inside it: QueryService.alookup "
            f"{lookup['service_ms']:.2f} ms, of which RedisStore.alookup "
            f"{lookup['store_ms']:.2f} ms)",
            "<= 2x",
            lookup["ratio"] <= 2,
        )
    )

    head = f"Query surface over {n:,} subjects in Redis"
    lines = [
        f"load: {n:,} subjects with append_many in {load_s:.1f} s ({n / load_s:,.0f}/s, "
        f"{args.load_workers} processes); Redis used_memory {used_mb:,.0f} MB",
        f"whole run {total_s:.0f} s",
    ]
    width = max(len(r[0]) for r in rows)
    target_width = max(len(r[2]) for r in rows)
    print(f"\n{head}\n")
    for line in lines:
        print(line)
    print()
    print(f"{'measure':<{width}}  {'target':<{target_width}}  {'ok':<4} result")
    for name, result, target, ok in rows:
        print(f"{name:<{width}}  {target:<{target_width}}  {'yes' if ok else 'NO':<4} {result}")
    if out is not None:
        table = [
            f"# {head}",
            "",
            f"`python benchmarks/bench_query.py"
            f"{'' if n == DEFAULT_SUBJECTS else f' --subjects {n}'}` ({started_at}).",
            "",
            *(f"- {note}" for note in notes),
            *(f"- {line}" for line in lines),
            "",
            "| measure | result | target | ok |",
            "|---|---|---|---|",
            *(
                f"| {name.strip()} | {result} | {target} | {'yes' if ok else '**NO**'} |"
                for name, result, target, ok in rows
            ),
        ]
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(table) + "\n", encoding="utf-8")
        print(f"\nwritten to {out}")
    return 0 if all(r[3] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
