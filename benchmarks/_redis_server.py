"""A private ``redis-server`` for the benchmarks that need one (``bench_redis.py``,
``bench_query.py``): started from the binary on PATH on a free loopback port with its
files in a given directory, stopped by ``stop()`` (idempotent) and at exit."""

from __future__ import annotations

import atexit
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import redis

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, alive: Callable[[], bool], what: str, seconds: float = 20.0) -> None:
    """Until something accepts on ``port``; ``alive()`` false or the deadline: exit."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError as exc:
            if not alive() or time.monotonic() > deadline:
                raise SystemExit(f"{what} did not start on port {port}") from exc
            time.sleep(0.05)


class Server:
    """``redis-server`` with AOF at ``fsync`` (``always``, ``everysec``, ``no``), or
    without any persistence when ``fsync`` is None; never snapshots."""

    def __init__(self, directory: Path, fsync: str | None = None) -> None:
        self.port = free_port()
        persistence = ("--appendonly", "no") if fsync is None else (
            "--appendonly", "yes", "--appendfsync", fsync
        )  # fmt: skip
        self.process = subprocess.Popen(
            [
                "redis-server",
                *("--bind", HOST, "--port", str(self.port), "--dir", str(directory)),
                *("--save", "", *persistence),
                *("--daemonize", "no", "--logfile", str(directory / "redis.log")),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        atexit.register(self.stop)
        try:
            wait_for_port(self.port, lambda: self.process.poll() is None, "redis-server")
        except SystemExit:
            self.stop()
            raise SystemExit(f"redis-server did not start; see {directory}/redis.log") from None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host=HOST, port=self.port, socket_timeout=60)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
