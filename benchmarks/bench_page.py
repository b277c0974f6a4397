"""The middleware's fixed cost per HTML page, beside the bare app's own time, in process.

The demo's show page (``/shows/1``: GA, Meta, Kakao and Naver tags, a CSP nonce on
every tag, four cookies set; ~2.3 KB) answered by raw ASGI calls, no server, no
network: ``bare`` (the demo's routes with a shim putting a fixed consent object in the
scope, as ``e2e/apps.py`` serves it) and ``middleware`` (``consent_mw.demo.create_app``
with ``record_requests=False``), every request carrying the same valid consent cookie
(analytics allowed). The fixed cost is middleware minus bare; target: at most 25 % of
the bare app's own time.

Reported beside it, no target: ``signals off``, the demo with no vendor's consent call
(``[signals] vendors = []``: the injected block as it was before those calls); ``us``
and ``us + gpp``, the demo with US visitors' rules (``ccpa``) without and with the IAB
GPP string (data block and ``__gpp`` script): the ratios say what each costs; ``memo
off``, the middleware with its memo of whole pages emptied (``consent_mw.html.pages``),
what a page seen for the first time costs (a site whose every page is different); and
``recording``, the demo as shipped (``record_requests=True``, into the memory store:
each hit queued, and a batch of 128 minimised and written by a task on the event loop,
as ``ConsentMiddleware`` does under an ASGI server; these raw calls never give the
loop a turn, which a server's loop takes all the time, so this variant gives it one
after every 32nd response, the drain's slice).

``--against REF`` adds ``middleware (REF)``: the demo of a git ref (imported from ``git
archive REF`` beside the working tree, its C extension built), so a change's effect on the
fixed cost is measured in the same run, round by round, with the ratio of the two fixed
costs paired per round.

The rounds interleave the variants so machine noise hits them alike; the figure per
variant is the median of the rounds. Run: ``python benchmarks/bench_page.py`` (``--out
benchmarks/results/page.md`` to keep the table).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent / "e2e"))

from apps import SECRET, bare  # noqa: E402

from consent_mw import Policy  # noqa: E402
from consent_mw.core.consent import Consent  # noqa: E402
from consent_mw.core.cookies import ConsentCookieCodec  # noqa: E402
from consent_mw.demo import create_app, demo_policy  # noqa: E402
from consent_mw.exceptions import PolicyError  # noqa: E402

TARGET = 0.25
PATH = "/shows/1"
AGENT = b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"


def scope(cookie: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"lang=en",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"user-agent", AGENT),
            (b"accept", b"text/html,application/xhtml+xml"),
            (b"accept-encoding", b"gzip, deflate, br"),
            (b"cookie", cookie),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def serve(app: Any, cookie: bytes, n: int) -> float:
    """Seconds per response over ``n`` responses."""
    statuses: set[int] = set()

    async def send(message: Any) -> None:
        # Only the status is kept: messages piling up would make the garbage
        # collector's passes longer for every variant.
        if message["type"] == "http.response.start":
            statuses.add(message["status"])

    start = time.perf_counter()
    for _ in range(n):
        await app(scope(cookie), receive, send)
    elapsed = (time.perf_counter() - start) / n
    assert statuses == {200}, statuses
    return elapsed


def variants(ref: Any = None, ref_name: str = "") -> dict[str, tuple[Any, Any]]:
    """name -> (app, what runs before each round); ``ref``: another copy of the package
    (``--against``), whose demo joins as ``middleware (<ref_name>)``."""
    try:
        from consent_mw.html import pages
    except ImportError:  # a tree without the memo of pages (--src of an older one)
        pages = None

    def memo_off() -> None:
        if pages is not None:
            pages._pages.clear()

    def nothing() -> None:
        pass

    quiet = create_app(store="memory://", secret_key=SECRET, record_requests=False)
    recording = create_app(store="memory://", secret_key=SECRET)
    out: dict[str, tuple[Any, Any]] = {
        "bare": (bare(), nothing),
        "middleware": (quiet, nothing),
        "recording": (_Yielding(recording), nothing),
    }
    if ref is not None:
        demo_of_ref = importlib.import_module(ref.__name__ + ".demo")
        out[f"middleware ({ref_name})"] = (
            demo_of_ref.create_app(store="memory://", secret_key=SECRET, record_requests=False),
            nothing,
        )
    demo = demo_policy()
    us = {**demo.raw["regime"], "default": "ccpa"}
    for name, extra in (
        ("signals off", {"signals": {"vendors": []}}),
        ("us", {"regime": us, "gpp": {}}),
        ("us + gpp", {"regime": us, "gpp": {"sections": ["usnat", "usca"]}}),
    ):
        try:
            policy = Policy.from_dict({**demo.raw, **extra})
            app = create_app(
                store="memory://", secret_key=SECRET, record_requests=False, policy=policy
            )
        except (PolicyError, TypeError):  # a tree without these keys (PYTHONPATH=…)
            continue
        out[name] = (app, nothing)
    # Compared variants run next to each other in a round: "recording" after them.
    out["recording"] = out.pop("recording")
    if pages is not None:
        uncached = create_app(store="memory://", secret_key=SECRET, record_requests=False)
        out["memo off"] = (_Forgetting(uncached, memo_off), nothing)
    return out


def _quartiles(values: list[float]) -> str:
    if len(values) < 4:
        return "–"
    q1, _, q3 = statistics.quantiles(values, n=4)
    return f"{q1:.3f}–{q3:.3f}"


class _Yielding:
    """Gives the event loop a turn (its tasks run then) after every 32nd response."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.responses = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)
        self.responses += 1
        if self.responses % 32 == 0:
            await asyncio.sleep(0)


