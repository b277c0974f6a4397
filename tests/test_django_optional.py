"""Django is an extra: nothing but consent_mw.django imports it (nor Jinja2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import consent_mw

PACKAGE = Path(consent_mw.__file__).resolve().parent


def test_no_module_outside_consent_mw_django_imports_django() -> None:
    names = sorted(
        ".".join(("consent_mw", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(
            ".__init__"
        )
        for path in PACKAGE.rglob("*.py")
        if "django" not in path.relative_to(PACKAGE).parts
    )
    assert "consent_mw.core.engine" in names and "consent_mw.wsgi" in names
    script = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'django', 'jinja2'}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"
