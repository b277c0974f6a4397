"""The apps and the client harness the tests run through both adapters.

:func:`make_starlette_app` and :func:`wsgi_app` are the same small site for ASGI and
WSGI; :class:`ASGIHarness` and :class:`WSGIHarness` send requests through either
middleware and return the same :class:`Result`, so behaviour tables run identically
through both. ``conftest.py`` turns :class:`ClientFactory` into the ``client`` fixture.
:func:`http_scope` and :func:`run_asgi` drive an ASGI app with raw messages.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

# WebOb imports the stdlib `cgi` module, deprecated since Python 3.11; that is
# WebOb's business, not ours (pytest turns warnings into errors).
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'cgi' is deprecated", DeprecationWarning)
    import webtest

from consent_mw import (
    ConsentMiddleware,
    Policy,
    WSGIConsentMiddleware,
)
from consent_mw.core.consent import Consent
from consent_mw.core.cookies import ConsentCookieCodec

SECRET = "test-secret-key-0123456789abcdef"
OTHER_SECRET = "another-secret-key-fedcba9876543210"
CLIENT_IP = "203.0.113.57"
HOST = "testserver"

# What the demo apps' "/" sets, in this order. `session` is necessary (named by
# the custom policy; unknown under the presets), `session` twice proves
# duplicates are kept, `_ga_XYZ` exercises wildcards, `chat_id` belongs to the
# custom policy's own category.
DEMO_SET_COOKIES: tuple[str, ...] = (
    "session=s1; Path=/; HttpOnly; SameSite=Lax",
    "_ga=GA1.1.111.222; Path=/; Max-Age=63072000",
    "_ga_XYZ=GS1.1.333; Path=/; Max-Age=63072000",
    "_fbp=fb.1.444; Path=/; HttpOnly",
    "chat_id=c1; Path=/",
    "session=s2; Path=/; HttpOnly",
)
STREAM_CHUNKS: tuple[bytes, ...] = (b"one,", b"two,", b"three")
ECHO_HEADERS = ("cache-control", "vary")
NO_JSON: Any = object()  # ``json=None`` sends the JSON ``null``


# -- policies ------------------------------------------------------------------------


def custom_policy_dict() -> dict[str, Any]:
    """A small policy with a custom category (``chat``) and a policy cookie spec."""
    return {
        "version": "3",
        "locales": ["ko", "en"],
        "regime": "pipa",
        "compatible_versions": ["2"],
        "processors": [
            {
                "id": "chatco",
                "name": {"ko": "챗코", "en": "ChatCo"},
                "purpose": {"ko": "상담 채팅 운영", "en": "Runs the support chat"},
                "country": "US",
            }
        ],
        "categories": [
            {
                "id": "necessary",
                "title": {"ko": "필수", "en": "Necessary"},
                "description": {"ko": "로그인과 보안", "en": "Sign-in and security"},
                "cookies": [
                    {
                        "name": "session",
                        "owner": "us",
                        "lifetime": {"ko": "세션", "en": "Session"},
                    }
                ],
            },
            {
                "id": "chat",
                "title": {"ko": "상담 채팅", "en": "Support chat"},
                "description": {"ko": "채팅 상담 기록", "en": "Remembers your chat"},
                "cookies": ["chat_*"],
                "hosts": ["widget.chat.example"],
                "processors": ["chatco"],
                "consent_mode": ["functionality_storage"],
                "retention": {"ko": "1년", "en": "1 year"},
            },
            {
                "id": "analytics",
                "title": {"ko": "분석", "en": "Analytics"},
                "description": {"ko": "이용 통계", "en": "Usage statistics"},
            },
            {
                "id": "advertising",
                "title": {"ko": "맞춤형 광고", "en": "Customised advertising"},
                "description": {"ko": "맞춤형 광고", "en": "Customised advertising"},
            },
        ],
    }


def consent_token(
    policy: Policy,
    choices: Mapping[str, bool],
    *,
    action: str = "custom",
    gpc: bool = False,
    secret: str = SECRET,
    now: int | None = None,
) -> str:
    """A signed consent cookie value, as the middleware would have set it."""
    consent = Consent.create(policy, choices, action=action, gpc=gpc, now=now)  # type: ignore[arg-type]
    return ConsentCookieCodec(secret).dumps(consent)


# -- results ---------------------------------------------------------------------------


@dataclass
class SetCookie:
    name: str
    value: str
    attrs: dict[str, str]
    flags: frozenset[str]

    @property
    def is_expiry(self) -> bool:
        return self.attrs.get("max-age") == "0"

    @property
    def domain(self) -> str | None:
        return self.attrs.get("domain")


def parse_set_cookie(header: str) -> SetCookie:
    pair, *rest = header.split(";")
    name, _, value = pair.partition("=")
    attrs: dict[str, str] = {}
    flags: set[str] = set()
    for item in rest:
        key, sep, val = item.strip().partition("=")
        if sep:
            attrs[key.lower()] = val
        elif key:
            flags.add(key.lower())
    return SetCookie(name.strip(), value.strip(), attrs, frozenset(flags))


@dataclass
class Result:
    status: int
    headers: list[tuple[str, str]]  # lowercase names, in order, repeats kept
    body: Any  # parsed JSON, or text

    def header(self, name: str) -> str | None:
        values = self.headers_named(name)
        return values[0] if values else None

    def headers_named(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n == name.lower()]

    @property
    def set_cookies(self) -> list[SetCookie]:
        return [parse_set_cookie(v) for v in self.headers_named("set-cookie")]

    @property
    def kept(self) -> list[str]:
        """Names of the cookies set (not expired), in order."""
        return [c.name for c in self.set_cookies if not c.is_expiry]

    @property
    def expired(self) -> set[tuple[str, str | None]]:
        """``(name, domain)`` of every expiring Set-Cookie."""
        return {(c.name, c.domain) for c in self.set_cookies if c.is_expiry}


def _parse_body(content_type: str | None, raw: bytes) -> Any:
    if content_type and "json" in content_type and raw:
        return jsonlib.loads(raw)
    # A compressed body (a static file's gzip or br variant) is no text: kept as bytes.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def _cookie_header(cookies: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> str | None:
    if not cookies:
        return None
    items = cookies.items() if isinstance(cookies, Mapping) else cookies
    return "; ".join(f"{name}={value}" for name, value in items)


# -- demo apps -------------------------------------------------------------------------


def _report(consent: Any, cookie: str | None, query: str) -> dict[str, Any]:
    return {
        "allows": {c.id: consent.allows(c.id) for c in consent.policy.categories},
        "cookie": cookie,
        "query": query,
        "regime": consent.regime,
    }


def _echo_headers(query: str) -> list[tuple[str, str]]:
    """``/headers?cache-control=…&vary=…`` answers with those headers."""
    return [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k in ECHO_HEADERS]


def read_decision(consent: Any, query: str) -> list[tuple[str, str]]:
    """``/read?attr=NAME&set-cookie=…``: read one public attribute of the decision (or
    none) and answer a publicly cacheable response, with the Set-Cookie asked for."""
    args = dict(parse_qsl(query, keep_blank_values=True))
    name = args.get("attr")
    if name:
        value = getattr(consent, name)
        if callable(value):
            arguments = {
                "allows": ("analytics",),
                "services": ("advertising",),
                "login": ("user-1",),
                "with_consent": (Consent.create(consent.policy, {}, action="custom"),),
            }.get(name, ())
            value(*arguments)
    headers = [("cache-control", "public, max-age=600")]
    if "set-cookie" in args:
        headers.append(("set-cookie", args["set-cookie"]))
    return headers


def make_starlette_app() -> Starlette:
    async def home(request: Request) -> JSONResponse:
        consent = request.scope["consent"]
        query = request.scope["query_string"].decode("latin-1")
        data = _report(consent, request.headers.get("cookie"), query)
        data["state_is_scope"] = request.state.consent is consent
        response = JSONResponse(data)
        for value in DEMO_SET_COOKIES:
            response.raw_headers.append((b"set-cookie", value.encode("latin-1")))
        if "cache=1" in query:
            response.headers["cache-control"] = "public, max-age=60"
            response.headers["vary"] = "Accept-Encoding"
        return response

    async def plain(request: Request) -> PlainTextResponse:
        return PlainTextResponse("plain")

    async def read(request: Request) -> PlainTextResponse:
        query = request.scope["query_string"].decode("latin-1")
        response = PlainTextResponse("read")
        for name, value in read_decision(request.scope["consent"], query):
            response.raw_headers.append((name.encode(), value.encode("latin-1")))
        return response

    async def headers(request: Request) -> JSONResponse:
        query = request.scope["query_string"].decode("latin-1")
        response = JSONResponse(_report(request.scope["consent"], None, query))
        for name, value in _echo_headers(query):
            response.raw_headers.append((name.encode(), value.encode("latin-1")))
        return response

    async def stream(request: Request) -> StreamingResponse:
        consent = request.scope["consent"]
        analytics = consent.allows("analytics")

        async def chunks() -> Any:
            for chunk in STREAM_CHUNKS:
                yield chunk
            yield b" analytics" if analytics else b" no-analytics"

        return StreamingResponse(
            chunks(), media_type="text/plain", headers={"set-cookie": "_ga=GA1.9; Path=/"}
        )

    return Starlette(
        routes=[
            Route("/", home),
            Route("/plain", plain),
            Route("/read", read),
            Route("/headers", headers),
            Route("/stream", stream),
        ]
    )


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    query = environ.get("QUERY_STRING", "")
    if path == "/":
        consent = environ["consent_mw.consent"]
        data = _report(consent, environ.get("HTTP_COOKIE"), query)
        data["state_is_scope"] = True  # no request.state under WSGI
        body = jsonlib.dumps(data).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        headers += [("Set-Cookie", value) for value in DEMO_SET_COOKIES]
        if "cache=1" in query:
            headers += [("Cache-Control", "public, max-age=60"), ("Vary", "Accept-Encoding")]
        start_response("200 OK", headers)
        return [body]
    if path == "/plain":
        start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"plain"]
    if path == "/read":
        headers = read_decision(environ["consent_mw.consent"], query)
        start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"), *headers])
        return [b"read"]
    if path == "/headers":
        body = jsonlib.dumps(_report(environ["consent_mw.consent"], None, query)).encode()
        start_response("200 OK", [("Content-Type", "application/json"), *_echo_headers(query)])
        return [body]
    if path == "/stream":
        analytics = environ["consent_mw.consent"].allows("analytics")
        start_response(
            "200 OK",
            [("Content-Type", "text/plain; charset=utf-8"), ("Set-Cookie", "_ga=GA1.9; Path=/")],
        )

        def chunks() -> Iterable[bytes]:
            yield from STREAM_CHUNKS
            yield b" analytics" if analytics else b" no-analytics"

        return chunks()
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]


# -- harnesses ---------------------------------------------------------------------------


class Harness:
    kind: str
    middleware: Any

    @property
    def policy(self) -> Policy:
        return self.middleware.config.policy

    @property
    def store(self) -> Any:
        return self.middleware.config.store

    def token(self, choices: Mapping[str, bool], **kwargs: Any) -> str:
        """A consent cookie value for this harness's policy and key."""
        return consent_token(self.policy, choices, **kwargs)

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        cookies: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        json: Any = NO_JSON,
        body: bytes | None = None,
        content_type: str | None = None,
        scheme: str = "http",
        host: str = HOST,
    ) -> Result:
        all_headers = {k.lower(): v for k, v in (headers or {}).items()}
        cookie = _cookie_header(cookies)
        if cookie is not None:
            all_headers["cookie"] = cookie
        if json is not NO_JSON:
            body = jsonlib.dumps(json).encode()
            content_type = content_type or "application/json"
        if content_type is not None:
            all_headers["content-type"] = content_type
        return self._send(method, path, all_headers, body, scheme, host)

    def get(self, path: str, **kwargs: Any) -> Result:
        return self.request("GET", path, **kwargs)

    def _send(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None,
        scheme: str,
        host: str,
    ) -> Result:
        raise NotImplementedError


