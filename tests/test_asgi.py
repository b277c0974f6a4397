"""ASGI-only behaviour, driven with hand-made scopes: pass-through, streaming, body reading."""

from __future__ import annotations

from typing import Any

import pytest

from consent_mw import ConsentMiddleware, MemoryStore
from support.harness import SECRET, ASGICall, http_scope, run_asgi


class ClosingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.closed = 0

    async def aclose(self) -> None:
        self.closed += 1


def middleware(app: Any, **options: Any) -> ConsentMiddleware:
    options.setdefault("store", MemoryStore())
    return ConsentMiddleware(app, policy="gdpr", secret_key=SECRET, **options)


def test_websocket_passes_through_untouched() -> None:
    seen: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope)
        message = await receive()
        await send({"type": "websocket.accept", "headers": [(b"set-cookie", b"_ga=1")]})
        await send({"type": "websocket.send", "text": message["type"]})
        await send({"type": "websocket.close", "code": 1000})

    scope = {
        "type": "websocket",
        "path": "/_consent",
        "headers": [(b"cookie", b"_ga=1; _fbp=2")],
        "query_string": b"gclid=1",
    }
    call = run_asgi(middleware(app), scope, [{"type": "websocket.connect"}])
    assert seen == [scope]
    assert seen[0] is scope
    assert "consent" not in scope
    assert call.sent == [
        {"type": "websocket.accept", "headers": [(b"set-cookie", b"_ga=1")]},
        {"type": "websocket.send", "text": "websocket.connect"},
        {"type": "websocket.close", "code": 1000},
    ]


def test_lifespan_passes_through_and_shutdown_closes_the_store() -> None:
    store = ClosingStore()
    received: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "lifespan"
        while True:
            message = await receive()
            received.append(message["type"])
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
                assert store.closed == 0
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    call = run_asgi(
        middleware(app, store=store),
        {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
        [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}],
    )
    assert received == ["lifespan.startup", "lifespan.shutdown"]
    assert [m["type"] for m in call.sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert store.closed == 1


def test_streaming_stays_streaming() -> None:
    # Not HTML: HTML bodies go through the rewriter, which has tests of its own.
    chunks = [b"one\n", b"two\n", b"three\n"]
    forwarded_before_next: list[int] = []
    call = ASGICall()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope["consent"].allows("analytics")
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/plain"),
                    (b"set-cookie", b"_ga=GA1; Path=/"),
                    (b"set-cookie", b"session=1; Path=/"),
                ],
            }
        )
        for index, chunk in enumerate(chunks):
            await send(
                {"type": "http.response.body", "body": chunk, "more_body": index < len(chunks) - 1}
            )
            # The middleware passed the chunk on before the app produced the next one.
            forwarded_before_next.append(len(call.sent))

    run_asgi(middleware(app), http_scope("/"), call=call)
    start, *bodies = call.sent
    assert start["type"] == "http.response.start"
    assert (b"set-cookie", b"session=1; Path=/") in start["headers"]
    assert not any(v.startswith(b"_ga=") for n, v in start["headers"] if n == b"set-cookie")
    assert (b"vary", b"Cookie, Sec-GPC") in start["headers"]
    assert [b["body"] for b in bodies] == chunks
    assert [b["more_body"] for b in bodies] == [True, True, False]
    assert forwarded_before_next == [2, 3, 4]


def test_scope_carries_the_decision() -> None:
    seen: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.update(scope)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    original = http_scope("/", headers=[("cookie", "_ga=1; a=2")], query_string="gclid=x&b=1")
    run_asgi(middleware(app), original)
    assert seen["consent"] is seen["state"]["consent"]
    assert seen["consent"].allows("analytics") is False
    assert dict(seen["headers"])[b"cookie"] == b"a=2"
    assert seen["query_string"] == b"b=1"
    # The server's scope is not rewritten in place.
    assert dict(original["headers"])[b"cookie"] == b"_ga=1; a=2"
    assert original["query_string"] == b"gclid=x&b=1"


def test_several_cookie_headers_are_joined() -> None:
    seen: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.update(scope)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    scope = http_scope("/", headers=[("cookie", "a=1"), ("cookie", "_ga=2"), ("cookie", "b=3")])
    call = run_asgi(middleware(app), scope)
    assert [v for n, v in seen["headers"] if n == b"cookie"] == [b"a=1; b=3"]
    headers = call.sent[0]["headers"]
    assert (b"set-cookie", b"_ga=; Max-Age=0; Path=/") in headers


def _not_called(*args: Any) -> Any:
    raise AssertionError("the app must not be called for a consent endpoint")


def _post(body_messages: list[dict[str, Any]], headers: list[tuple[str, str]]) -> Any:
    store = MemoryStore()
    scope = http_scope(
        "/_consent",
        method="POST",
        headers=[("content-type", "application/json"), ("origin", "http://testserver"), *headers],
    )
    call = run_asgi(middleware(_not_called, store=store), scope, body_messages)
    start, body = call.sent
    return start["status"], body["body"], store


@pytest.mark.parametrize(
    ("messages", "headers", "status"),
    [
        # chunked, no Content-Length, too big by actual size
        ([{"type": "http.request", "body": b" " * 5000, "more_body": True}] * 2, [], 413),
        # a Content-Length that lies
        (
            [
                {"type": "http.request", "body": b'{"action": "accept_all"}', "more_body": True},
                {"type": "http.request", "body": b" " * 9000, "more_body": False},
            ],
            [("content-length", "24")],
            413,
        ),
        # declared too big: refused before reading
        ([], [("content-length", "9000")], 413),
        # chunked and within the limit
        (
            [
                {"type": "http.request", "body": b'{"action": ', "more_body": True},
                {"type": "http.request", "body": b'"accept_all"}', "more_body": False},
            ],
            [],
            200,
        ),
        # the client went away mid-body: no consent saved, no crash
        ([{"type": "http.request", "body": b'{"action": ', "more_body": True}], [], 400),
    ],
)
def test_body_reading(
    messages: list[dict[str, Any]], headers: list[tuple[str, str]], status: int
) -> None:
    got, body, store = _post(messages, headers)
    assert got == status, body
    assert len(store.all_records()) == (1 if status == 200 else 0)


def test_head_response_has_length_but_no_body() -> None:
    get = run_asgi(middleware(_not_called), http_scope("/_consent"))
    head = run_asgi(middleware(_not_called), http_scope("/_consent", method="HEAD"))
    get_length = dict(get.sent[0]["headers"])[b"content-length"]
    assert dict(head.sent[0]["headers"])[b"content-length"] == get_length
    assert int(get_length) == len(get.sent[1]["body"]) > 0
    assert head.sent[1]["body"] == b""
