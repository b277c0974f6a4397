"""Helpers shared by the end-to-end scripts: uvicorn subprocesses on loopback, machine facts."""

from __future__ import annotations

import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = ROOT / "benchmarks" / "results"
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class Uvicorn:
    """``uvicorn apps:<factory> --factory --workers 1 --log-level warning`` on a free port.

    stderr goes to a file so tracebacks ("Exception in ASGI application") can be counted.
    """

    def __init__(self, factory: str, env: dict[str, str] | None = None, log: Path | None = None):
        self.factory = factory
        self.port = free_port()
        self.env = {**os.environ, **(env or {})}
        self.log = log or Path(tempfile.mkdtemp(prefix="e2e-")) / f"uvicorn-{factory}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 20.0) -> Uvicorn:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                f"apps:{self.factory}",
                "--factory",
                "--app-dir",
                str(HERE),
                "--host",
                HOST,
                "--port",
                str(self.port),
                "--workers",
                "1",
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=ROOT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn {self.factory} exited; see {self.log}")
            try:
                with urllib.request.urlopen(self.base + "/plain", timeout=1) as response:
                    response.read()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"uvicorn {self.factory} did not answer in {timeout}s")

    def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if getattr(self, "_log_file", None):
            self._log_file.close()

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def tracebacks(self) -> int:
        return self.log_text().count("Traceback (most recent call last)")

    def __enter__(self) -> Uvicorn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def machine() -> list[str]:
    import starlette
    import uvicorn

    try:
        import httptools  # noqa: F401

        http = "httptools"
    except ImportError:
        http = "h11"
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()
    return [
        f"- `nproc`: {os.cpu_count()}",
        f"- `uname -a`: `{uname}`",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"uvicorn {uvicorn.__version__} ({http}, {loop}), starlette {starlette.__version__}",
        f"- load average when the run started: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
        "(other work shares this machine)",
    ]
