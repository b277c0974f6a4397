"""A response without a body stays without one on a real server's wire: uvicorn (h11)
keeps the connection usable after a 204, wsgiref sends nothing after its headers."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from consent_mw import ConsentMiddleware, MemoryStore, WSGIConsentMiddleware
from support.app_servers import uvicorn_server, wsgiref_server
from support.harness import SECRET

PAGE = b"<!doctype html><html><head><title>t</title></head><body>hi</body></html>"
HTML = "text/html; charset=utf-8"


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    status = 204 if scope["path"] == "/empty" else 200
    body = b"" if status == 204 else PAGE
    headers = [(b"content-type", HTML.encode())]
    if status == 200:
        headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/empty":
        start_response("204 No Content", [("Content-Type", HTML)])
        return []
    start_response("200 OK", [("Content-Type", HTML), ("Content-Length", str(len(PAGE)))])
    return [PAGE]


@pytest.mark.parametrize("report", [False, True])
def test_uvicorn_keeps_the_connection_after_an_html_204(report: bool) -> None:
    middleware = ConsentMiddleware(
        asgi_app, policy="gdpr", secret_key=SECRET, store=MemoryStore(), report_blocked=report
    )
    with uvicorn_server(middleware) as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            for path, status in (("/empty", 204), ("/", 200), ("/empty", 204), ("/", 200)):
                connection.request("GET", path)
                response = connection.getresponse()
                body = response.read()
                assert response.status == status
                if status == 204:
                    assert body == b""
                    assert response.getheader("content-length") in (None, "0")
                else:
                    assert b"/_consent/banner." in body
        finally:
            connection.close()


@pytest.mark.parametrize("report", [False, True])
def test_wsgiref_sends_no_bytes_after_an_html_204(report: bool) -> None:
    middleware = WSGIConsentMiddleware(
        wsgi_app, policy="gdpr", secret_key=SECRET, store=MemoryStore(), report_blocked=report
    )
    with wsgiref_server(middleware) as port, socket.create_connection(("127.0.0.1", port)) as s:
        s.settimeout(10)
        s.sendall(b"GET /empty HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 204")
    assert rest == b""
