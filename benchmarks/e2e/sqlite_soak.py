"""Soak: the SQLite ledger under uvicorn with ``ulimit -n 256``, bursts after idle pauses.

The issue's "done when": ten bursts of 40 consent POSTs, 11 s apart, against one
uvicorn worker (``ConsentMiddleware`` on ``SQLiteStore``, see ``tests/support/sqlite_servers.py``)
whose descriptor limit is 256: 0 non-2xx, open descriptors flat. anyio retires a worker
thread idle for 10 s, so every burst runs on new threads; with a connection per thread
each burst used to leave 40 descriptor pairs behind until the limit refused the writes.

Each burst prints one line: statuses, the server's open descriptors (all, and on the
ledger files) right after the burst and at the end of the pause (sockets closed by then),
and how long the burst took. At the end the server is stopped and every acknowledged
consent (200 with a ``record_id``) is looked up in the ledger by a fresh connection.

``--before REV`` first runs the same soak with the server importing consent_mw from git
revision ``REV`` of this repository (``git archive REV src``, unpacked in the temporary
directory), for the "before" figures; ``./scripts/bench`` passes the last commit of
``main`` before the pool. ``--before-src DIR`` takes such sources from a directory.

Run: ``.venv/bin/python benchmarks/e2e/sqlite_soak.py`` (about 2 minutes; bounded to
10 minutes in all). Loopback only; the server is stopped at the end whatever happens.
Writes ``benchmarks/results/sqlite_soak.md``. Exit status 1 unless every burst of the
run on this tree was all 2xx, descriptors stayed flat and nothing acknowledged is missing.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "tests"))

from _common import RESULTS, machine  # noqa: E402

from consent_mw import SQLiteStore  # noqa: E402
from support.sqlite_servers import SRC, LedgerServer, stored_record_ids  # noqa: E402

BUDGET_SECONDS = 600
#: Slack for "flat": the pool may open up to 4 connections (2 descriptors each) over time.
FLAT_SLACK = 8


@dataclass
class Burst:
    statuses: Counter[str]
    seconds: float
    fds_after: int  # right after the burst
    ledger_after: int
    fds_settled: int  # at the end of the pause
    ledger_settled: int


@dataclass
class Soak:
    label: str
    bursts: list[Burst] = field(default_factory=list)
    acked: set[str] = field(default_factory=set)
    missing: int = 0
    error: str = ""

    @property
    def non_2xx(self) -> int:
        return sum(n for b in self.bursts for s, n in b.statuses.items() if not s.startswith("2"))

    @property
    def flat(self) -> bool:
        settled = [b.fds_settled for b in self.bursts]
        return bool(settled) and max(settled) <= settled[0] + FLAT_SLACK

    @property
    def ok(self) -> bool:
        return not self.error and self.non_2xx == 0 and self.flat and self.missing == 0


def soak(label: str, src: Path, args: argparse.Namespace, directory: Path) -> Soak:
    ledger = directory / f"{label}.sqlite3"
    SQLiteStore(ledger).close()
    result = Soak(label)
    server = LedgerServer(ledger, directory / f"{label}.log", nofile=args.nofile, src=src)
    print(f"== {label}: consent_mw from {src}, RLIMIT_NOFILE {args.nofile}", flush=True)
    with server:
        print(f"   start: {len(server.descriptors())} descriptors open", flush=True)
        for number in range(1, args.bursts + 1):
            began = time.monotonic()
            results = server.burst(args.posts)
            took = time.monotonic() - began
            fds_after, ledger_after = len(server.descriptors()), server.ledger_descriptors()
            result.acked |= {record_id for _, record_id in results if record_id}
            time.sleep(max(args.pause - took, 0.0))
            burst = Burst(
                Counter(status for status, _ in results),
                took,
                fds_after,
                ledger_after,
                len(server.descriptors()),
                server.ledger_descriptors(),
            )
            result.bursts.append(burst)
            shown = ", ".join(f"{s} x{n}" for s, n in sorted(burst.statuses.items()))
            print(
                f"   burst {number:2}/{args.bursts}: {shown:<24} descriptors {fds_after:3}"
                f" after, {burst.fds_settled:3} settled (ledger files {ledger_after}/"
                f"{burst.ledger_settled}); {took:.2f} s",
                flush=True,
            )
    try:
        result.missing = len(result.acked - stored_record_ids(ledger))
    except Exception as exc:  # a ledger the run left unreadable is a result too
        result.error = f"reading the ledger failed: {exc}"
    print(
        f"   acknowledged {len(result.acked)}, missing from the ledger {result.missing};"
        f" non-2xx {result.non_2xx}; descriptors flat: {result.flat}"
        f" -> {'PASS' if result.ok else 'FAIL'}",
        flush=True,
    )
    return result


def sources_at(revision: str, directory: Path) -> Path:
    """consent_mw's sources at git ``revision``, unpacked into ``directory``."""
    archive = subprocess.run(
        ["git", "-C", str(HERE.parents[1]), "archive", revision, "src"],
        capture_output=True,
        check=True,
    )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(directory, filter="data")
    return directory / "src"


