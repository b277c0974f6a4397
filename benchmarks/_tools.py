"""What a benchmark needs that pip does not bring: checked before anything starts, so a
missing tool is a sentence saying what to install, not a traceback."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

#: tool -> how to get it (Debian/Ubuntu; ./scripts/bench installs them too)
INSTALL = {
    "wrk": "sudo apt-get install wrk",
    "redis-server": "sudo apt-get install redis-server",
}


def require(*tools: str, modules: tuple[str, ...] = ()) -> None:
    """Exit with status 2 and one line per missing program or Python module."""
    lines = [
        f"{tool} is not on PATH: {INSTALL.get(tool, f'install {tool}')}"
        for tool in tools
        if shutil.which(tool) is None
    ]
    lines += [
        f"the Python module {name!r} is missing: .venv/bin/pip install -e '.[dev]'"
        for name in modules
        if importlib.util.find_spec(name) is None
    ]
    if lines:
        print("\n".join([*lines, "(./scripts/bench installs all of them)"]), file=sys.stderr)
        raise SystemExit(2)


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process (all its threads) so far, from
    ``/proc/<pid>/stat`` (10 ms ticks); 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICK
