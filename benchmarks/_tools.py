"""What a benchmark needs that pip does not bring: checked before anything starts, so a
missing tool is a sentence saying what to install, not a traceback."""

from __future__ import annotations

import importlib.util
import shutil
import sys

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