def table(result: Soak, args: argparse.Namespace) -> list[str]:
    lines = [
        "| burst | statuses | seconds | descriptors after / settled | on ledger files |",
        "|---:|---|---:|---:|---:|",
    ]
    for number, b in enumerate(result.bursts, 1):
        shown = ", ".join(f"{s} x{n}" for s, n in sorted(b.statuses.items()))
        lines.append(
            f"| {number} | {shown} | {b.seconds:.2f} | {b.fds_after} / {b.fds_settled} |"
            f" {b.ledger_after} / {b.ledger_settled} |"
        )
    lines += [
        "",
        f"- **non-2xx: {result.non_2xx}** of {len(result.bursts) * args.posts} (target 0);"
        f" descriptors (settled) flat within {FLAT_SLACK}: **{result.flat}**;"
        f" acknowledged {len(result.acked)}, **missing from the ledger: {result.missing}**"
        + (f"; {result.error}" if result.error else ""),
    ]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--bursts", type=int, default=10)
    parser.add_argument("--posts", type=int, default=40, help="consent POSTs per burst")
    parser.add_argument("--pause", type=float, default=11.0, help="seconds from burst to burst")
    parser.add_argument("--nofile", type=int, default=256, help="the server's RLIMIT_NOFILE")
    before = parser.add_mutually_exclusive_group()
    before.add_argument("--before", metavar="REV", help="git revision for a 'before' run")
    before.add_argument("--before-src", type=Path, help="consent_mw sources for a 'before' run")
    parser.add_argument("--out", type=Path, default=RESULTS / "sqlite_soak.md")
    args = parser.parse_args()
    runs = 2 if args.before or args.before_src else 1
    if not 1 <= args.bursts <= 30 or not 1 <= args.posts <= 200:
        parser.error("--bursts must be in 1..30 and --posts in 1..200")
    if runs * args.bursts * args.pause > BUDGET_SECONDS - 60:
        parser.error(f"the soak is bounded to {BUDGET_SECONDS} s in all")
    started = time.monotonic()
    notes = machine()
    results: list[Soak] = []
    with tempfile.TemporaryDirectory(prefix="sqlite-soak-") as tmp:
        if args.before:
            try:
                source = sources_at(args.before, Path(tmp) / "before")
            except (OSError, subprocess.CalledProcessError, tarfile.TarError) as exc:
                print(f"no 'before' run: cannot get revision {args.before} ({exc})", flush=True)
            else:
                results.append(soak("before", source, args, Path(tmp)))
        elif args.before_src:
            results.append(soak("before", args.before_src.resolve(), args, Path(tmp)))
        results.append(soak("after", SRC, args, Path(tmp)))
    elapsed = time.monotonic() - started

    lines = [
        "# Soak: the SQLite ledger under uvicorn with `ulimit -n 256`",
        "",
        f"Written by `.venv/bin/python benchmarks/e2e/sqlite_soak.py"
        f"{f' --before {args.before}' if args.before else ''}"
        f"{' --before-src DIR' if args.before_src else ''}`"
        f" ({time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {elapsed:.0f} s).",
        "",
        *notes,
        f"- server: one uvicorn worker, `ConsentMiddleware` on `SQLiteStore` (default"
        f" `max_connections=4`), `RLIMIT_NOFILE` {args.nofile}; {args.bursts} bursts of"
        f" {args.posts} concurrent consent POSTs (a connection each), one every"
        f" {args.pause:g} s (anyio retires worker threads idle for 10 s). 'settled': counted"
        " at the end of the pause, when the burst's sockets are closed.",
        "",
    ]
    for result in results:
        heading = {
            "before": f"Before: the store at `{args.before or args.before_src}`"
            " (a connection per thread)",
            "after": "After: this tree (a bounded pool)",
        }
        lines += [f"## {heading[result.label]}", "", *table(result, args), ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print(f"written to {args.out}")
    return 0 if results[-1].ok else 1


if __name__ == "__main__":
    sys.exit(main())
