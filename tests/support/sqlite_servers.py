"""Real servers in front of a SQLite ledger, for the fault tests and the soak script.

- ``uvicorn sqlite_servers:asgi_app --factory``: ``ConsentMiddleware`` around a one-route
  Starlette site (``GET /`` answers "ok"), ledger ``SQLiteStore($CONSENT_TEST_LEDGER)``.
  ``CONSENT_TEST_THREAD_IDLE`` (seconds) shortens how long anyio keeps an idle worker
  thread (10 s), so the thread churn an idle server sees over minutes takes a second.
- ``python sqlite_servers.py wsgi PORT``: ``WSGIConsentMiddleware`` around the same site
  under wsgiref with a new thread per request (``socketserver.ThreadingMixIn``).

:class:`LedgerServer` runs either as a child process on a free loopback port, with an
optional descriptor limit (``RLIMIT_NOFILE``) and SIGXFSZ ignored (so a file size limit
set later with :meth:`LedgerServer.limit_file_size` fails writes instead of killing
it), posts consents to it, and is stopped by its context manager whatever happens.
:func:`unwritable` makes a file unwritable in a way that binds root too.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import json
import os
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any, Literal
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import consent_mw
from consent_mw import ConsentMiddleware, SQLiteStore, WSGIConsentMiddleware
from consent_mw.demo import demo_policy

HOST = "127.0.0.1"
SECRET = "sqlite-fault-secret-0123456789abcdef"
LEDGER_ENV = "CONSENT_TEST_LEDGER"
IDLE_ENV = "CONSENT_TEST_THREAD_IDLE"
HERE = Path(__file__).resolve().parent
SRC = Path(consent_mw.__file__).resolve().parents[1]  # the sources the tests import
CONSENT_BODY = json.dumps({"action": "accept_all"}).encode()


# -- the apps (in the server process) ------------------------------------------------------


def _site(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [b"ok"]


def asgi_app() -> ConsentMiddleware:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    idle = os.environ.get(IDLE_ENV)
    if idle:
        from anyio._backends._asyncio import WorkerThread

        WorkerThread.MAX_IDLE_TIME = float(idle)

    async def home(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    site = Starlette(routes=[Route("/", home)])
    store = SQLiteStore(os.environ[LEDGER_ENV])
    return ConsentMiddleware(site, policy=demo_policy(), secret_key=SECRET, store=store)


class _ThreadPerRequest(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's 5 drops a burst's connects (1 s SYN retry)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_wsgi(port: int) -> None:
    store = SQLiteStore(os.environ[LEDGER_ENV])
    app = WSGIConsentMiddleware(_site, policy=demo_policy(), secret_key=SECRET, store=store)
    with make_server(
        HOST, port, app, server_class=_ThreadPerRequest, handler_class=_QuietHandler
    ) as server:
        server.serve_forever()


# -- the harness (in the test process) -------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class LedgerServer:
    """One server process on ``ledger``; ``with LedgerServer(...) as server:`` starts and
    stops it. ``kind``: ``"asgi"`` (uvicorn) or ``"wsgi"`` (thread per request)."""

    def __init__(
        self,
        ledger: Path,
        log: Path,
        *,
        kind: Literal["asgi", "wsgi"] = "asgi",
        nofile: int | None = None,  # RLIMIT_NOFILE of the server process
        thread_idle: float | None = None,  # seconds anyio keeps an idle worker thread
        src: Path = SRC,  # the consent_mw sources the server imports
    ) -> None:
        self.ledger, self.log, self.kind = ledger, log, kind
        self.nofile = nofile
        self.port = free_port()
        self.env = {**os.environ, LEDGER_ENV: str(ledger), "PYTHONUNBUFFERED": "1"}
        self.env["PYTHONPATH"] = os.pathsep.join(
            [str(src), str(HERE), os.environ.get("PYTHONPATH", "")]
        )
        if thread_idle is not None:
            self.env[IDLE_ENV] = str(thread_idle)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def _command(self) -> list[str]:
        if self.kind == "wsgi":
            return [sys.executable, str(HERE / "sqlite_servers.py"), "wsgi", str(self.port)]
        return [
            sys.executable, "-m", "uvicorn", "sqlite_servers:asgi_app", "--factory",
            "--app-dir", str(HERE), "--host", HOST, "--port", str(self.port),
            "--log-level", "warning", "--no-access-log", "--lifespan", "on",
        ]  # fmt: skip

    def _in_child(self) -> None:
        # Runs between fork and exec: only the limits and a signal disposition (kept by exec).
        if self.nofile is not None:
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, hard))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    def start(self, timeout: float = 30.0) -> LedgerServer:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                preexec_fn=self._in_child,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the {self.kind} server exited:\n{self.log_text()[-3000:]}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if self.get("/") == 200:
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the {self.kind} server did not answer in {timeout:g} s")

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def __enter__(self) -> LedgerServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    # -- requests ---------------------------------------------------------------------

    def get(self, path: str) -> int:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    def post_consent(self) -> tuple[str, str | None]:
        """One consent POST on a fresh connection: (status or error name, record id)."""
        connection = http.client.HTTPConnection(HOST, self.port, timeout=20)
        try:
            connection.request(
                "POST",
                "/_consent",
                body=CONSENT_BODY,
                headers={"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"},
            )
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            return type(exc).__name__, None
        finally:
            connection.close()
        if response.status == 503 and not response.getheader("retry-after"):
            return "503 without Retry-After", None
        record_id = json.loads(data)["record_id"] if response.status == 200 else None
        return str(response.status), record_id

    def burst(self, count: int) -> list[tuple[str, str | None]]:
        """``count`` consent POSTs at once, each on its own connection."""
        with ThreadPoolExecutor(count) as pool:
            return list(pool.map(lambda _: self.post_consent(), range(count)))

    # -- the process ------------------------------------------------------------------

    def descriptors(self) -> list[str]:
        """What each of the server's open descriptors points at."""
        found = []
        for fd in os.listdir(f"/proc/{self.pid}/fd"):
            with contextlib.suppress(OSError):  # closed meanwhile
                found.append(os.readlink(f"/proc/{self.pid}/fd/{fd}"))
        return found

    def ledger_descriptors(self) -> int:
        return sum(target.startswith(str(self.ledger)) for target in self.descriptors())

    def limit_file_size(self, size: int | None) -> None:
        """Set the server's ``RLIMIT_FSIZE`` (soft) to ``size`` bytes, or lift it."""
        hard = resource.prlimit(self.pid, resource.RLIMIT_FSIZE)[1]
        soft = resource.RLIM_INFINITY if size is None else size
        resource.prlimit(self.pid, resource.RLIMIT_FSIZE, (soft, hard))


