"""Real Redis servers for the tests, started from the ``redis-server`` binary.

Everything listens on 127.0.0.1 on free ports, keeps its files in a temporary
directory and is stopped by whoever started it (a context manager, or a
session fixture at the end of the run; an ``atexit`` hook as the last resort).

- :class:`RedisServer`: one server with ``--appendonly yes --appendfsync always
  --save ""``; :meth:`~RedisServer.kill` (SIGKILL) and :meth:`~RedisServer.start`
  again on the same port and directory for the fault test.
- :func:`redis_cluster`: three masters, ``redis-cli --cluster create …
  --cluster-replicas 0``, ready once every node reports ``cluster_state:ok``.
- Fixtures ``redis_standalone`` and ``redis_cluster_nodes`` (session scope: the
  servers start once per run however many modules use them). A test module imports
  ``redis_standalone_fixture`` / ``redis_cluster_nodes_fixture`` to have them.

Without the binaries the fixtures skip, or fail when ``CI`` is set (CI must not
quietly skip the Redis tests).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

__all__ = [
    "RedisServer",
    "free_port",
    "redis_cluster",
    "redis_cluster_nodes_fixture",
    "redis_standalone_fixture",
    "require_redis_binaries",
]

HOST = "127.0.0.1"
START_TIMEOUT = 15.0
_live: set[RedisServer] = set()
_live_lock = threading.Lock()


def require_redis_binaries() -> None:
    """Skip the test (fail it under CI) when ``redis-server``/``redis-cli`` are missing."""
    missing = [name for name in ("redis-server", "redis-cli") if shutil.which(name) is None]
    if missing:
        message = f"{' and '.join(missing)} not found on PATH (apt-get install redis-server)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must run the Redis tests.", pytrace=False)
        pytest.skip(message)


def free_port(*, bus_offset: int | None = None) -> int:
    """A loopback port nobody listens on now (and ``port + bus_offset`` neither, for the
    cluster bus)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((HOST, 0))
            port = int(probe.getsockname()[1])
        if bus_offset is None:
            return port
        if port + bus_offset > 65535:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as bus:
            try:
                bus.bind((HOST, port + bus_offset))
            except OSError:
                continue
        return port
    raise RuntimeError("no free loopback port found")


class RedisServer:
    """One ``redis-server`` process on ``127.0.0.1:port`` with its files in ``directory``."""

    def __init__(self, directory: Path, *, port: int | None = None, cluster: bool = False):
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.cluster = cluster
        # A cluster node also listens on port + 10000 (the cluster bus).
        self.port = port if port is not None else free_port(bus_offset=10000 if cluster else None)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def command(self) -> list[str]:
        args = [
            "redis-server",
            "--bind", HOST,
            "--port", str(self.port),
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        if self.cluster:
            args += [
                "--cluster-enabled", "yes",
                "--cluster-config-file", str(self.directory / "nodes.conf"),
                "--cluster-node-timeout", "3000",
                "--cluster-port", str(self.port + 10000),
            ]  # fmt: skip
        return args

    def start(self, *, timeout: float = START_TIMEOUT) -> RedisServer:
        """Start the server (again: same port, same directory) and wait until it answers."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError(f"redis-server on port {self.port} is already running")
        self.process = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C in the terminal is for pytest, not for it
        )
        with _live_lock:
            _live.add(self)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        last: BaseException | None = None
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited; see {self.directory / 'redis.log'}")
            try:
                with self.client() as client:
                    if client.ping():
                        return
            except (redis.ConnectionError, redis.TimeoutError) as exc:  # also still loading
                last = exc
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server on port {self.port} not ready in {timeout}s: {last}")

    def client(self, **options: Any) -> redis.Redis:
        options.setdefault("socket_timeout", 2.0)
        options.setdefault("socket_connect_timeout", 1.0)
        return redis.Redis(host=HOST, port=self.port, **options)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final fsync (what a crash or an OOM kill does)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s; idempotent."""
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        with _live_lock:
            _live.discard(self)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@atexit.register
def _stop_leftovers() -> None:
    with _live_lock:
        servers = list(_live)
    for server in servers:
        server.stop()


def _cluster_ok(server: RedisServer) -> bool:
    try:
        with server.client() as client:
            info = client.execute_command("CLUSTER", "INFO")
    except redis.RedisError:
        return False
    text = info.decode() if isinstance(info, bytes) else str(info)
    return "cluster_state:ok" in text


@contextlib.contextmanager
def redis_cluster(directory: Path, *, masters: int = 3) -> Iterator[list[RedisServer]]:
    """A Redis Cluster of ``masters`` masters and no replicas; yields its servers."""
    servers = [RedisServer(directory / f"node{i}", cluster=True) for i in range(masters)]
    try:
        for server in servers:
            server.start()
        create = subprocess.run(
            ["redis-cli", "--cluster", "create", *(f"{HOST}:{s.port}" for s in servers)]
            + ["--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        if create.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {create.stdout!r}")
        deadline = time.monotonic() + 30
        while not all(_cluster_ok(s) for s in servers):
            if time.monotonic() > deadline:
                raise RuntimeError("the Redis Cluster did not reach cluster_state:ok in 30 s")
            time.sleep(0.05)
        yield servers
    finally:
        for server in servers:
            server.stop()


def cluster_url(servers: list[RedisServer]) -> str:
    return "redis+cluster://" + ",".join(f"{HOST}:{s.port}" for s in servers)


# -- session fixtures ----------------------------------------------------------------------
# Test modules import these; a shared registry keeps one server (one cluster) per run even
# when several modules define the fixture, and the last user stops it.

_shared: dict[str, tuple[Any, contextlib.ExitStack, int]] = {}


@contextlib.contextmanager
def _shared_resource(name: str, factory: Any) -> Iterator[Any]:
    if name in _shared:
        value, stack, users = _shared[name]
        _shared[name] = (value, stack, users + 1)
    else:
        stack = contextlib.ExitStack()
        value = stack.enter_context(factory())
        _shared[name] = (value, stack, 1)
    try:
        yield value
    finally:
        value, stack, users = _shared[name]
        if users == 1:
            del _shared[name]
            stack.close()
        else:
            _shared[name] = (value, stack, users - 1)


@pytest.fixture(scope="session", name="redis_standalone")
def redis_standalone_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One standalone server for the whole run (tests isolate themselves by key prefix)."""
    require_redis_binaries()
    with _shared_resource(
        "standalone", lambda: RedisServer(tmp_path_factory.mktemp("redis-standalone"))
    ) as server:
        yield server


@pytest.fixture(scope="session", name="redis_cluster_nodes")
def redis_cluster_nodes_fixture(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[list[RedisServer]]:
    """One three-master Redis Cluster for the whole run."""
    require_redis_binaries()
    with _shared_resource(
        "cluster", lambda: redis_cluster(tmp_path_factory.mktemp("redis-cluster"))
    ) as servers:
        yield servers
