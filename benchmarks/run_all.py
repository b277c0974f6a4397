"""Reproduce every measured figure of the README in one run: ``./scripts/bench``.

Runs, one after the other (never two at once: they would share the two cores), every
benchmark in ``benchmarks/`` and the fuzz suite at a larger scale, keeps what each
printed in ``benchmarks/results/<name>.md`` (the query, end-to-end, fault and SQLite soak
suites write their own tables there) and writes ``benchmarks/results/summary.md``: one row
per run with its command, exit status (0: every target met) and duration.

``--only NAME`` (repeatable) runs a subset (its files are rewritten, the summary is
not); ``--fuzz-scale N`` multiplies the fuzz suite's example counts (default 20). Exit
status: 0 when every run met its targets, 1 otherwise (the table says which; a missed
target is reported, never hidden).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
PY = sys.executable
#: The last commit of main with a SQLite connection per thread: the soak's "before" run.
BEFORE_POOL = "0138995a09dc1f81917d3a0309b890611bf39bf0"

#: name -> (command, what it measures); in the order they run
RUNS: dict[str, tuple[list[str], str]] = {
    "middleware": (
        [PY, "benchmarks/bench_middleware.py"],
        "per-request overhead vs SessionMiddleware; WSGI vs ASGI",
    ),
    "page": (
        [PY, "benchmarks/bench_page.py"],
        "the middleware's fixed cost per HTML page vs the bare app's time",
    ),
    "django": (
        [PY, "benchmarks/bench_django.py"],
        "Django middleware overhead vs Django's SessionMiddleware",
    ),
    "rewrite": ([PY, "benchmarks/bench_rewrite.py"], "HTML rewriter vs lexbor; memory"),
    "registry": (
        [PY, "benchmarks/bench_registry.py"],
        "the shipped tracker registry's cost: hot path, rewriter, start-up",
    ),
    "device": ([PY, "benchmarks/bench_device.py"], "device facts vs user_agents.parse"),
    "bots": ([PY, "benchmarks/bench_bots.py"], "the bot check before and after; import time"),
    "redis": ([PY, "benchmarks/bench_redis.py"], "round trips, lookup vs raw, exact counters"),
    "sqlite": (
        [PY, "benchmarks/bench_sqlite.py"],
        "SQLite store, pool vs a connection per thread, sync and async",
    ),
    "query": ([PY, "benchmarks/bench_query.py"], "stats, export and lookup over 1M subjects"),
    "feed": (
        [PY, "benchmarks/bench_feed.py"],
        "point in time vs current lookup, feed throughput, delivery latency",
    ),
    "e2e": ([PY, "benchmarks/e2e/run.py"], "uvicorn + wrk, middleware vs bare"),
    "faults": ([PY, "benchmarks/e2e/faults.py"], "Redis outage, bad headers, slow clients"),
    "sqlite_soak": (
        [PY, "benchmarks/e2e/sqlite_soak.py", "--before", BEFORE_POOL],
        "SQLite ledger under uvicorn with ulimit -n 256, bursts 11 s apart",
    ),
    "fuzz": (
        [PY, "-m", "pytest", "tests/test_fuzz.py", "-q", "-p", "no:cacheprovider"]
        + ["--hypothesis-show-statistics"],
        "hypothesis over codec, headers, policy, endpoints, rewriter",
    ),
}
#: runs that write their own markdown into results/ (their stdout is only printed)
WRITES_OWN = {"e2e", "faults", "feed", "query", "sqlite_soak"}


def machine() -> str:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{platform.node()}: {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; load average at start {load}"
    )


def fuzz_cases(output: str) -> tuple[int, int]:
    """(passing, failing) generated cases summed from hypothesis' statistics."""
    found = re.findall(r"(\d+) passing, (\d+) failing", output)
    return sum(int(p) for p, _ in found), sum(int(f) for _, f in found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", choices=sorted(RUNS), help="run only these")
    parser.add_argument("--fuzz-scale", type=int, default=20)
    args = parser.parse_args()
    chosen = [name for name in RUNS if not args.only or name in args.only]
    RESULTS.mkdir(exist_ok=True)
    started_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows = []
    for name in chosen:
        command, what = RUNS[name]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if name == "fuzz":
            env["CONSENT_MW_FUZZ_SCALE"] = str(args.fuzz_scale)
        shown = " ".join(["python", *command[1:]])
        print(f"== {name}: {shown}", flush=True)
        began = time.monotonic()
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        seconds = time.monotonic() - began
        output = done.stdout + (f"\n{done.stderr}" if done.stderr.strip() else "")
        print(output, flush=True)
        note = ""
        if name == "fuzz":
            passing, failing = fuzz_cases(done.stdout)
            note = f"{passing:,} generated cases, {failing} failing (scale {args.fuzz_scale})"
        if name in WRITES_OWN:  # its own table is in results/ already
            rows.append((name, shown, done.returncode, seconds, note))
            continue
        (RESULTS / f"{name}.md").write_text(
            f"# {name}: {what}\n\n`{shown}` ({started_at}, {seconds:.0f} s, exit "
            f"{done.returncode})\n\n{machine()}\n\n```\n{output.strip()}\n```\n"
            + (f"\n{note}\n" if note else ""),
            encoding="utf-8",
        )
        rows.append((name, shown, done.returncode, seconds, note))

    lines = [
        "# Every benchmark, one run",
        "",
        f"Written by `./scripts/bench` ({started_at}). {machine()}.",
        "",
        "Exit 0: every target of that run met. Figures are in each run's file.",
        "",
        "| run | command | exit | seconds | note |",
        "|---|---|---:|---:|---|",
    ]
    for name, shown, code, seconds, note in rows:
        mark = "0" if code == 0 else f"**{code}**"
        lines.append(f"| {name} | `{shown}` | {mark} | {seconds:.0f} | {note} |")
    if not args.only:  # a partial run leaves the summary of the last full run alone
        (RESULTS / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0 if all(code == 0 for _, _, code, _, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
