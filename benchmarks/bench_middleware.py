"""Per-request overhead of the middlewares, side by side with their anchors, in one run.

ASGI: a bare Starlette app returning a plain response that sets three cookies
(necessary, analytics, advertising); the same app behind Starlette's own
``SessionMiddleware`` (with a valid signed session cookie) and behind
``ConsentMiddleware`` (with a valid consent cookie that allows analytics, so
the advertising cookie is stripped). Target: consent overhead <= 0.5 x the
session overhead.

WSGI: the same response from a bare WSGI app and behind ``WSGIConsentMiddleware``.
Target: WSGI overhead <= ASGI overhead.

CSP: the same two responses (the plain one, and a small HTML page the rewriter reads)
behind ``ConsentMiddleware`` as configured by default and with ``csp="enforce"`` (a
per-visitor Content-Security-Policy on the page). Target: the overhead with the policy
at most 1.10 x the overhead without, for each.

Reported, no target: the same two responses under a policy with ``[embeds]`` (the page
gets the embeds script) against the default; and ``ConsentMiddleware`` for an undecided
visitor who still sends twelve tracker cookies on a ``*.co.uk`` host, so every response
carries expiry headers (the bare app gets the same Cookie header).

The rounds interleave the variants so machine noise hits them alike; the
figure per variant is the median of the rounds. Run: ``python benchmarks/bench_middleware.py``.

``python benchmarks/bench_middleware.py --against REF`` puts the hot path (a valid consent
cookie, a plain response that sets three cookies) of consent_mw at git ``REF`` beside the
working tree's in one run, both adapters, and the tree's with a policy that lists services
and a cookie that allows one service of advertising alone (its cookie kept, the others
stripped). Target: the tree's overhead at most 1.10 x REF's, each adapter.
"""

from __future__ import annotations

import asyncio
import base64
import json
import statistics
import sys
import time
from typing import Any

import itsdangerous
from starlette.applications import Starlette
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route

from consent_mw import ConsentMiddleware, MemoryStore, Policy, WSGIConsentMiddleware
from consent_mw.core.consent import Consent
from consent_mw.core.cookies import ConsentCookieCodec

SECRET = "benchmark-secret-key-0123456789abcdef"
POLICY = Policy.preset("gdpr")
ROUNDS = 15
PER_ROUND = 2000
# What a visitor carries after analytics and ads ran once, before refusing them.
TRACKERS = "; ".join(
    f"{name}=GA1.2.{n}"
    for n, name in enumerate(
        [
            "_ga",
            "_ga_ABC123",
            "_gid",
            "_gcl_au",
            "_fbp",
            "_fbc",
            "_ttp",
            "_uetsid",
            "_uetvid",
            "_clck",
            "_clsk",
            "_hjSessionUser_123",
        ]
    )
)
UK_SHOP = "www.shop.example.co.uk"


async def homepage(request: Any) -> PlainTextResponse:
    response = PlainTextResponse("Hello, world")
    response.set_cookie("session_id", "abc", httponly=True)
    response.set_cookie("_ga", "GA1.1.123.456")
    response.set_cookie("_fbp", "fb.1.123.456", httponly=True)
    return response


PAGE = (
    "<!doctype html><html lang=en><head><meta charset=utf-8><title>Shop</title>"
    '<link rel=stylesheet href="/static/site.css"></head><body><header><nav>'
    + "".join(f'<a href="/c/{n}">Category {n}</a>' for n in range(20))
    + "</nav></header><main>"
    + "".join(
        f"<article><h2>Item {n}</h2><p>{'Lorem ipsum dolor sit amet. ' * 8}</p></article>"
        for n in range(30)
    )
    + '</main><script src="/static/app.js" defer></script></body></html>'
)


async def page(request: Any) -> HTMLResponse:
    return HTMLResponse(PAGE)


def make_bare() -> Starlette:
    return Starlette(routes=[Route("/", homepage), Route("/page", page)])


