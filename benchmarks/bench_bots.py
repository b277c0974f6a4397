"""The bot check, before and after, side by side in one run: per call on the hot path (a
user agent already seen: ``GET /_consent`` and every recorded visit ask once per request),
per call on a user agent never seen (the search itself), and the package's import time.

"Before" is the regular expression this release replaced, kept below, remembered per string
like it was; its import time is measured on the tree at ``--before`` (default ``main``),
exported with ``git archive``. The user agents are the test corpora: real browsers
(tests/fixtures/user_agents) with one in ten drawn from crawler-user-agents' examples.

Targets: a seen user agent costs at most 1.05x what it did before (``is_bot``, and the
engine's check with the device parser beside it); an unseen one is searched in no more
time than before; importing the package takes at most 1.05x as long.
Run: ``python benchmarks/bench_bots.py``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from consent_mw.core import bots
from consent_mw.core.device import BotCheck, DeviceParser

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "user_agents"

# -- before: the check this release replaced, as it was --------------------------------------

_OLD = re.compile(
    r"(?<!cu)bot\b|crawl|spider|slurp|bingpreview|facebookexternalhit|lighthouse"
    r"|python-requests|curl/|wget/|httpx|go-http-client|java/|yeti|daum(oa)?\b|naverbot",
    re.IGNORECASE,
)


@lru_cache(maxsize=4096)
def _old_declares_bot(user_agent: str) -> bool:
    return _OLD.search(user_agent) is not None


def old_is_bot(user_agent: str | None) -> bool:
    if not user_agent:
        return False
    if len(user_agent) > 512:
        return _OLD.search(user_agent) is not None
    return _old_declares_bot(user_agent)


# -- workloads -------------------------------------------------------------------------------


def corpora() -> tuple[list[str], list[str]]:
    browsers = [
        ua
        for name in ("intoli-user-agents.txt", "uap-core-devices.txt", "uap-core-firefox.txt")
        for ua in (FIXTURES / name).read_text("utf-8").splitlines()
    ]
    crawlers = json.loads((FIXTURES / "crawler-user-agents.json").read_bytes())
    examples = [i for entry in crawlers for i in entry.get("instances", ())]
    return browsers, examples


def per_call(check: Callable[[str], object], agents: list[str], rounds: int = 5) -> float:
    """Seconds per call, the best of ``rounds`` passes."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for ua in agents:
            check(ua)
        best = min(best, time.perf_counter() - start)
    return best / len(agents)


def first_calls(agents: list[str], rounds: int = 2) -> float:
    """Seconds per call of a fresh engine check (a fresh parser too), each agent new to it."""
    best = float("inf")
    for _ in range(rounds):
        fresh = DeviceParser()
        check = BotCheck(lambda: fresh)  # noqa: B023 (called within this round only)
        bots.declares_bot.cache_clear()
        start = time.perf_counter()
        for ua in agents:
            check(ua)
        best = min(best, time.perf_counter() - start)
    return best / len(agents)


def import_seconds(src: Path, runs: int) -> list[float]:
    code = "import time; t = time.perf_counter(); import consent_mw; print(time.perf_counter() - t)"
    out = []
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        )
        out.append(float(result.stdout))
    return out


def export(rev: str, into: Path) -> Path:
    """``rev``'s src/ in ``into``, with this tree's compiled extension (not in git)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    for built in (ROOT / "src").rglob("*.so"):
        shutil.copy(built, into / built.relative_to(ROOT))
    return into / "src"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default="main", help="the tree whose import is 'before'")
    parser.add_argument("--import-runs", type=int, default=15)
    args = parser.parse_args()

    browsers, examples = corpora()
    rng = random.Random(20261204)
    seen = rng.sample(browsers, 450) + rng.sample(examples, 50)
    requests = [rng.choice(seen) for _ in range(100_000)]
    unseen = rng.sample(browsers, 2700) + rng.sample(examples, 300)

    device_parser = DeviceParser()
    engine_check = BotCheck(lambda: device_parser)
    bots.expression()
    for ua in seen:  # every user agent of the hot path is remembered before it is timed
        old_is_bot(ua), bots.is_bot(ua), engine_check(ua)

    hot = {
        "before: is_bot (old regex, remembered)": per_call(old_is_bot, requests),
        "after: is_bot (patterns, remembered)": per_call(bots.is_bot, requests),
        "after: the engine's check (with the device parser)": per_call(engine_check, requests),
    }
    cold = {
        "before: old regex": per_call(lambda ua: _OLD.search(ua), unseen),
        "after: patterns (lower-case, one search)": per_call(
            lambda ua: bots.expression().search(ua.lower()), unseen
        ),
        "after: the engine's check (patterns, then the device parser)": first_calls(unseen),
    }
    with tempfile.TemporaryDirectory() as tmp:
        before_src = export(args.before, Path(tmp))
        before_import: list[float] = []
        after_import: list[float] = []
        for _ in range(args.import_runs):  # alternated, so that load drifts hit both
            before_import += import_seconds(before_src, 1)
            after_import += import_seconds(ROOT / "src", 1)
    start = time.perf_counter()
    bots.compile_patterns((*bots.GENERIC, *bots.named_patterns()))
    compile_seconds = time.perf_counter() - start

    base_hot = hot["before: is_bot (old regex, remembered)"]
    base_cold = cold["before: old regex"]
    print(f"| user agent seen before (100,000 calls, {len(seen)} distinct) | per call | ratio |")
    print("|---|---|---|")
    for name, seconds in hot.items():
        print(f"| {name} | {seconds * 1e9:.0f} ns | {seconds / base_hot:.2f}x |")
    print(f"\n| user agent never seen ({len(unseen)}: 90% browsers) | per call | ratio |")
    print("|---|---|---|")
    for name, seconds in cold.items():
        print(f"| {name} | {seconds * 1e6:.2f} µs | {seconds / base_cold:.2f}x |")
    before_ms = statistics.median(before_import) * 1e3
    after_ms = statistics.median(after_import) * 1e3
    print(f"\n| import consent_mw (median of {args.import_runs}) | ms | ratio |")
    print("|---|---|---|")
    print(f"| before ({args.before}) | {before_ms:.1f} | 1.00x |")
    print(f"| after | {after_ms:.1f} | {after_ms / before_ms:.2f}x |")
    print(
        f"\nbuilt on first use, not at import: the expression {compile_seconds * 1e3:.1f} ms "
        f"({len(bots.expression().pattern):,} characters from {len(bots.GENERIC)} words and "
        f"{len(bots.named_patterns())} named patterns)"
    )
    ok = (
        hot["after: is_bot (patterns, remembered)"] <= 1.05 * base_hot
        and hot["after: the engine's check (with the device parser)"] <= 1.05 * base_hot
        and cold["after: patterns (lower-case, one search)"] <= base_cold
        and after_ms <= 1.05 * before_ms
    )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
