"""``ConsentMiddleware``: the pure ASGI adapter.

::

    from consent_mw import ConsentMiddleware
    app = ConsentMiddleware(app, policy="policy.toml", secret_key=os.environ["CONSENT_KEY"])

The app reads ``scope["consent"]`` (Starlette: ``request.state.consent`` too).
Non-HTTP scopes pass through; the lifespan shutdown closes the store.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Unpack

from anyio import to_thread

from .adapter import Runtime
from .core.config import Config
from .core.engine import Engine, Visit
from .core.facts import RequestFacts, is_gpc, join_header
from .core.options import Options, PolicySource, SecretKey, StoreSource
from .exceptions import StoreError
from .html.body import REPORT_HEADER, HTMLBody, plan_html
from .web.endpoints import Endpoints
from .web.responses import Response, Result, StoreCall, unavailable

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
    agent = None
    if_none_match = None
    # ASGI servers lowercase request header names, so bytes compare directly.
    for name, value in raw:
        if name == b"cookie":
            cookie = f"{cookie}; {value.decode('latin-1')}" if cookie else value.decode("latin-1")
        elif name == b"host":
            host = value.decode("latin-1")
        elif name == b"sec-gpc":
            gpc = is_gpc(value)
        elif name == b"user-agent":
            text = value.decode("latin-1")
            agent = f"{agent}, {text}" if agent is not None else text  # as headers joins them
        elif name == b"if-none-match":
            text = value.decode("latin-1")
            if_none_match = f"{if_none_match}, {text}" if if_none_match is not None else text
    if not host:
        server = scope.get("server")
        host = f"{server[0]}:{server[1]}" if server else "localhost"
    client = scope.get("client")
    query = scope.get("query_string")
    # Positional: this runs on every request.
    facts = RequestFacts(
        scope["method"],
        scope["path"],
        query.decode("latin-1") if query else "",
        scope.get("scheme", "http"),
        host,
        client[0] if client else None,
        cookie,
        gpc,
        None,
        _load_headers,
        raw,
        agent,
        if_none_match,
    )
    if trust_forwarded:
        facts.trust_forwarded()
    return facts


def _validators_for_app(
    headers: list[tuple[bytes, bytes]], if_none_match: str
) -> list[tuple[bytes, bytes]]:
    """The request headers with If-None-Match as the app must see it (see .validators)."""
    skip = (b"if-none-match", b"if-modified-since") if not if_none_match else (b"if-none-match",)
    out = [(n, v) for n, v in headers if n not in skip]
    if if_none_match:
        out.append((b"if-none-match", if_none_match.encode("latin-1")))
    return out


def _encode(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in headers]


class _HTMLStream:
    """An HTML body rewritten on its way out; report mode holds it whole for its count."""

    __slots__ = ("body", "held", "send")

    def __init__(self, body: HTMLBody, start: Message, send: Send) -> None:
        self.body = body
        self.send = send
        self.held: list[Message] | None = [start] if body.hold else None

    async def message(self, message: Message) -> None:
        body = self.body
        more = message.get("more_body", False)
        chunk = body.feed(message.get("body", b""))
        if not more:
            chunk += body.close()
        rewritten = {"type": "http.response.body", "body": chunk, "more_body": more}
        if self.held is None:
            await self.send(rewritten)
            return
        self.held.append(rewritten)
        if not more:
            start, *parts = self.held
            content = b"".join(part["body"] for part in parts)
            headers = [
                *start.get("headers", []),
                (REPORT_HEADER, str(body.blocked).encode()),
                (b"content-length", str(len(content)).encode()),
            ]
            await self.send({**start, "headers": headers})
            await self.send({"type": "http.response.body", "body": content})


class ConsentMiddleware:
    """Enforce cookie consent on the server for any ASGI app (Starlette, FastAPI, …).

    Options are keyword-only and shared with :class:`~consent_mw.wsgi.WSGIConsentMiddleware`
    (see :class:`~consent_mw.config.Config`).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        policy: PolicySource,
        secret_key: SecretKey,
        store: StoreSource = None,
        **options: Unpack[Options],
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
        if facts.path.startswith(engine.endpoint_starts) and engine.is_endpoint(facts.path):
            await self._endpoint(engine, endpoints, visit, receive, send)
            return

        extensions = scope.get("extensions")
        if (
            visit.cookie_header is not None
            or visit.query_string is not None
            or visit.if_none_match is not None
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
            if visit.if_none_match is not None:
                scope["headers"] = _validators_for_app(scope["headers"], visit.if_none_match)
            if visit.query_string is not None:
                scope["query_string"] = visit.query_string.encode("latin-1")
        scope["consent"] = visit.decision
        state = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        state["consent"] = visit.decision

        html: _HTMLStream | None = None

        async def send_with_consent(message: Message) -> None:
            nonlocal html
            if html is not None and message["type"] == "http.response.body":
                await html.message(message)
                return
            if message["type"] == "http.response.start":
                status = message["status"]
                if visit.decision._login_user is not None:
                    message = await self._carry(endpoints, visit, message)
                # After the carry: a sign-in links the consent id the browser now has.
                self.runtime.response_started(engine, visit, status)
                original = message.get("headers", [])
                new = engine.response_headers(visit, original)
                headers = original if new is None else new
                if visit.content_type is not None or visit.revalidated is not None:
                    body, headers = plan_html(
                        engine, visit, headers, lambda: self.nonce(scope), status
                    )
                    if body is not None:
                        message = {**message, "headers": headers}
                        html = _HTMLStream(body, message, send)
                        if body.hold:
                            return
                if headers is not original:
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_consent)

    async def _carry(self, endpoints: Endpoints, visit: Visit, message: Message) -> Message:
        """At sign-in: the user's earlier choice for a browser without one (a store read)."""
        carried = await self.complete(endpoints.carry(visit))
        cookies = _encode([(k, v) for k, v in carried.headers if k == "set-cookie"])
        if not cookies:
            return message
        return {**message, "headers": [*message.get("headers", []), *cookies]}

    async def complete(self, result: Result) -> Response:
        """Run the store calls an endpoint asks for; 503 if the ledger is down."""
        while isinstance(result, StoreCall):
            try:
                value = await result.arun(self.store)
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
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
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
