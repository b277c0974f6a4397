"""Fault suite: the demo on a Redis ledger under load, Redis killed for 10 s; malformed and
huge headers; slow clients and disconnects mid-stream. Writes ``benchmarks/results/faults.md``.

Run: ``.venv/bin/python benchmarks/e2e/faults.py`` (~35 s). Everything runs on 127.0.0.1:
a ``redis-server`` of our own on a free port (``--appendonly yes --appendfsync always``,
from ``tests/support/redis_servers.py``) and one uvicorn worker serving
``consent_mw.demo.create_app(store=<that Redis>, …)`` (see ``apps.py``). Both are stopped
at the end, whatever happens.

1. **Redis outage under load** — 2 threads load pages (``GET /shows/1``), 2 threads post
   consents (``POST /_consent`` ``{"action":"accept_all"}``, each with a fresh signed cookie
   so its consent id is known beforehand). After ``--before`` s Redis gets SIGKILL (no
   shutdown, no last fsync), stays down ``--down`` s, starts again on the same port and
   directory; load goes on ``--after`` s. Counted: requests served, page 5xx (target 0),
   POSTs acknowledged (200, with a ``record_id``) vs found in the ledger afterwards
   (target: equal), POSTs refused (503 + Retry-After; not acknowledged, so not counted),
   and how long after the restart the first POST was acknowledged again.
2. **Malformed and huge headers** over raw sockets: never a 500 (status per case).
3. **Slow clients and disconnects**: slowloris connections, a POST that sends 10 of the
   8,000 bytes it announced and hangs up, 40 clients that read 1 KB of a 256 KB streamed
   HTML page and close: a normal client is served throughout, the server logs no
   traceback and is still up at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parents[1] / "tests"))

from _common import HOST, RESULTS, Uvicorn, machine  # noqa: E402
from _tools import require  # noqa: E402
from apps import SECRET  # noqa: E402

from consent_mw import store_from_url  # noqa: E402
from consent_mw.core.consent import Consent  # noqa: E402
from consent_mw.core.cookies import ConsentCookieCodec  # noqa: E402
from consent_mw.demo import demo_policy  # noqa: E402
from support.redis_servers import RedisServer  # noqa: E402

POLICY = demo_policy()
CODEC = ConsentCookieCodec(SECRET)
MAX_REQUESTS_PER_THREAD = 200_000  # a bound besides the clock


def fresh_cookie() -> tuple[str, str]:
    consent = Consent.create(POLICY, {}, action="reject_all")
    return consent.id, "consent_mw=" + CODEC.dumps(consent)


class Load:
    """Page and POST threads on keep-alive connections, phase-tagged counters."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.stop = threading.Event()
        self.phase = "before"
        self.lock = threading.Lock()
        self.counts: Counter[tuple[str, str, str]] = Counter()  # (phase, kind, status)
        self.acked: list[tuple[str, str, float]] = []  # (consent id, record id, time)
        self.refused: list[tuple[str, float]] = []  # 503s: (consent id, time)
        self.latency_max: dict[str, float] = {}

    def _count(self, kind: str, status: str, took: float) -> None:
        with self.lock:
            self.counts[(self.phase, kind, status)] += 1
            key = f"{self.phase}/{kind}"
            self.latency_max[key] = max(self.latency_max.get(key, 0.0), took)

    def _connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(HOST, self.port, timeout=10)

    def pages(self) -> None:
        _, cookie = fresh_cookie()
        conn = self._connection()
        for _ in range(MAX_REQUESTS_PER_THREAD):
            if self.stop.is_set():
                break
            start = time.monotonic()
            try:
                conn.request("GET", "/shows/1?lang=en", headers={"Cookie": cookie})
                response = conn.getresponse()
                response.read()
                status = str(response.status)
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
                conn.close()
                conn = self._connection()
            self._count("page", status, time.monotonic() - start)
        conn.close()

    def posts(self) -> None:
        conn = self._connection()
        body = json.dumps({"action": "accept_all"})
        for _ in range(MAX_REQUESTS_PER_THREAD):
            if self.stop.is_set():
                break
            subject, cookie = fresh_cookie()
            start = time.monotonic()
            try:
                conn.request(
                    "POST",
                    "/_consent",
                    body=body,
                    headers={"Cookie": cookie, "Content-Type": "application/json"},
                )
                response = conn.getresponse()
                data = response.read()
                status = str(response.status)
                if response.status == 200:
                    record_id = json.loads(data)["record_id"]
                    with self.lock:
                        self.acked.append((subject, record_id, time.monotonic()))
                elif response.status == 503:
                    assert response.getheader("retry-after"), "503 without Retry-After"
                    with self.lock:
                        self.refused.append((subject, time.monotonic()))
                    time.sleep(0.01)  # a client would back off; keep the log small
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
                conn.close()
                conn = self._connection()
            self._count("post", status, time.monotonic() - start)
        conn.close()