class ASGIHarness(Harness):
    kind = "asgi"

    def __init__(self, middleware: ConsentMiddleware) -> None:
        self.middleware = middleware
        self.client = TestClient(middleware, client=(CLIENT_IP, 50000))

    def _send(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None,
        scheme: str,
        host: str,
    ) -> Result:
        self.client.cookies.clear()
        response = self.client.request(
            method, f"{scheme}://{host}{path}", headers=headers, content=body
        )
        return Result(
            response.status_code,
            [(k.lower(), v) for k, v in response.headers.multi_items()],
            _parse_body(response.headers.get("content-type"), response.content),
        )


class WSGIHarness(Harness):
    kind = "wsgi"

    def __init__(self, middleware: WSGIConsentMiddleware) -> None:
        self.middleware = middleware
        self.app = webtest.TestApp(middleware, lint=True)

    def _send(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None,
        scheme: str,
        host: str,
    ) -> Result:
        self.app.reset()
        environ = {"REMOTE_ADDR": CLIENT_IP}
        request = webtest.TestRequest.blank(f"{scheme}://{host}{path}", environ=environ)
        request.method = method
        # WebOb writes "host:port"; browsers (and servers passing the header on) do not.
        request.environ["HTTP_HOST"] = host
        for name, value in headers.items():
            if name == "content-type":
                request.environ["CONTENT_TYPE"] = value
            else:
                request.headers[name] = value
        if body is not None:
            request.body = body
        response = self.app.do_request(request, expect_errors=True)
        return Result(
            response.status_int,
            [(k.lower(), v) for k, v in response.headerlist],
            _parse_body(response.content_type, response.body),
        )


