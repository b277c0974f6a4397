"""``ConsentMiddleware``: the pure ASGI adapter.

::

    from consent_mw import ConsentMiddleware
    app = ConsentMiddleware(app, policy="policy.toml", secret_key=os.environ["CONSENT_KEY"])

The app reads ``scope["consent"]`` (Starlette: ``request.state.consent`` too).
Non-HTTP scopes pass through; the lifespan shutdown closes the store.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .config import Config
from .endpoints import Endpoints, Response, StoreCall, unavailable
from .engine import Engine, Visit
from .exceptions import StoreError
from .facts import RequestFacts, is_gpc, join_header

__all__ = ["ConsentMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _load_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in raw:
        join_header(headers, name.decode("latin-1").lower(), value.decode("latin-1"))
    return headers


def _facts(scope: Scope, trust_forwarded: bool) -> RequestFacts:
    raw = scope["headers"]
    cookie = ""
    host = ""
    gpc = False
    forwarded = None
    # ASGI servers lowercase request header names, so bytes compare directly.
    for name, value in raw:
        if name == b"cookie":
            cookie = f"{cookie}; {value.decode('latin-1')}" if cookie else value.decode("latin-1")
        elif name == b"host":
            host = value.decode("latin-1")
        elif name == b"sec-gpc":
            gpc = is_gpc(value)
        elif name == b"x-forwarded-for" and trust_forwarded:
            forwarded = value.decode("latin-1").split(",", 1)[0].strip()
    if not host:
        server = scope.get("server")
        host = f"{server[0]}:{server[1]}" if server else "localhost"
    client = scope.get("client")
    return RequestFacts(
        method=scope["method"],
        path=scope["path"],
        query_string=scope.get("query_string", b"").decode("latin-1"),
        scheme=scope.get("scheme", "http"),
        host=host,
        client_ip=forwarded or (client[0] if client else None),
        cookie_header=cookie,
        gpc=gpc,
        load_headers=_load_headers,
        raw=raw,
    )


def _encode(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in headers]


class ConsentMiddleware:
    """Enforce cookie consent on the server for any ASGI app (Starlette, FastAPI, …).

    Options are keyword-only and shared with :class:`~consent_mw.wsgi.WSGIConsentMiddleware`
    (see :class:`~consent_mw.config.Config`).
    """

    def __init__(
        self, app: ASGIApp, *, policy: Any, secret_key: Any, store: Any = None, **options: Any
    ) -> None:
        self.app = app
        self.config = Config.build(policy=policy, secret_key=secret_key, store=store, **options)
        self.engine = Engine(self.config)
        self.endpoints = Endpoints(self.engine)
        self.store = self.config.store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self.app(scope, receive, self._lifespan_send(send))
            else:
                await self.app(scope, receive, send)
            return
        engine = self.engine
        facts = _facts(scope, self.config.trust_forwarded)
        visit = engine.begin(facts)
        if engine.is_endpoint(facts.path):
            await self._endpoint(visit, receive, send)
            return

        if visit.cookie_header is not None or visit.query_string is not None:
            scope = dict(scope)
            if visit.cookie_header is not None:
                headers = [(n, v) for n, v in scope["headers"] if n != b"cookie"]
                if visit.cookie_header:
                    headers.append((b"cookie", visit.cookie_header.encode("latin-1")))
                scope["headers"] = headers
            if visit.query_string is not None:
                scope["query_string"] = visit.query_string.encode("latin-1")
        scope["consent"] = visit.decision
        state = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        state["consent"] = visit.decision

        async def send_with_consent(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = self._apply(visit, message)
            await send(message)

        await self.app(scope, receive, send_with_consent)

    def _apply(self, visit: Visit, message: Message) -> Message:
        new = self.engine.response_headers(visit, message.get("headers", []))
        if new is None:
            return message
        return {**message, "headers": new}

    async def _read_body(self, visit: Visit, receive: Receive) -> bytes | None:
        limit = self.config.max_body_size
        declared = visit.facts.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b""
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _endpoint(self, visit: Visit, receive: Receive, send: Send) -> None:
        body = b""
        if visit.facts.method in ("POST", "PUT", "PATCH", "DELETE"):
            read = await self._read_body(visit, receive)
            if read is None:
                await self._send(visit, self.endpoints.too_large(), send)
                return
            body = read
        result = self.endpoints.dispatch(visit, body)
        while isinstance(result, StoreCall):
            try:
                value = await getattr(self.store, "a" + result.method)(
                    *result.args, **result.kwargs
                )
            except StoreError:
                result = unavailable()
            else:
                result = result.then(value)
        await self._send(visit, result, send)

    async def _send(self, visit: Visit, response: Response, send: Send) -> None:
        headers = _encode([*response.headers, ("content-length", str(len(response.body)))])
        headers = self.engine.response_headers(visit, headers) or headers
        body = b"" if visit.facts.method == "HEAD" else response.body
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _lifespan_send(self, send: Send) -> Send:
        async def lifespan_send(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                await self.store.aclose()
            await send(message)

        return lifespan_send
