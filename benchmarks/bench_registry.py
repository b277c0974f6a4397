"""The shipped tracker registry's cost, before and after, side by side in one run.

"Before" is the same policy's matcher without the registry behind it (the hand-written
entries and the policy's own, as before the registry shipped); "after" is the policy's
matcher as it is built now. Measured, interleaved round by round:

- a cookie name classified on the hot path (a name seen before: remembered) and a name
  never seen (the lookup itself: exact names, patterns, then the registry's);
- a script/pixel URL classified (tracker and site URLs mixed);
- the HTML rewriter on the ~100 KB article page of bench_rewrite.py (with its trackers),
  and the middleware's hot path (bench_middleware.py's app, a valid consent cookie);
- start-up, in fresh interpreters: importing the package (the registry is not read on
  import), reading the registry when the first policy is built, the memory it holds
  (tracemalloc) and what it adds to the resident set (``/proc/self/statm``).

Targets: import at most 50 ms more (it is not read on import at all), the hot path and
the rewriter within 1.10x of before (noise on this VM is about 5 %); the cost of a name
never seen and of reading the registry are reported.
Run: ``python benchmarks/bench_registry.py``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from bench_middleware import SECRET, asgi_runner, consent_cookie, make_bare
from bench_rewrite import page

from consent_mw import ConsentMiddleware, MemoryStore, Policy
from consent_mw.html.rewrite import HTMLRewriter
from consent_mw.policy.trackers import Matcher

ROUNDS = 7
SEEN = ["_ga", "_fbp", "session_id", "_pk_id.1.ab12", "csrftoken", "_hjSessionUser_1", "cart"]
URLS = [
    "https://www.googletagmanager.com/gtag/js?id=G-1",
    "https://static.criteo.net/js/ld/ld.js",
    "https://cdn.jsdelivr.net/npm/vue@3/dist/vue.global.prod.js",
    "https://fonts.googleapis.com/css2?family=Noto+Sans+KR",
    "https://shop.example.com/static/app.js",
    "https://cdn.mobon.net/js/common/HawkEyesMaker.js",
]
STARTUP = """
import os, time, tracemalloc
def resident():  # Linux: the resident set now, from /proc
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
t0 = time.perf_counter()
import consent_mw
t1 = time.perf_counter()
from consent_mw.policy.registry import registry
rss = resident()
registry()
t2 = time.perf_counter()
peak = resident() - rss
tracemalloc.start()
again = registry.__wrapped__()  # read once more, traced: what it holds
held = tracemalloc.get_traced_memory()[0]
print(json.dumps({"import": t1 - t0, "read": t2 - t1, "held": held, "rss": peak}))
"""


def matchers() -> tuple[Matcher, Matcher]:
    policy = Policy.preset("gdpr")
    return Matcher(policy.matcher.trackers), policy.matcher


def per_call(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def cookie_seen(matcher: Matcher) -> float:
    names = SEEN * 100
    for name in names:
        matcher.cookie_owner(name)
    start = time.perf_counter()
    for _ in range(20):
        for name in names:
            matcher.cookie_owner(name)
    return (time.perf_counter() - start) / (20 * len(names))


def cookie_unseen(matcher: Matcher, round_: int) -> float:
    names = [f"app_pref_{round_}_{i}" for i in range(3000)]
    start = time.perf_counter()
    for name in names:
        matcher.cookie_owner(name)
    return (time.perf_counter() - start) / len(names)


def url_lookup(matcher: Matcher) -> float:
    urls = URLS * 500
    start = time.perf_counter()
    for url in urls:
        matcher.url_owner(url)
    return (time.perf_counter() - start) / len(urls)


def rewriter(matcher: Matcher, html: bytes) -> float:
    allowed = frozenset({"necessary"})

    def once() -> None:
        rw = HTMLRewriter(matcher, allowed)
        for i in range(0, len(html), 16384):
            rw.feed(html[i : i + 16384])
        rw.close()

    once()
    return min(per_call(once, 10) for _ in range(3))


def middleware(matcher: Matcher) -> float:
    policy = Policy.preset("gdpr")
    object.__setattr__(policy, "matcher", matcher)  # the same policy, this matcher
    app = ConsentMiddleware(make_bare(), policy=policy, secret_key=SECRET, store=MemoryStore())
    run = asgi_runner(app, f"consent_mw={consent_cookie()}")

    async def go() -> float:
        await run(200)
        return min([await run(1000) for _ in range(3)])

    return asyncio.run(go())


def startup() -> dict[str, float]:
    runs = []
    for _ in range(7):
        out = subprocess.run(
            [sys.executable, "-c", "import json\n" + STARTUP],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        runs.append(json.loads(out))
    return {key: min(r[key] for r in runs) for key in ("import", "read", "held", "rss")}


def main() -> int:
    before, after = matchers()
    html = page(trackers=True, dense=False)
    results: dict[str, list[tuple[float, float]]] = {}

    def both(name: str, fn: Callable[[Matcher], float]) -> None:
        results.setdefault(name, []).append((fn(before), fn(after)))

    for round_ in range(ROUNDS):
        before, after = matchers()  # fresh memos each round
        both("cookie, seen (hot path)", cookie_seen)
        both("cookie, never seen", lambda m, r=round_: cookie_unseen(m, r))
        both("URL", url_lookup)
        both("rewriter, article page", lambda m: rewriter(m, html))
        both("middleware hot path", middleware)
    print(f"{'measure':<28} {'before':>12} {'after':>12} {'ratio (median, range)':>26}")
    for name, pairs in results.items():
        ratios = sorted(a / b for b, a in pairs)
        b = statistics.median(p[0] for p in pairs)
        a = statistics.median(p[1] for p in pairs)
        print(
            f"{name:<28} {b * 1e6:>9.2f} µs {a * 1e6:>9.2f} µs "
            f"{statistics.median(ratios):>8.2f}x ({ratios[0]:.2f}-{ratios[-1]:.2f})"
        )
    start = startup()
    print(
        f"\nimport consent_mw: {start['import'] * 1e3:.0f} ms (the registry is not read);"
        f" reading the registry at the first policy: {start['read'] * 1e3:.0f} ms,"
        f" {start['held'] / 1e6:.1f} MB held, resident set +{start['rss'] / 1e6:.1f} MB"
        " (least of 7 fresh interpreters)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