def acknowledged(results: Iterable[tuple[str, str | None]]) -> set[str]:
    return {record_id for _, record_id in results if record_id is not None}


def stored_record_ids(ledger: Path) -> set[str]:
    """Every record id in the ledger file, read by a fresh connection (as after a restart)."""
    db = sqlite3.connect(ledger)
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'records'").fetchone():
            return set()  # a file created without the schema holds no record either
        return {record_id for (record_id,) in db.execute("SELECT record_id FROM records")}
    finally:
        db.close()


def _chattr(flag: str, path: Path) -> None:
    try:
        done = subprocess.run(["chattr", flag, str(path)], capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise RuntimeError(
            "chattr (e2fsprogs) is needed to make a file unwritable for root."
        ) from exc
    if done.returncode:
        raise RuntimeError(
            f"chattr {flag} {path} failed ({done.stderr.strip()}): as root the read-only"
            " tests need CAP_LINUX_IMMUTABLE and a filesystem with immutable files."
        )


@contextlib.contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """``path`` cannot be opened for writing until the block ends. As root (who ignores
    file modes) the file is made immutable (``chattr +i``, which binds root too);
    otherwise its mode becomes 0o444."""
    if os.geteuid() == 0:
        _chattr("+i", path)
        restore = functools.partial(_chattr, "-i", path)
    else:
        restore = functools.partial(path.chmod, path.stat().st_mode)
        path.chmod(0o444)
    try:
        with contextlib.suppress(PermissionError):
            path.open("r+b").close()
            raise RuntimeError(f"{path} is still writable; the read-only tests cannot run here.")
        yield
    finally:
        restore()


if __name__ == "__main__":
    if sys.argv[1:2] != ["wsgi"] or len(sys.argv) != 3:
        raise SystemExit("usage: python sqlite_servers.py wsgi PORT")
    serve_wsgi(int(sys.argv[2]))