def build_asgi(**config: Any) -> ConsentMiddleware:
    return ConsentMiddleware(make_starlette_app(), **config)


def build_wsgi(**config: Any) -> WSGIConsentMiddleware:
    return WSGIConsentMiddleware(wsgi_app, **config)


class ClientFactory:
    """``client(policy=..., **options)`` -> a new harness; ``client.request(...)`` -> default."""

    def __init__(self, kind: str, defaults: dict[str, Any]) -> None:
        self.kind = kind
        self.defaults = defaults
        self._default: Harness | None = None

    def __call__(self, **options: Any) -> Harness:
        config = {**self.defaults, **options}
        if config["policy"] == "custom":
            config["policy"] = custom_policy_dict()
        if self.kind == "asgi":
            return ASGIHarness(build_asgi(**config))
        return WSGIHarness(build_wsgi(**config))

    @property
    def default(self) -> Harness:
        if self._default is None:
            self._default = self()
        return self._default

    def __getattr__(self, name: str) -> Any:
        return getattr(self.default, name)


# -- raw ASGI ------------------------------------------------------------------------------


@dataclass
class ASGICall:
    """The messages an ASGI app sent, in order."""

    sent: list[dict[str, Any]] = field(default_factory=list)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["type"] == kind]


def http_scope(
    path: str = "/",
    *,
    method: str = "GET",
    headers: Iterable[tuple[str, str]] = (),
    query_string: str = "",
    scheme: str = "http",
) -> dict[str, Any]:
    raw = [(b"host", HOST.encode())] + [(n.lower().encode(), v.encode()) for n, v in headers]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query_string.encode(),
        "root_path": "",
        "headers": raw,
        "client": (CLIENT_IP, 50000),
        "server": (HOST, 80),
    }


