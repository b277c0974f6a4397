"""The advertising team's feed, side by side with its anchors, in one run.

(a) Point-in-time lookup of 10,000 ids (``store.as_of(ids, T)``) against the current-state
    lookup of the same ids (``store.lookup(ids)``), on SQLite, Redis (a private
    ``redis-server``) and memory. Every subject has three records, at T - 100 s, T + 100 s
    and T + 200 s, so the answer at T is the oldest: the worst case for a history read
    newest first. Also asked at T + 300 s, after every subject's last change (a recent
    click: the current state answers). Medians of several rounds; ratios to lookup.
(b) Change-feed read throughput: every change of the ledger read in pages of 1,000
    (``store.changes``, records decoded), against the raw read of the same rows (redis-py
    ``XRANGE`` / ``sqlite3`` ``SELECT``, bytes left undecoded); changes per second and the
    ratio.
(c) Delivery latency and throughput: a writer appends changes one by one; (1) a reader
    thread following ``store.changes`` (polling every millisecond) notes when each one
    arrives; (2) a ``WebhookWorker`` POSTs them, signed, to a local HTTP receiver that
    verifies each signature. Latency = arrival - append, p50 and p99; throughput =
    changes delivered per second when 5,000 are waiting (batches of 100).

Run: ``python benchmarks/bench_feed.py [--ids N] [--out FILE]``; the table is printed
and written to ``benchmarks/results/feed.md`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from _redis_server import Server
from _tools import require

from consent_mw import MemoryStore, SQLiteStore
from consent_mw.query import QueryService
from consent_mw.query.adfeed import AdsFeed
from consent_mw.query.webhooks import SIGNATURE_HEADER, WebhookWorker, verify_signature
from consent_mw.stores import Record, RedisStore
from consent_mw.stores.base import BaseStore

T = 1_790_000_000.0
ROUNDS = 7
SECRET = "bench-feed-secret-0123456789"
_n = iter(range(1, 10**12))


def record(subject: str, at: float, advertising: bool) -> Record:
    return Record(
        record_id=f"{int(at * 1000):012x}{next(_n):016x}",
        subject_id=subject,
        time=at,
        policy_version="2026-11",
        text_hash="ab" * 32,
        choices={"functional": True, "analytics": False, "advertising": advertising},
        action="custom",
        source="banner",
        regime="gdpr",
        country="DE",
        locale="en",
    )


def load(store: BaseStore, ids: list[str]) -> None:
    batch = [
        record(s, T + offset, advertising=offset < 0)
        for offset in (-100.0, 100.0, 200.0)
        for s in ids
    ]
    if isinstance(store, RedisStore):
        store.append_many(batch)
    else:
        for r in batch:
            store.append(r)


def median_of(fn: Callable[[], Any]) -> float:
    fn()  # warm
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def point_in_time(name: str, store: BaseStore, ids: list[str]) -> dict[str, Any]:
    load(store, ids)
    at = store.as_of(ids, T)
    assert all(r is not None and r.choices["advertising"] for r in at.values()), name
    lookup = median_of(lambda: store.lookup(ids))
    as_of = median_of(lambda: store.as_of(ids, T))
    recent = median_of(lambda: store.as_of(ids, T + 300))
    return {
        "store": name,
        "lookup_ms": lookup * 1000,
        "as_of_ms": as_of * 1000,
        "recent_ms": recent * 1000,
    }


def read_all(store: BaseStore) -> int:
    cursor, n = "0", 0
    while True:
        page = store.changes(cursor, limit=1000)
        if not page.changes:
            return n
        n += len(page.changes)
        cursor = page.next


def raw_reader(store: BaseStore) -> Callable[[], int]:
    if isinstance(store, RedisStore):
        client, key = store.client(), store.keys.feed()

        def redis_raw() -> int:
            start, n = "-", 0
            while True:
                rows = client.xrange(key, start, "+", count=1000)
                if not rows:
                    return n
                n += len(rows)
                start = "(" + rows[-1][0].decode()

        return redis_raw
    assert isinstance(store, SQLiteStore)
    path = store.path

    def sqlite_raw() -> int:
        db = sqlite3.connect(path)
        last, n = 0, 0
        while True:
            rows = db.execute(
                "SELECT seq, body FROM feed WHERE seq > ? ORDER BY seq LIMIT 1000", (last,)
            ).fetchall()
            if not rows:
                db.close()
                return n
            n += len(rows)
            last = rows[-1][0]

    return sqlite_raw


def feed_read(name: str, store: BaseStore) -> dict[str, Any]:
    total = read_all(store)
    feed = median_of(lambda: read_all(store))
    raw = median_of(raw_reader(store))
    return {"store": name, "changes": total, "feed_per_s": total / feed, "raw_per_s": total / raw}


def follow_latency(name: str, store: BaseStore, n: int = 500) -> dict[str, Any]:
    appended: dict[str, float] = {}
    seen: dict[str, float] = {}
    done = threading.Event()
    cursor = store.feed_end()

    def reader() -> None:
        nonlocal cursor
        while len(seen) < n:
            page = store.changes(cursor, limit=1000)
            now = time.perf_counter()
            for change in page.changes:
                seen.setdefault(change.record.record_id, now)
            cursor = page.next
            if not page.changes:
                time.sleep(0.001)
        done.set()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    for i in range(n):
        r = record(f"lat{i}", T + 1000 + i, advertising=False)
        appended[r.record_id] = time.perf_counter()
        store.append(r)
        time.sleep(0.002)  # one change at a time, as visitors withdraw
    done.wait(60)
    lat = sorted((seen[k] - appended[k]) * 1000 for k in appended if k in seen)
    return {"store": name, "path": "feed reader", **percentiles(lat), "n": len(lat)}


def percentiles(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": statistics.median(values),
        "p99_ms": values[min(len(values) - 1, int(len(values) * 0.99))],
    }


class Receiver:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["content-length"]))
                verify_signature(SECRET, body, self.headers.get(SIGNATURE_HEADER))
                now = time.perf_counter()
                for change in json.loads(body)["changes"]:
                    receiver.arrived.setdefault(change["record"]["record_id"], now)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def webhook(name: str, store: BaseStore, state: Path, n: int = 300) -> list[dict[str, Any]]:
    receiver = Receiver()
    worker = WebhookWorker(AdsFeed(QueryService(store)), receiver.url, SECRET, str(state))
    worker.cursor()  # starts at the end of the feed
    stop = threading.Event()
    thread = threading.Thread(target=lambda: worker.run(wait=1.0, stop=stop.is_set), daemon=True)
    thread.start()
    appended: dict[str, float] = {}
    for i in range(n):
        r = record(f"hook{i}", T + 5000 + i, advertising=False)
        appended[r.record_id] = time.perf_counter()
        store.append(r)
        time.sleep(0.002)
    deadline = time.monotonic() + 60
    while len(receiver.arrived) < n and time.monotonic() < deadline:
        time.sleep(0.01)
    lat = sorted(
        (receiver.arrived[k] - appended[k]) * 1000 for k in appended if k in receiver.arrived
    )
    stop.set()
    thread.join(10)
    rows = [{"store": name, "path": "signed webhook", **percentiles(lat), "n": len(lat)}]
    # throughput: 5,000 changes waiting, delivered in batches of 100
    backlog = [record(f"bulk{i}", T + 9000 + i, advertising=False) for i in range(5000)]
    start_cursor = store.feed_end()
    for r in backlog:
        store.append(r)
    bulk = WebhookWorker(
        AdsFeed(QueryService(store)), receiver.url, SECRET, str(state) + ".bulk", batch=100
    )
    bulk._save(start_cursor)
    start = time.perf_counter()
    delivered = 0
    while (sent := bulk.run_once()) > 0:
        delivered += sent
    rate = delivered / (time.perf_counter() - start)
    rows[0]["webhook_per_s"] = rate
    worker.close()
    bulk.close()
    receiver.close()
    return rows


def main() -> int:
    require("redis-server")
    parser = argparse.ArgumentParser()
    parser.add_argument("--ids", type=int, default=10_000)
    parser.add_argument("--out", default="benchmarks/results/feed.md")
    args = parser.parse_args()
    ids = [f"subject-{i:07d}" for i in range(args.ids)]
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        stores: dict[str, BaseStore] = {
            "sqlite": SQLiteStore(Path(tmp) / "ledger.sqlite3"),
            "redis": RedisStore(server.url, prefix="bench-feed"),
            "memory": MemoryStore(),
        }
        pit = [point_in_time(name, store, ids) for name, store in stores.items()]
        reads = [feed_read(name, stores[name]) for name in ("sqlite", "redis")]
        lat = [follow_latency(name, stores[name]) for name in ("sqlite", "redis")]
        hooks = [
            row
            for name in ("sqlite", "redis")
            for row in webhook(name, stores[name], Path(tmp) / f"{name}-hooks.sqlite3")
        ]
        for store in stores.values():
            store.close()
        server.stop()
    lines = [
        "# Feed benchmark",
        "",
        f"{dt.date.today()}, {platform.python_version()}, {platform.machine()},"
        f" {os.cpu_count()} CPUs; `python benchmarks/bench_feed.py --ids {args.ids}`",
        "",
        f"## (a) point-in-time vs current-state lookup, {args.ids:,} ids (median of {ROUNDS})",
        "",
        "| store | lookup (ms) | as_of T (ms) | as_of T / lookup | as_of T+300 (ms) | ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {r['store']} | {r['lookup_ms']:.1f} | {r['as_of_ms']:.1f}"
            f" | {r['as_of_ms'] / r['lookup_ms']:.2f} | {r['recent_ms']:.1f}"
            f" | {r['recent_ms'] / r['lookup_ms']:.2f} |"
            for r in pit
        ),
        "",
        "## (b) change-feed read throughput (pages of 1,000) vs the raw read",
        "",
        "| store | changes | feed (changes/s) | raw (rows/s) | raw / feed |",
        "| --- | ---: | ---: | ---: | ---: |",
        *(
            f"| {r['store']} | {r['changes']:,} | {r['feed_per_s']:,.0f} | {r['raw_per_s']:,.0f}"
            f" | {r['raw_per_s'] / r['feed_per_s']:.2f} |"
            for r in reads
        ),
        "",
        "## (c) delivery latency (append -> arrival) and webhook throughput",
        "",
        "| store | path | changes | p50 (ms) | p99 (ms) | webhook backlog (changes/s) |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
        *(
            f"| {r['store']} | {r['path']} | {r['n']} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f}"
            f" | {r.get('webhook_per_s', 0):,.0f} |".replace(" | 0 |", " | - |")
            for r in [*lat, *hooks]
        ),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
