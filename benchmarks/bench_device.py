"""Device facts for 10,000 requests drawn from 500 distinct user agents, side by side with
``user_agents.parse`` on every request (its legacy pure-Python path), in one run.

Target: consent_mw's DeviceParser (ua-parser's fast resolver behind a bounded cache,
user-agents' classification on top) costs at most 1/20 of parsing each request.
Run: ``python benchmarks/bench_device.py``.
"""

from __future__ import annotations

import random
import sys
import time

import user_agents

from consent_mw.core.device import DeviceParser

TEMPLATES = (
    "Mozilla/5.0 (Linux; Android {a}; SM-S9{b}N) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{c}.0.{d}.{e} Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS {a}_{b} like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/{a}.{b} Mobile/15E{c} Safari/604.{d}",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{c}.0.{d}.{e} Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_{a}) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/{b}.{a} Safari/605.1.{c}",
    "Mozilla/5.0 (iPad; CPU OS {a}_{b} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/{a}.0 Mobile/15E{c} Safari/604.1",
    "Mozilla/5.0 (Linux; Android {a}; SM-X{b}0) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{c}.0.{d}.{e} Safari/537.36 NAVER(inapp; search; {d}; {e})",
    "Mozilla/5.0 (compatible; Googlebot/2.{a}; +http://www.google.com/bot.html)",
)


def distinct_agents(count: int, rng: random.Random) -> list[str]:
    agents: set[str] = set()
    while len(agents) < count:
        template = rng.choice(TEMPLATES)
        agents.add(
            template.format(
                a=rng.randint(9, 17),
                b=rng.randint(1, 9),
                c=rng.randint(100, 130),
                d=rng.randint(1000, 6999),
                e=rng.randint(10, 199),
            )
        )
    return sorted(agents)


def main() -> int:
    rng = random.Random(20261129)
    agents = distinct_agents(500, rng)
    requests = [rng.choice(agents) for _ in range(10_000)]

    start = time.perf_counter()
    legacy = [user_agents.parse(ua).is_mobile for ua in requests]
    legacy_seconds = time.perf_counter() - start

    parser = DeviceParser()
    start = time.perf_counter()
    ours = [parser.facts(ua) for ua in requests]
    ours_seconds = time.perf_counter() - start

    agree = sum(
        (facts is not None and facts.type == "mobile") == mobile
        for facts, mobile in zip(ours, legacy, strict=True)
    )
    ratio = ours_seconds / legacy_seconds
    print("| 10,000 requests, 500 distinct user agents | seconds | per request |")
    print("|---|---|---|")
    print(
        f"| user_agents.parse each time | {legacy_seconds:.3f} | "
        f"{legacy_seconds / len(requests) * 1e6:.1f} µs |"
    )
    print(
        f"| DeviceParser (fast parse + bounded cache) | {ours_seconds:.3f} | "
        f"{ours_seconds / len(requests) * 1e6:.1f} µs |"
    )
    print(f"\ncost ratio: 1/{1 / ratio:.0f}  (target: at most 1/20)")
    print(f"mobile classification agrees on {agree} of {len(requests)} requests")
    ok = ratio <= 1 / 20 and agree == len(requests)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
