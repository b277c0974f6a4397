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

from .adapter import Adapter, RewrittenBody, carried_cookies, declared_length
from .core.engine import Engine, Visit
from .core.facts import RequestFacts
from .html.body import HTMLBody
from .web.endpoints import Endpoints
from .web.responses import Response, Result

__all__ = ["ConsentMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_PATHSEND = "http.response.pathsend"


def _scope_for_app(scope: Scope, visit: Visit, pathsend: bool) -> Scope:
    """A copy of the scope with the Cookie header, query string and validators the
    decision changed, and without the path-send extension."""
    scope = dict(scope)
    if pathsend:
        # A file sent by path would bypass the HTML rewriter: ask for a body.
        scope["extensions"] = {k: v for k, v in scope["extensions"].items() if k != _PATHSEND}
    if visit.cookie_header is not None:
        headers = [(n, v) for n, v in scope["headers"] if n != b"cookie"]
        if visit.cookie_header:
            headers.append((b"cookie", visit.cookie_header.encode("latin-1")))
        scope["headers"] = headers
    if visit.if_none_match is not None:
        scope["headers"] = _validators_for_app(scope["headers"], visit.if_none_match)
    if visit.query_string is not None:
        scope["query_string"] = visit.query_string.encode("latin-1")
    return scope


def _scope_nonce(scope: Scope, key: str) -> object:
    return scope.get(key) or (scope.get("state") or {}).get(key)


def _validators_for_app(
    headers: list[tuple[bytes, bytes]], if_none_match: str
) -> list[tuple[bytes, bytes]]:
    """The request headers with If-None-Match as the app must see it (see .validators)."""
    skip = (b"if-none-match", b"if-modified-since") if not if_none_match else (b"if-none-match",)
    out = [(n, v) for n, v in headers if n not in skip]
    if if_none_match:
        out.append((b"if-none-match", if_none_match.encode("latin-1")))
    return out


class _HTMLStream:
    """The body messages of a rewritten HTML response. The start message waits for the
    first body message: a body that comes whole (most frameworks send it so) goes out
    with its Content-Length, which spares the server chunked framing; in report mode
    the start message waits for the whole body (see RewrittenBody). The body is driven
    directly otherwise: this runs on every HTML response."""

    __slots__ = ("body", "first", "held", "send", "start")

    def __init__(self, body: HTMLBody, start: Message, send: Send) -> None:
        self.body = body
        self.held = RewrittenBody(body) if body.hold else None
        self.send = send
        self.start = start
        self.first = True

    async def message(self, message: Message) -> None:
        held = self.held
        if held is not None:
            await self._held_message(held, message)
            return
        body = self.body
        more = message.get("more_body", False)
        data = message.get("body", b"")
        if self.first:
            self.first = False
            if not more:
                chunk = body.whole(data)
                # The start message and its header list are the middleware's own
                # copies (the headers of a rewritten page always change): extended
                # in place.
                start = self.start
                start["headers"].append((b"content-length", str(len(chunk)).encode()))
                await self.send(start)
                await self.send({"type": "http.response.body", "body": chunk})
                return
            await self.send(self.start)
        chunk = body.feed(data)
        if not more:
            chunk += body.close()
        await self.send({"type": "http.response.body", "body": chunk, "more_body": more})

    async def _held_message(self, held: RewrittenBody, message: Message) -> None:
        data = message.get("body", b"")
        first, self.first = self.first, False
        if message.get("more_body", False):
            held.feed(data)
            return
        if first:
            held.whole(data)
        else:
            held.feed(data)
            held.close()
        extra, content = held.held()
        start = self.start
        start["headers"] += extra
        await self.send(start)
        await self.send({"type": "http.response.body", "body": content})


class ConsentMiddleware(Adapter[ASGIApp]):
    """Enforce cookie consent on the server for any ASGI app (Starlette, FastAPI, …).

    Options are keyword-only and shared with :class:`~consent_mw.wsgi.WSGIConsentMiddleware`
    (see :class:`~consent_mw.config.Config`).
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                send = self._lifespan_send(send)
            await self.app(scope, receive, send)
            return
        engine, endpoints, visit, for_us = self.runtime.begin(RequestFacts.from_asgi(scope))
        if for_us:
            await self._endpoint(engine, endpoints, visit, receive, send)
            return
        extensions = scope.get("extensions")
        pathsend = extensions is not None and _PATHSEND in extensions
        if (
            visit.cookie_header is not None
            or visit.query_string is not None
            or visit.if_none_match is not None
            or pathsend
        ):
            scope = _scope_for_app(scope, visit, pathsend)
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
                if visit.decision._login_user is not None:
                    message = await self._carry(endpoints, visit, message)
                # After the carry: a sign-in links the consent id the browser now has.
                original = message.get("headers", [])
                body, headers = self._response_start(
                    engine, visit, message["status"], original, scope
                )
                if headers is not original:
                    message = {**message, "headers": headers}
                if body is not None:
                    # The start goes out with the first body message (see _HTMLStream).
                    html = _HTMLStream(body, message, send)
                    return
            await send(message)

        await self.app(scope, receive, send_with_consent)

    async def _carry(self, endpoints: Endpoints, visit: Visit, message: Message) -> Message:
        """At sign-in: the user's earlier choice for a browser without one (a store read)."""
        cookies = carried_cookies(await self.complete(endpoints.carry(visit)))
        if not cookies:
            return message
        encoded = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in cookies]
        return {**message, "headers": [*message.get("headers", []), *encoded]}

    async def complete(self, result: Result) -> Response:
        """Run the store calls an endpoint asks for; 503 if the ledger is down."""
        return await self._arun_calls(result)

    def nonce(self, scope: Scope) -> str | None:
        return self._nonce(scope, _scope_nonce)

    async def _read_body(self, visit: Visit, receive: Receive) -> bytes | None:
        limit = self._body_limit(visit)
        length = declared_length(visit.facts.headers.get("content-length"))
        if length is not None and length > limit:
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
        body = await self._read_body(visit, receive) if self._reads_body(visit) else b""
        response = await self.complete(self._dispatch(endpoints, visit, body))
        headers, content = self._reply(engine, visit, response)
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    def _lifespan_send(self, send: Send) -> Send:
        async def lifespan_send(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                # The batch of hits the loop is writing first (see Recorder.on_loop).
                await self.recorder.settle()
                await to_thread.run_sync(self.runtime.close)
                await self.store.aclose()
            await send(message)

        return lifespan_send