def consent_cookie() -> str:
    consent = Consent.create(POLICY, {"analytics": True}, action="custom")
    return ConsentCookieCodec(SECRET).dumps(consent)


def session_cookie() -> str:
    signer = itsdangerous.TimestampSigner(SECRET)
    data = base64.b64encode(json.dumps({"user": "someone"}).encode())
    return signer.sign(data).decode()


def asgi_runner(app: Any, cookie: str, host: str = "testserver", path: str = "/") -> Any:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", host.encode()),
            (b"user-agent", b"bench"),
            (b"accept", b"*/*"),
            (b"cookie", cookie.encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        pass

    async def run(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            # As uvicorn does: every HTTP scope carries a copy of the lifespan state.
            await app({**scope, "state": {}}, receive, send)
        return (time.perf_counter() - start) / n

    return run


def wsgi_app(environ: Any, start_response: Any) -> list[bytes]:
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Set-Cookie", "session_id=abc; HttpOnly; Path=/; SameSite=lax"),
            ("Set-Cookie", "_ga=GA1.1.123.456; Path=/; SameSite=lax"),
            ("Set-Cookie", "_fbp=fb.1.123.456; HttpOnly; Path=/; SameSite=lax"),
        ],
    )
    return [b"Hello, world"]


def wsgi_runner(app: Any, cookie: str) -> Any:
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "testserver",
        "HTTP_USER_AGENT": "bench",
        "HTTP_ACCEPT": "*/*",
        "HTTP_COOKIE": cookie,
        "wsgi.url_scheme": "http",
    }

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        return None

    def run(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            for _chunk in app(dict(environ), start_response):
                pass
        return (time.perf_counter() - start) / n

    return run


def main() -> int:
    store = MemoryStore()
    variants_async = {
        "bare": asgi_runner(make_bare(), ""),
        "session": asgi_runner(
            SessionMiddleware(make_bare(), secret_key=SECRET), f"session={session_cookie()}"
        ),
        "consent": asgi_runner(
            ConsentMiddleware(make_bare(), policy=POLICY, secret_key=SECRET, store=store),
            f"consent_mw={consent_cookie()}",
        ),
    }
    variants_async["bare_trackers"] = asgi_runner(make_bare(), TRACKERS, UK_SHOP)
    variants_async["consent_refused"] = asgi_runner(
        ConsentMiddleware(make_bare(), policy=POLICY, secret_key=SECRET, store=store),
        TRACKERS,
        UK_SHOP,
    )
    cookie = f"consent_mw={consent_cookie()}"

    def consent_app(**options: Any) -> ConsentMiddleware:
        return ConsentMiddleware(
            make_bare(), policy=POLICY, secret_key=SECRET, store=store, **options
        )

    variants_async["consent_csp"] = asgi_runner(consent_app(csp="enforce"), cookie)
    variants_async["page_bare"] = asgi_runner(make_bare(), cookie, path="/page")
    variants_async["page_consent"] = asgi_runner(consent_app(), cookie, path="/page")
    variants_async["page_consent_csp"] = asgi_runner(
        consent_app(csp="enforce"), cookie, path="/page"
    )
    # A policy with [embeds]: the same page gets the embeds script and speaks the
    # visitor's language; the plain response is the hot path, which embeds must not touch.
    embeds_policy = Policy.preset("gdpr", embeds={"category": "functional"})
    embeds_app = ConsentMiddleware(
        make_bare(), policy=embeds_policy, secret_key=SECRET, store=store
    )
    variants_async["consent_embeds"] = asgi_runner(embeds_app, cookie)
    variants_async["page_consent_embeds"] = asgi_runner(embeds_app, cookie, path="/page")
    variants_sync = {
        "wsgi_bare": wsgi_runner(wsgi_app, ""),
        "wsgi_consent": wsgi_runner(
            WSGIConsentMiddleware(wsgi_app, policy=POLICY, secret_key=SECRET, store=store),
            f"consent_mw={consent_cookie()}",
        ),
    }
    # The "uncached" variant has every memo off: it verifies the signature and
    # classifies the cookies on every request, as for a cookie never seen before.
    uncached_app = ConsentMiddleware(make_bare(), policy=POLICY, secret_key=SECRET, store=store)
    uncached_app.engine.codec.cache_size = 0
    uncached_app.engine.cache_size = 0
    variants_async["consent_uncached"] = asgi_runner(uncached_app, f"consent_mw={consent_cookie()}")

    loop = asyncio.new_event_loop()
    samples: dict[str, list[float]] = {k: [] for k in [*variants_async, *variants_sync]}
    for run in variants_async.values():  # warm-up
        loop.run_until_complete(run(200))
    for run_sync in variants_sync.values():
        run_sync(200)
    for _ in range(ROUNDS):
        for name, run in variants_async.items():
            samples[name].append(loop.run_until_complete(run(PER_ROUND)))
        for name, run in variants_sync.items():
            samples[name].append(run(PER_ROUND))
    loop.close()

    med = {k: statistics.median(v) * 1e6 for k, v in samples.items()}
    session_over = med["session"] - med["bare"]
    consent_over = med["consent"] - med["bare"]
    uncached_over = med["consent_uncached"] - med["bare"]
    wsgi_over = med["wsgi_consent"] - med["wsgi_bare"]
    refused_over = med["consent_refused"] - med["bare_trackers"]
    ratio = consent_over / session_over
    wsgi_ratio = wsgi_over / consent_over
    csp_over = med["consent_csp"] - med["bare"]
    page_over = med["page_consent"] - med["page_bare"]
    page_csp_over = med["page_consent_csp"] - med["page_bare"]
    csp_ratio = csp_over / consent_over
    page_csp_ratio = page_csp_over / page_over
    embeds_over = med["consent_embeds"] - med["bare"]
    page_embeds_over = med["page_consent_embeds"] - med["page_bare"]

    print("| variant | µs/request (median of rounds) |")
    print("|---|---|")
    for name, value in med.items():
        print(f"| {name} | {value:.1f} |")
    print()
    print(f"SessionMiddleware overhead:            {session_over:6.1f} µs")
    print(f"ConsentMiddleware overhead:            {consent_over:6.1f} µs")
    print(f"ConsentMiddleware, cookie not cached:  {uncached_over:6.1f} µs")
    print(f"WSGIConsentMiddleware overhead:        {wsgi_over:6.1f} µs")
    print(f"ConsentMiddleware, 12 refused trackers: {refused_over:5.1f} µs  (reported)")
    print(f"consent / session overhead ratio:      {ratio:.2f}  (target <= 0.50)")
    print(f"uncached consent / session ratio:      {uncached_over / session_over:.2f}  (reported)")
    print(f"WSGI / ASGI consent overhead ratio:    {wsgi_ratio:.2f}  (target <= 1.00)")
    print(f"HTML page overhead, default:           {page_over:6.1f} µs")
    print(f"HTML page overhead, csp=enforce:       {page_csp_over:6.1f} µs")
    print(f"csp=enforce / default, plain response: {csp_ratio:.2f}  (target <= 1.10)")
    print(f"csp=enforce / default, HTML page:      {page_csp_ratio:.2f}  (target <= 1.10)")
    print(f"[embeds] / none, plain response:       {embeds_over / consent_over:.2f}  (reported)")
    print(f"[embeds] / none, HTML page:            {page_embeds_over / page_over:.2f}  (reported)")
    ok = ratio <= 0.5 and wsgi_ratio <= 1.0 and csp_ratio <= 1.1 and page_csp_ratio <= 1.1
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


SERVICES_POLICY = Policy.from_dict(
    {
        **Policy.preset("gdpr").raw,
        "categories": [
            *Policy.preset("gdpr").raw["categories"][:3],
            {**Policy.preset("gdpr").raw["categories"][3], "services": ["Meta", "TikTok"]},
        ],
    }
)


def against(ref: str) -> int:
    """The working tree's hot path beside ``ref``'s, in one run (see the docstring)."""
    import tempfile
    from pathlib import Path

    from bench_rewrite import load_copy

    store = MemoryStore()
    cookie = f"consent_mw={consent_cookie()}"
    per_service = Consent.create(
        SERVICES_POLICY, {"analytics": True, "advertising": {"Meta": True}}, action="custom"
    )
    service_cookie = f"consent_mw={ConsentCookieCodec(SECRET).dumps(per_service)}"
    with tempfile.TemporaryDirectory() as tmp:
        old = load_copy(ref, "cmw_ref", False, Path(tmp, "ref"))
        asgi = {
            "bare": asgi_runner(make_bare(), cookie),
            f"{ref}": asgi_runner(
                old.ConsentMiddleware(
                    make_bare(), policy="gdpr", secret_key=SECRET, store=old.MemoryStore()
                ),
                cookie,
            ),
            "tree": asgi_runner(
                ConsentMiddleware(make_bare(), policy=POLICY, secret_key=SECRET, store=store),
                cookie,
            ),
            "tree, per service": asgi_runner(
                ConsentMiddleware(
                    make_bare(), policy=SERVICES_POLICY, secret_key=SECRET, store=store
                ),
                service_cookie,
            ),
        }
        wsgi = {
            "wsgi bare": wsgi_runner(wsgi_app, cookie),
            f"wsgi {ref}": wsgi_runner(
                old.WSGIConsentMiddleware(
                    wsgi_app, policy="gdpr", secret_key=SECRET, store=old.MemoryStore()
                ),
                cookie,
            ),
            "wsgi tree": wsgi_runner(
                WSGIConsentMiddleware(wsgi_app, policy=POLICY, secret_key=SECRET, store=store),
                cookie,
            ),
            "wsgi tree, per service": wsgi_runner(
                WSGIConsentMiddleware(
                    wsgi_app, policy=SERVICES_POLICY, secret_key=SECRET, store=store
                ),
                service_cookie,
            ),
        }
        loop = asyncio.new_event_loop()
        samples: dict[str, list[float]] = {k: [] for k in [*asgi, *wsgi]}
        for run in asgi.values():
            loop.run_until_complete(run(200))
        for run_sync in wsgi.values():
            run_sync(200)
        # Twice the rounds, every other one in reverse order: a variant is never always
        # the one that runs after another's garbage.
        for index in range(ROUNDS * 2):
            step = 1 if index % 2 == 0 else -1
            for name, run in list(asgi.items())[::step]:
                samples[name].append(loop.run_until_complete(run(PER_ROUND)))
            for name, run_sync in list(wsgi.items())[::step]:
                samples[name].append(run_sync(PER_ROUND))
        loop.close()
    med = {k: statistics.median(v) * 1e6 for k, v in samples.items()}
    print(f"{ref} against the working tree: valid consent cookie, plain response\n")
    print("| variant | µs/request (median of rounds) | overhead µs |")
    print("|---|---|---|")
    for name, value in med.items():
        base = med["wsgi bare"] if name.startswith("wsgi") else med["bare"]
        print(f"| {name} | {value:.1f} | {value - base:.1f} |")
    ok = True
    for prefix, bare in (("", "bare"), ("wsgi ", "wsgi bare")):
        old_over = med[f"{prefix}{ref}"] - med[bare]
        for variant in ("tree", "tree, per service"):
            ratio = (med[f"{prefix}{variant}"] - med[bare]) / old_over
            target = variant == "tree"
            ok = ok and (ratio <= 1.10 or not target)
            print(
                f"{prefix or 'asgi '}{variant} / {ref} overhead: {ratio:.2f}"
                f"{'  (target <= 1.10)' if target else '  (reported)'}"
            )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--against"] and len(sys.argv) == 3:
        sys.exit(against(sys.argv[2]))
    sys.exit(main())
