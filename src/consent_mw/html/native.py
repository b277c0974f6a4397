"""The C speedups (``_speedups.c``, built by setup.py when a C compiler is there),
or None: not built, or ``CONSENT_MW_PURE_PYTHON=1`` in the environment. Every
user has a pure-Python path that gives the same results."""

from __future__ import annotations

import os
from types import ModuleType

speedups: ModuleType | None = None
if not os.environ.get("CONSENT_MW_PURE_PYTHON"):
    try:
        from . import _speedups
    except ImportError:
        pass
    else:
        speedups = _speedups
