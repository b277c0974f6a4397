"""Per-request overhead of ``consent_mw.django.ConsentMiddleware`` beside Django's own
``SessionMiddleware``, in one run.

A Django view returning a plain response that sets three cookies (necessary, analytics,
advertising), run through Django's handler (``BaseHandler.get_response``, the request
built from a WSGI environ as the WSGI handler builds it, the response's headers and
``Set-Cookie`` lines serialised as it sends them): with no middleware; behind
``SessionMiddleware`` (signed-cookie sessions, the cheapest backend: no database) with a
valid session cookie, the view reading the session as a signed-in site's views do
(Starlette's SessionMiddleware, the anchor of bench_middleware.py, verifies its cookie
on every request; Django's loads it when first read); and behind ``ConsentMiddleware``
(a valid consent cookie allowing analytics, so the advertising cookie is stripped and
the response's headers are written back). Target: consent overhead <= 0.5 x the session
overhead. Reported beside it: a session the view never reads (Django's middleware then
only looks at the cookie's name), and the same variants through the async chain (an
async view, ``get_response_async``, an ``ASGIRequest``; Django's SessionMiddleware is
synchronous, so there it costs a thread hop).

The rounds interleave the variants so machine noise hits them alike; the figure per
variant is the median of the rounds. Run: ``python benchmarks/bench_django.py``.
"""

from __future__ import annotations

import asyncio
import io
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import django
from django.conf import settings

SECRET = "benchmark-django-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
ROUNDS = 61
PER_ROUND = 300
SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
CONSENT = "consent_mw.django.ConsentMiddleware"

settings.configure(
    DEBUG=False,
    SECRET_KEY=SECRET,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.sessions"],
    MIDDLEWARE=[],
    SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
    CONSENT_MW={"policy": "gdpr", "store": "memory://"},
    USE_TZ=True,
)
django.setup()

from django.core.handlers.asgi import ASGIRequest  # noqa: E402
from django.core.handlers.base import BaseHandler  # noqa: E402
from django.core.handlers.wsgi import WSGIRequest  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import override_settings  # noqa: E402
from django.urls import path  # noqa: E402

from consent_mw import Policy  # noqa: E402
from consent_mw.core.consent import Consent  # noqa: E402
from consent_mw.core.cookies import ConsentCookieCodec  # noqa: E402
from consent_mw.django.conf import derived_keys  # noqa: E402


def _response() -> HttpResponse:
    response = HttpResponse("Hello, world", content_type="text/plain; charset=utf-8")
    response.set_cookie("session_id", "abc", httponly=True)
    response.set_cookie("_ga", "GA1.1.123.456")
    response.set_cookie("_fbp", "fb.1.123.456", httponly=True)
    return response


def view(request: Any) -> HttpResponse:
    session = getattr(request, "session", None)
    if session is not None:
        session.get("user")
    return _response()


def untouched(request: Any) -> HttpResponse:
    return _response()


async def aview(request: Any) -> HttpResponse:
    session = getattr(request, "session", None)
    if session is not None:
        await session.aget("user")
    return _response()


urlpatterns = [path("", view), path("untouched", untouched), path("async", aview)]


def consent_cookie() -> str:
    consent = Consent.create(Policy.preset("gdpr"), {"analytics": True}, action="custom")
    return "consent_mw=" + ConsentCookieCodec(derived_keys()[0]).dumps(consent)


def session_cookie() -> str:
    from django.contrib.sessions.backends.signed_cookies import SessionStore

    store = SessionStore()
    store["user"] = "someone"
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def _sent(response: Any) -> list[tuple[str, str]]:
    # What Django's WSGI handler hands the server.
    return [
        *response.items(),
        *(("Set-Cookie", c.output(header="")) for c in response.cookies.values()),
    ]


def environ(cookie: str, route: str = "/") -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": route,
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
        "wsgi.input": io.BytesIO(b""),
    }