def run_asgi(
    app: Any,
    scope: dict[str, Any],
    incoming: Iterable[dict[str, Any]] = (),
    call: ASGICall | None = None,
) -> ASGICall:
    """Call ``app`` with a hand-made scope; ``incoming`` are the messages receive returns,
    then ``http.disconnect``. Sent messages are recorded in ``call`` as they arrive."""
    call = ASGICall() if call is None else call
    queue = list(incoming)

    async def receive() -> dict[str, Any]:
        if queue:
            return queue.pop(0)
        await asyncio.sleep(0)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        call.sent.append(message)

    asyncio.run(app(scope, receive, send))
    return call


# -- a request, then a server's exit, on the running event loop ----------------------------


async def ok_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers ``ok`` to every request, and takes part in the lifespan protocol."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def get_each(app: Any, paths: Iterable[str], sent: list[dict[str, Any]]) -> None:
    """GET every path through ``app`` on the running loop (what they send: ``sent``)."""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    for path in paths:
        await app(http_scope(path), receive, send)


async def lifespan_cycle(app: Any, sent: list[dict[str, Any]]) -> None:
    """A server's startup and shutdown through ``app``, on the running loop."""
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "lifespan", "state": {}}, receive, send)


def sync_writes(store: Any) -> list[int]:
    """From now on, the size of each batch of events ``store`` is given through its
    sync face (``record_events``), in order."""
    sizes: list[int] = []
    record_events = store.record_events

    def noting(events: Any) -> None:
        sizes.append(len(events))
        record_events(events)

    store.record_events = noting
    return sizes