def outage(server: Uvicorn, redis: RedisServer, before: float, down: float, after: float) -> dict:
    load = Load(server.port)
    threads = [threading.Thread(target=load.pages) for _ in range(2)]
    threads += [threading.Thread(target=load.posts) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(before)
        load.phase = "down"
        killed_at = time.monotonic()
        redis.kill()
        time.sleep(down)
        load.phase = "after"
        redis.start()
        restarted_at = time.monotonic()
        time.sleep(after)
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(timeout=30)
    # Every acknowledged consent must be in the ledger (a fresh client, after the load).
    store = store_from_url(redis.url)
    missing = []
    stored_but_refused = 0
    try:
        for subject, record_id, _ in load.acked:
            ids = {r.record_id for r in store.history(subject)}
            if record_id not in ids:
                missing.append((subject, record_id))
        for subject, _ in load.refused:
            stored_but_refused += bool(store.history(subject))
    finally:
        store.close()
    first_ack_after = min((t for _, _, t in load.acked if t > restarted_at), default=None)
    last_ack_before = max((t for _, _, t in load.acked if t < killed_at), default=None)
    return {
        "counts": load.counts,
        "acked": len(load.acked),
        "refused": len(load.refused),
        "missing": missing,
        "stored_but_refused": stored_but_refused,
        "recovery": None if first_ack_after is None else first_ack_after - restarted_at,
        "last_ack_before": None if last_ack_before is None else killed_at - last_ack_before,
        "latency_max": load.latency_max,
    }


# -- raw sockets ---------------------------------------------------------------------------


def raw(port: int, request: bytes, timeout: float = 10.0) -> str:
    """Send bytes, return the status code (or what happened instead)."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        try:
            while b"\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            return "timeout"
    if not data:
        return "closed"
    parts = data.split(b"\r\n", 1)[0].split(b" ")
    return parts[1].decode() if len(parts) > 1 else repr(data[:40])


def get(path: bytes, *headers: bytes, method: bytes = b"GET", body: bytes = b"") -> bytes:
    lines = [method + b" " + path + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
    lines += list(headers)
    if body or method == b"POST":
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def header_cases() -> list[tuple[str, bytes]]:
    _, good = fresh_cookie()
    payload, _, sig = good.partition("=")[2].rpartition(".")
    post = json.dumps({"action": "accept_all"}).encode()
    ctype = b"Content-Type: application/json"
    return [
        ("64 KB Cookie header", get(b"/", b"Cookie: a=" + b"x" * 65536)),
        (
            "60 KB of 2,000 small cookies",
            get(b"/", b"Cookie: " + b"; ".join(b"c%d=v" % i for i in range(2000))),
        ),
        (
            "12 KB Cookie on a consent POST",
            get(b"/_consent", b"Cookie: a=" + b"y" * 12000, ctype, method=b"POST", body=post),
        ),
        (
            "5 KB consent cookie (over 4,096)",
            get(b"/", b"Cookie: consent_mw=" + b"A" * 5000 + b"." + sig.encode()),
        ),
        ("bogus consent cookie", get(b"/", b"Cookie: consent_mw=not.a.cookie")),
        (
            "consent cookie, payload changed",
            get(b"/", b"Cookie: consent_mw=" + payload[:-2].encode() + b"xx." + sig.encode()),
        ),
        ("consent cookie of only dots", get(b"/", b"Cookie: consent_mw=....")),
        ("consent cookie with latin-1 bytes", get(b"/", b"Cookie: consent_mw=\xff\xfe.\xc3\x28")),
        ("Sec-GPC garbage bytes", get(b"/", b"Sec-GPC: \xff\xfe\x01")),
        ("Sec-GPC 8 KB", get(b"/", b"Sec-GPC: " + b"1" * 8000)),
        (
            "Sec-GPC on a POST with garbage",
            get(b"/_consent", b"Sec-GPC: \x80", ctype, method=b"POST", body=post),
        ),
        (
            "Origin with bytes > 0x7f",
            get(b"/_consent", b"Origin: http://\xe9vil.example", ctype, method=b"POST", body=post),
        ),
        ("Origin 'null'", get(b"/_consent", b"Origin: null", ctype, method=b"POST", body=post)),
        ("Accept-Language garbage", get(b"/_consent", b"Accept-Language: \xff;q=zz,,,;;")),
        ("locale query with bytes", get(b"/_consent?locale=%ff%fe%00<script>")),
        ("notice with bad format", get(b"/_consent/policy?format=%00")),
        ("path with %ff", get(b"/shows/%ff%fe")),
        (
            "consent POST, invalid UTF-8 body",
            get(b"/_consent", ctype, method=b"POST", body=b"\xff\xfe{"),
        ),
        (
            "consent POST, JSON 1e999999",
            get(b"/_consent", ctype, method=b"POST", body=b'{"choices":{"analytics":1e999999}}'),
        ),
        (
            "consent POST, deeply nested JSON",
            get(b"/_consent", ctype, method=b"POST", body=b"[" * 4000 + b"]" * 4000),
        ),
        (
            "form POST, bad percent-encoding",
            get(
                b"/_consent/ads",
                b"Content-Type: application/x-www-form-urlencoded",
                method=b"POST",
                body=b"token=%zz&advertising=%ff",
            ),
        ),
        (
            "X-Forwarded-For garbage (untrusted)",
            get(b"/", b"X-Forwarded-For: \xff, ::::, 999.1.1.1"),
        ),
        ("User-Agent 8 KB", get(b"/", b"User-Agent: " + b"Mozilla/5.0 " * 680)),
        ("Host with bytes", get(b"/", b"Host: \xff\xfe")),
    ]


def served(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection(HOST, port, timeout=5)
        conn.request("GET", "/shows/2")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except (OSError, http.client.HTTPException):
        return False


def slow_clients(server: Uvicorn, seconds: float) -> dict:
    port = server.port
    figures: dict = {}
    # Slowloris: 20 connections trickling one header byte every 100 ms.
    slow = []
    for _ in range(20):
        sock = socket.create_connection((HOST, port), timeout=5)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        slow.append(sock)
    ok = failed = 0
    worst = 0.0
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline and n < 10_000:
        for sock in slow:
            try:
                sock.sendall(b"X")
            except OSError:
                pass
        start = time.monotonic()
        good = served(port)
        worst = max(worst, time.monotonic() - start)
        ok, failed = ok + good, failed + (not good)
        n += 1
        time.sleep(0.1)
    for sock in slow:
        sock.close()
    figures["slowloris"] = (ok, failed, worst)
    # A body that never arrives: 10 of 8,000 announced bytes, then the client hangs up.
    hangups = 0
    for _ in range(20):
        with socket.create_connection((HOST, port), timeout=5) as sock:
            sock.sendall(
                b"POST /_consent HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                b'\r\nContent-Length: 8000\r\n\r\n{"action":'
            )
            time.sleep(0.02)
        hangups += 1
    figures["body_hangups"] = (hangups, served(port))
    # Disconnect mid-stream: read 1 KB of the 256 KB rewritten page, then close.
    for _ in range(40):
        with socket.create_connection((HOST, port), timeout=5) as sock:
            sock.sendall(get(b"/stream", b"Accept: text/html"))
            sock.recv(1024)
        # and some that close before reading anything
        with socket.create_connection((HOST, port), timeout=5) as sock:
            sock.sendall(get(b"/stream"))
    time.sleep(0.5)
    figures["midstream"] = (80, served(port))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--before", type=float, default=5.0)
    parser.add_argument("--down", type=float, default=10.0)
    parser.add_argument("--after", type=float, default=6.0)
    parser.add_argument("--slow", type=float, default=3.0, help="seconds of slowloris")
    parser.add_argument("--out", type=Path, default=RESULTS / "faults.md")
    args = parser.parse_args()
    if args.before + args.down + args.after + args.slow > 45:
        parser.error("the run is bounded to 60 s in all")
    require("redis-server")
    started = time.monotonic()
    lines_machine = machine()
    with tempfile.TemporaryDirectory(prefix="faults-") as tmp:
        redis = RedisServer(Path(tmp) / "redis")
        redis.start()
        try:
            server = Uvicorn(
                "middleware", env={"E2E_STORE": redis.url}, log=Path(tmp) / "uvicorn.log"
            )
            with server:
                result = outage(server, redis, args.before, args.down, args.after)
                after_outage = server.tracebacks()
                statuses = [(name, raw(server.port, request)) for name, request in header_cases()]
                slow = slow_clients(server, args.slow)
                alive = server.process is not None and server.process.poll() is None
                still_served = served(server.port)
                tracebacks = server.tracebacks()
                log_tail = server.log_text()[-1500:]
        finally:
            redis.stop()
    elapsed = time.monotonic() - started

    counts = result["counts"]
    phases = ("before", "down", "after")

    def n(phase: str | None, kind: str, pred) -> int:
        return sum(
            c
            for (p, k, s), c in counts.items()
            if (phase is None or p == phase) and k == kind and pred(s)
        )

    is_5xx = lambda s: s.startswith("5")  # noqa: E731
    lines = [
        "# Fault suite: Redis outage under load, bad headers, slow clients",
        "",
        f"Written by `.venv/bin/python benchmarks/e2e/faults.py` "
        f"({time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {elapsed:.0f} s).",
        "",
        *lines_machine,
        "- server: one uvicorn worker, `consent_mw.demo.create_app(store=redis://127.0.0.1:<free "
        "port>/0)`; Redis started by the script with `--appendonly yes --appendfsync always`.",
        "",
        f"## 1. Redis killed (SIGKILL) for {args.down:.0f} s under load",
        "",
        f"Load: 2 page threads + 2 consent-POST threads, keep-alive; {args.before:.0f} s "
        f"before, {args.down:.0f} s down, {args.after:.0f} s after the restart.",
        "",
        "| phase | pages served | page 5xx | page other | POST 200 | POST 503 | POST other |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for phase in phases:
        lines.append(
            f"| {phase} | {n(phase, 'page', lambda s: s == '200'):,} | "
            f"{n(phase, 'page', is_5xx):,} | "
            f"{n(phase, 'page', lambda s: s != '200' and not s.startswith('5')):,} | "
            f"{n(phase, 'post', lambda s: s == '200'):,} | "
            f"{n(phase, 'post', lambda s: s == '503'):,} | "
            f"{n(phase, 'post', lambda s: s not in ('200', '503')):,} |"
        )
    other = sorted({(p, k, s) for (p, k, s) in counts if s not in ("200", "503")})
    page_5xx = n(None, "page", is_5xx)
    missing = result["missing"]
    lat = result["latency_max"]
    lines += [
        "",
        f"- **page 5xx: {page_5xx}** (target 0).",
        f"- **consents acknowledged (200): {result['acked']:,}; found in the ledger afterwards: "
        f"{result['acked'] - len(missing):,}; missing: {len(missing)}** (target: equal).",
        f"- consents refused with 503 + Retry-After (not acknowledged): {result['refused']:,}; of "
        f"those, stored anyway: {result['stored_but_refused']} (allowed: the client retries; "
        "the ledger keeps an extra proof).",
        "- first acknowledged consent after the restart: "
        + (f"{result['recovery']:.2f} s" if result["recovery"] is not None else "none")
        + "; slowest page while Redis was down: "
        + f"{lat.get('down/page', 0) * 1000:.0f} ms, slowest POST: "
        + f"{lat.get('down/post', 0) * 1000:.0f} ms.",
        f"- other statuses: {other or 'none'}; server tracebacks after the outage: {after_outage}.",
    ]
    if missing:
        lines.append(f"- missing (consent id, record id), first 5: {missing[:5]}")
    bad = [name for name, status in statuses if status.startswith("5")]
    lines += [
        "",
        "## 2. Malformed and huge headers (raw sockets)",
        "",
        "| request | status |",
        "|---|---|",
        *(f"| {name} | {status} |" for name, status in statuses),
        "",
        f"- **5xx: {len(bad)}** {bad if bad else ''}(target 0). A 400/431 before the app is "
        "uvicorn's (h11) own limit; the middleware's handling of the same values in-process is "
        "in `tests/test_security.py` and `tests/test_fuzz.py`.",
        "",
        "## 3. Slow clients and disconnects",
        "",
        f"- slowloris: 20 connections trickling a header byte every 100 ms for {args.slow:.0f} s; "
        f"meanwhile a normal client got {slow['slowloris'][0]} pages, {slow['slowloris'][1]} "
        f"failures, slowest {slow['slowloris'][2] * 1000:.0f} ms.",
        f"- {slow['body_hangups'][0]} consent POSTs announcing 8,000 bytes, sending 10 and hanging "
        f"up; served afterwards: {slow['body_hangups'][1]}.",
        f"- {slow['midstream'][0]} clients closing during a streamed, rewritten 256 KB HTML "
        f"page (half after 1 KB, half before reading); served afterwards: {slow['midstream'][1]}.",
        f"- server process alive at the end: {alive}; serves a page: {still_served}; "
        f"**tracebacks in the server log over the whole run: {tracebacks}**.",
        "",
    ]
    if tracebacks:
        lines += ["Server log tail:", "", "```", log_tail, "```", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))
    ok = page_5xx == 0 and not missing and not bad and alive and still_served
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
