"""The request recorder's cost per hit into Redis: the working tree beside a git ref.

What ``record_requests=True`` costs behind every response: the recorder minimises each
hit into events (the necessary one, and the device facts with analytics allowed) and
writes them to the ledger in batches. Here both recorders, the tree's and ``--against
REF``'s (imported from ``git archive REF``), take the same hits (one visitor, analytics
allowed, the e2e benchmark's user agent) and write them to one private ``redis-server``
(``--appendonly yes --appendfsync always``, as ``e2e/run.py`` runs it) under their own
key prefixes, in interleaved rounds of ``--hits`` hits each, one ``flush()`` per round
(batches of 128, the worker thread's way and the sync client). A third runner, ``tree,
on the loop``, is the tree's recorder as ``ConsentMiddleware`` runs it: its batches
minimised and written by a task on an event loop through ``redis.asyncio``. Per hit:
the client's CPU time (this process: minimising, encoding, redis-py) and the server's
(``/proc/<pid>/stat``), median of the rounds. Reported, no target: the e2e benchmark
says what it comes to under load.

Run: ``python benchmarks/bench_recorder.py --against REF`` (needs ``redis-server``:
``sudo apt-get install redis-server``).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _redis_server import Server
from _tools import cpu_seconds, require
from bench_rewrite import load_copy

from consent_mw.core.device import DeviceParser

AGENT = "e2e-bench"
SUBJECT = "c" + "a" * 31


def recorder(
    package: str, url: str, prefix: str, parser: DeviceParser, **options: Any
) -> tuple[Any, Any]:
    """The Recorder of ``package`` (a module name) over its RedisStore, with the demo's
    policy, and its Hit; no worker thread (flushed by hand, in this thread)."""
    recorder_module = importlib.import_module(package + ".core.recorder")
    policy = importlib.import_module(package + ".demo").demo_policy()
    store = importlib.import_module(package + ".stores").RedisStore(url, prefix=prefix)
    made = recorder_module.Recorder(store, policy, parser=lambda: parser, **options)
    made._start = lambda: None
    return made, recorder_module.Hit


def round_(made: Any, hit: Any, hits: int, pid: int) -> tuple[float, float]:
    """(client µs, server µs) per hit for one round."""
    allowed = frozenset({"necessary", "analytics"})
    now = time.time()
    for _ in range(hits):
        made._queue.append(
            hit(now, "request", "/shows/1", 200, "127.0.0.1", AGENT, allowed, SUBJECT)
        )
    client, server = time.process_time(), cpu_seconds(pid)
    if getattr(made, "on_loop", False):
        asyncio.run(_on_the_loop(made))
    made.flush()  # (on the loop: what is less than a batch)
    return (
        (time.process_time() - client) / hits * 1e6,
        (cpu_seconds(pid) - server) / hits * 1e6,
    )


async def _on_the_loop(made: Any) -> None:
    """The whole batches queued, written by the recorder's task on this loop."""
    while len(made._queue) >= made.batch_size:
        made._batch_full()
        await made.settle()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--against", required=True, help="a git ref to compare with")
    parser.add_argument("--hits", type=int, default=20_000, help="hits per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    require("redis-server")
    device = DeviceParser()
    with tempfile.TemporaryDirectory() as tmp:
        load_copy(args.against, "cmw_ref", False, Path(tmp, "ref"))
        server = Server(Path(tmp), fsync="always")
        pid = server.process.pid
        try:
            runners = {
                args.against: recorder("cmw_ref", server.url, "ref", device),
                "tree": recorder("consent_mw", server.url, "tree", device),
                "tree, on the loop": recorder(
                    "consent_mw", server.url, "loop", device, on_loop=True
                ),
            }
            for made, hit in runners.values():
                round_(made, hit, 1_000, pid)  # warm: scripts loaded, parser memo
            client: dict[str, list[float]] = {name: [] for name in runners}
            redis: dict[str, list[float]] = {name: [] for name in runners}
            for r in range(args.rounds):
                order = list(runners) if r % 2 == 0 else list(reversed(runners))
                for name in order:
                    c, s = round_(*runners[name], args.hits, pid)
                    client[name].append(c)
                    redis[name].append(s)
        finally:
            server.stop()
    print(f"{args.rounds} rounds x {args.hits:,} hits, median per hit (µs):\n")
    print("| recorder | client CPU | redis-server CPU |")
    print("|---|---:|---:|")
    for name in runners:
        print(
            f"| {name} | {statistics.median(client[name]):.1f} | "
            f"{statistics.median(redis[name]):.1f} |"
        )
    ratio = statistics.median(
        t / r for t, r in zip(client["tree"], client[args.against], strict=True)
    )
    loop = statistics.median(
        t / r for t, r in zip(client["tree, on the loop"], client["tree"], strict=True)
    )
    print(f"\ntree / {args.against}, client CPU per hit: {ratio:.2f} (reported)")
    print(f"tree on the loop / tree, client CPU per hit: {loop:.2f} (reported)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