def handler(middleware: list[str], is_async: bool) -> BaseHandler:
    with override_settings(MIDDLEWARE=middleware):
        built = BaseHandler()
        built.load_middleware(is_async=is_async)
    return built


def sync_runner(middleware: list[str], cookie: str, route: str = "/") -> Callable[[int], float]:
    chain = handler(middleware, is_async=False)
    base = environ(cookie, route)

    def run(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            response = chain.get_response(WSGIRequest(dict(base)))
            _sent(response)
            response.close()
        return (time.perf_counter() - start) / n

    return run


def async_runner(middleware: list[str], cookie: str) -> Callable[[int], Any]:
    chain = handler(middleware, is_async=True)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/async",
        "raw_path": b"/async",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"user-agent", b"bench"),
            (b"accept", b"*/*"),
            (b"cookie", cookie.encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def run(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            response = await chain.get_response_async(ASGIRequest(dict(scope), io.BytesIO()))
            _sent(response)
            response.close()
        return (time.perf_counter() - start) / n

    return run


def check(consent: str, session: str) -> None:
    """Each variant does what it is measured for."""
    sent = _sent(handler([CONSENT], False).get_response(WSGIRequest(environ(consent))))
    cookies = {v.split("=", 1)[0].strip() for n, v in sent if n == "Set-Cookie"}
    assert cookies == {"session_id", "_ga"}, cookies  # the advertising cookie stripped
    request = WSGIRequest(environ(session))
    handler([SESSION], False).get_response(request)
    assert request.session.accessed and request.session["user"] == "someone"


def main() -> int:
    consent, session = consent_cookie(), session_cookie()
    sync_variants = {
        "bare": sync_runner([], ""),
        "session": sync_runner([SESSION], session),
        "session_untouched": sync_runner([SESSION], session, "/untouched"),
        "consent": sync_runner([CONSENT], consent),
    }
    async_variants = {
        "async_bare": async_runner([], ""),
        "async_session": async_runner([SESSION], session),
        "async_consent": async_runner([CONSENT], consent),
    }
    check(consent, session)
    loop = asyncio.new_event_loop()
    samples: dict[str, list[float]] = {k: [] for k in [*sync_variants, *async_variants]}
    for run in sync_variants.values():  # warm-up
        run(200)
    for arun in async_variants.values():
        loop.run_until_complete(arun(200))
    for _ in range(ROUNDS):
        for name, run in sync_variants.items():
            samples[name].append(run(PER_ROUND))
        for name, arun in async_variants.items():
            samples[name].append(loop.run_until_complete(arun(PER_ROUND)))
    loop.close()

    med = {k: statistics.median(v) * 1e6 for k, v in samples.items()}
    session_over = med["session"] - med["bare"]
    consent_over = med["consent"] - med["bare"]
    asession_over = med["async_session"] - med["async_bare"]
    aconsent_over = med["async_consent"] - med["async_bare"]
    untouched_over = med["session_untouched"] - med["bare"]
    ratio, aratio = consent_over / session_over, aconsent_over / asession_over

    print("| variant | µs/request (median of rounds) |")
    print("|---|---|")
    for name, value in med.items():
        print(f"| {name} | {value:.1f} |")
    print()
    print(f"SessionMiddleware overhead (sync):      {session_over:6.1f} µs")
    print(f"ConsentMiddleware overhead (sync):      {consent_over:6.1f} µs")
    print(f"SessionMiddleware overhead (async):     {asession_over:6.1f} µs")
    print(f"ConsentMiddleware overhead (async):     {aconsent_over:6.1f} µs")
    print(f"SessionMiddleware, session unread:      {untouched_over:6.1f} µs")
    print(f"consent / session overhead, sync:       {ratio:.2f}  (target <= 0.50)")
    print(
        f"consent / unread session, sync:         {consent_over / untouched_over:.2f}  (reported)"
    )
    print(f"consent / session overhead, async:      {aratio:.2f}  (reported)")
    ok = ratio <= 0.5
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
