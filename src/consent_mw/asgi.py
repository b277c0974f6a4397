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

from anyio import to_thread

from .config import Config
from .endpoints import Endpoints, Response, Result, StoreCall, unavailable
from .engine import Engine, Visit
from .exceptions import StoreError
from .facts import RequestFacts, is_gpc, join_header
from .htmlbody import REPORT_HEADER, HTMLBody, plan_html
from .runtime import Runtime

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
    # ASGI servers lowercase request header names, so bytes compare directly.
    for name, value in raw:
        if name == b"cookie":
            cookie = f"{cookie}; {value.decode('latin-1')}" if cookie else value.decode("latin-1")
        elif name == b"host":
            host = value.decode("latin-1")
        elif name == b"sec-gpc":
            gpc = is_gpc(value)
    if not host:
        server = scope.get("server")
        host = f"{server[0]}:{server[1]}" if server else "localhost"
    client = scope.get("client")
    facts = RequestFacts(
        method=scope["method"],
        path=scope["path"],
        query_string=scope.get("query_string", b"").decode("latin-1"),
        scheme=scope.get("scheme", "http"),
        host=host,
        client_ip=client[0] if client else None,
        cookie_header=cookie,
        gpc=gpc,
        load_headers=_load_headers,
        raw=raw,
    )
    if trust_forwarded:
        facts.trust_forwarded()
    return facts


def _encode(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in headers]


class _Exchange:
    """One response on its way out: headers filtered, HTML rewritten as it streams."""

    __slots__ = (
        "_send",
        "body",
        "endpoints",
        "engine",
        "held",
        "middleware",
        "scope",
        "status",
        "visit",
    )

    def __init__(
        self,
        middleware: ConsentMiddleware,
        engine: Engine,
        endpoints: Endpoints,
        visit: Visit,
        scope: Scope,
        send: Send,
    ) -> None:
        self.middleware = middleware
        self.engine = engine
        self.endpoints = endpoints
        self.visit = visit
        self.scope = scope
        self._send = send
        self.body: HTMLBody | None = None
        self.held: list[Message] | None = None
        self.status: int | None = None

    async def send(self, message: Message) -> None:
        kind = message["type"]
        body = self.body
        if kind == "http.response.start":
            if self.visit.decision.login_user is not None:
                message = await self.carry(message)
            message = self.start(message)
            if self.body is not None and self.body.hold:
                self.held = [message]
                return
        elif kind == "http.response.body" and body is not None:
            more = message.get("more_body", False)
            chunk = body.feed(message.get("body", b""))
            if not more:
                chunk += body.close()
            message = {"type": kind, "body": chunk, "more_body": more}
            if body.hold and self.held is not None:
                self.held.append(message)
                if not more:
                    await self.release(body)
                return
        await self._send(message)

    def nonce(self) -> str | None:
        return self.middleware.nonce(self.scope)

    async def carry(self, message: Message) -> Message:
        """At sign-in: the user's earlier choice for a browser without one (a store read)."""
        carried = await self.middleware.complete(self.endpoints.carry(self.visit))
        cookies = _encode([(k, v) for k, v in carried.headers if k == "set-cookie"])
        return (
            {**message, "headers": [*message.get("headers", []), *cookies]} if cookies else message
        )

    def start(self, message: Message) -> Message:
        visit, engine = self.visit, self.engine
        self.status = message["status"]
        original = message.get("headers", [])
        new = engine.response_headers(visit, original)
        headers = original if new is None else new
        if visit.content_type is not None:
            self.body, headers = plan_html(engine, visit, headers, self.nonce)
        if headers is original:
            return message
        return {**message, "headers": headers}

    async def release(self, body: HTMLBody) -> None:
        # Report mode: the whole body was held so its count can go in a header.
        start, *parts = self.held or [{"headers": []}]
        content = b"".join(part["body"] for part in parts)
        headers = [
            *start["headers"],
            (REPORT_HEADER, str(body.blocked).encode()),
            (b"content-length", str(len(content)).encode()),
        ]
        await self._send({**start, "headers": headers})
        await self._send({"type": "http.response.body", "body": content})


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
        self.runtime = Runtime(self.config)
        self.store = self.config.store
        self.recorder = self.runtime.recorder

    @property
    def engine(self) -> Engine:
        """The engine of the policy version in force now."""
        return self.runtime.engine

    @property
    def endpoints(self) -> Endpoints:
        return self.runtime.endpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self.app(scope, receive, self._lifespan_send(send))
            else:
                await self.app(scope, receive, send)
            return
        engine, endpoints = self.runtime.current()
        facts = _facts(scope, self.config.trust_forwarded)
        visit = engine.begin(facts)
        if engine.is_endpoint(facts.path):
            await self._endpoint(engine, endpoints, visit, receive, send)
            return

        extensions = scope.get("extensions")
        if (
            visit.cookie_header is not None
            or visit.query_string is not None
            or (extensions and "http.response.pathsend" in extensions)
        ):
            scope = dict(scope)
            if extensions and "http.response.pathsend" in extensions:
                # A file sent by path would bypass the HTML rewriter: ask for a body.
                scope["extensions"] = {
                    k: v for k, v in extensions.items() if k != "http.response.pathsend"
                }
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

        exchange = _Exchange(self, engine, endpoints, visit, scope, send)
        await self.app(scope, receive, exchange.send)
        if exchange.status is not None and (
            self.config.record_requests or visit.decision.login_user is not None
        ):
            self.recorder_hit(engine, visit, exchange.status)

    def recorder_hit(self, engine: Engine, visit: Visit, status: int) -> None:
        """Hand the finished request to the recorder (a queue append, no I/O)."""
        decision = visit.decision
        if self.config.record_requests and self.recorder.wants(visit.facts.path):
            self.recorder.add(engine.hit(visit, status))
        if decision.login_user is not None and decision.subject_id is not None:
            self.recorder.link(decision.subject_id, decision.login_user)

    async def complete(self, result: Result) -> Response:
        """Run the store calls an endpoint asks for; 503 if the ledger is down."""
        while isinstance(result, StoreCall):
            try:
                value = await getattr(self.store, "a" + result.method)(
                    *result.args, **result.kwargs
                )
            except StoreError:
                return unavailable()
            result = result.then(value)
        return result

    def nonce(self, scope: Scope) -> str | None:
        source = self.config.csp_nonce
        if source is None:
            return None
        if callable(source):
            value = source(scope)
        else:
            value = scope.get(source) or (scope.get("state") or {}).get(source)
        return value if isinstance(value, str) and value else None

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

    async def _endpoint(
        self, engine: Engine, endpoints: Endpoints, visit: Visit, receive: Receive, send: Send
    ) -> None:
        body = b""
        if visit.facts.method in ("POST", "PUT", "PATCH", "DELETE"):
            read = await self._read_body(visit, receive)
            if read is None:
                await self._send(engine, visit, endpoints.too_large(), send)
                return
            body = read
        response = await self.complete(endpoints.dispatch(visit, body))
        await self._send(engine, visit, response, send)

    async def _send(self, engine: Engine, visit: Visit, response: Response, send: Send) -> None:
        headers = _encode([*response.headers, ("content-length", str(len(response.body)))])
        headers = engine.response_headers(visit, headers) or headers
        body = b"" if visit.facts.method == "HEAD" else response.body
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _lifespan_send(self, send: Send) -> Send:
        async def lifespan_send(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                await to_thread.run_sync(self.recorder.close)
                await self.store.aclose()
            await send(message)

        return lifespan_send