class _Forgetting:
    """Empties the memo of pages before every response."""

    def __init__(self, app: Any, forget: Any) -> None:
        self.app, self.forget = app, forget

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.forget()
        await self.app(scope, receive, send)


async def main(rounds: int, per_round: int, out: Path | None, against: str | None) -> int:
    if against is None:
        return await measure(rounds, per_round, out, variants())
    from bench_rewrite import load_copy

    with tempfile.TemporaryDirectory() as tmp:
        ref = load_copy(against, "cmw_ref", False, Path(tmp, "ref"))
        return await measure(rounds, per_round, out, variants(ref, against), against)


async def measure(
    rounds: int,
    per_round: int,
    out: Path | None,
    apps: dict[str, tuple[Any, Any]],
    against: str | None = None,
) -> int:
    consent = Consent.create(demo_policy(), {"analytics": True}, action="custom")
    cookie = ("consent_mw=" + ConsentCookieCodec(SECRET).dumps(consent)).encode()
    for app, _ in apps.values():
        await serve(app, cookie, 300)  # warm: memos, the nonce memo, the page memo
    times: dict[str, list[float]] = {name: [] for name in apps}
    for r in range(rounds):
        order = list(apps) if r % 2 == 0 else list(reversed(apps))
        for name in order:
            app, before = apps[name]
            before()
            times[name].append(await serve(app, cookie, per_round))
    median = {name: statistics.median(values) * 1e6 for name, values in times.items()}
    bare_us = median["bare"]
    import consent_mw

    lines = [
        "# The middleware's fixed cost per HTML page, in process",
        "",
        f"Written by `python benchmarks/bench_page.py` ({time.strftime('%Y-%m-%d %H:%M %Z')}),"
        f" consent_mw from `{Path(consent_mw.__file__).parent}`.",
        "",
        f"- `{PATH}?lang=en`, {rounds} interleaved rounds x {per_round} responses, "
        "median of the rounds per variant",
        f"- load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (shared machine)",
        "",
        "| variant | µs per page | fixed cost (µs) | fixed cost / bare |",
        "|---|---:|---:|---:|",
    ]
    for name, value in median.items():
        extra = value - bare_us
        share = "–" if name == "bare" else f"{extra / bare_us:.0%}"
        fixed = "–" if name == "bare" else f"{extra:.1f}"
        lines.append(f"| {name} | {value:.1f} | {fixed} | {share} |")
    share = (median["middleware"] - bare_us) / bare_us
    lines.append("")
    for slower, faster in (("middleware", "signals off"), ("us + gpp", "us")):
        if faster in median:
            # Paired per round (the two ran minutes apart at most): drift cancels out.
            paired = [a / b for a, b in zip(times[slower], times[faster], strict=True)]
            lines.append(
                f"- {slower} / {faster}: **{statistics.median(paired):.3f}** (median of the "
                f"rounds' ratios; quartiles {_quartiles(paired)})"
            )
    if against is not None:
        # The two fixed costs, paired per round (bare's time of the same round).
        paired = [
            (tree - plain) / (old - plain)
            for tree, old, plain in zip(
                times["middleware"], times[f"middleware ({against})"], times["bare"], strict=True
            )
        ]
        lines.append(
            f"- fixed cost, this tree / {against}: **{statistics.median(paired):.3f}** (median "
            f"of the rounds' ratios; quartiles {_quartiles(paired)})"
        )
    verdict = "met" if share <= TARGET else "MISSED"
    lines += [
        "",
        f"Fixed cost per HTML page: **{share:.0%}** of the bare app's time "
        f"(target ≤ {TARGET:.0%}): {verdict}.",
        "",
    ]
    print("\n".join(lines))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(lines))
    return 0 if share <= TARGET else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--per-round", type=int, default=1000)
    parser.add_argument("--out", type=Path, help="also write the table here (markdown)")
    parser.add_argument("--against", metavar="REF", help="a git ref whose demo runs beside")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.rounds, args.per_round, args.out, args.against)))
