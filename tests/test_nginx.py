"""Behind a real nginx with its default buffers, a visitor with many tracker cookies still
gets the page: the expiry headers fit the 4 KiB nginx reads a response's headers into
(``proxy_buffer_size``; past it nginx answers 502 and the cookies are never expired).

nginx comes from Debian's ``nginx-light`` (``scripts/test`` installs it); without it the
test skips, or fails when ``CI`` is set.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from consent_mw import ConsentMiddleware, MemoryStore, WSGIConsentMiddleware
from support.app_servers import uvicorn_server, wsgiref_server
from support.harness import SECRET
from support.redis_servers import free_port
from test_expiry_served import TRACKERS, UK_SHOP

PAGE = b"<!doctype html><html><head><title>shop</title></head><body>shop</body></html>"

# Every buffer and timeout is nginx's default: the point is what a default proxy does.
CONFIG = """
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_set_header Host $host;
        }}
    }}
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        message = "nginx is not installed (apt-get install nginx-light)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must run the proxy test.", pytrace=False)
        pytest.skip(message)
    return found


@contextmanager
def nginx(directory: Path, upstream: int) -> Iterator[int]:
    port = free_port()
    config = directory / "nginx.conf"
    config.write_text(CONFIG.format(dir=directory, port=port, upstream=upstream))
    process = subprocess.Popen(
        [nginx_binary(), "-c", str(config), "-p", str(directory), "-e", str(directory / "e.log")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    stderr = process.stderr.read() if process.stderr else b""
                    raise RuntimeError(f"nginx did not start: {stderr!r}") from None
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        if process.stderr:
            process.stderr.close()


async def shop(scope: dict[str, Any], receive: Any, send: Any) -> None:
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"set-cookie", b"session=s1; Path=/; HttpOnly; SameSite=Lax"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": PAGE})


def wsgi_shop(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Set-Cookie", "session=s1; Path=/; HttpOnly; SameSite=Lax"),
        ],
    )
    return [PAGE]


SERVERS = {
    "asgi-uvicorn": lambda: uvicorn_server(
        ConsentMiddleware(shop, policy="gdpr", secret_key=SECRET, store=MemoryStore())
    ),
    "wsgi-wsgiref": lambda: wsgiref_server(
        WSGIConsentMiddleware(wsgi_shop, policy="gdpr", secret_key=SECRET, store=MemoryStore())
    ),
}
EVERY_DOMAIN = {None, UK_SHOP, "shop.example.co.uk", "example.co.uk"}


@pytest.mark.parametrize("server", SERVERS)
def test_twelve_tracker_cookies_on_a_co_uk_host_behind_nginx_get_the_page(
    tmp_path: Path, server: str
) -> None:
    jar = {name: f"GA1.2.{n}" for n, name in enumerate(TRACKERS)}
    with SERVERS[server]() as upstream, nginx(tmp_path, upstream) as port:
        pages = 0
        # A browser: each page's expiries delete what they name on every Domain.
        while jar and pages < 6:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                cookie = "; ".join(f"{name}={value}" for name, value in jar.items())
                connection.request("GET", "/", headers={"Host": UK_SHOP, "Cookie": cookie})
                response = connection.getresponse()
                body = response.read()
                set_cookies = response.headers.get_all("set-cookie") or []
            finally:
                connection.close()
            pages += 1
            log = (tmp_path / "error.log").read_text()
            assert response.status == 200, f"{response.status} {response.reason}: {log}"
            assert b"shop" in body
            assert not any("Domain=co.uk" in value for value in set_cookies)
            domains: dict[str, set[str | None]] = {}
            for value in set_cookies:
                if "Max-Age=0" in value:
                    name = value.split("=", 1)[0]
                    domains.setdefault(name, set()).add(value.partition("Domain=")[2] or None)
            assert domains, "no expiry header came through"
            for name, found in domains.items():
                if found == EVERY_DOMAIN:
                    jar.pop(name, None)
        # Spread over a few pages, every one of them expired.
        assert not jar and pages <= 3
