"""The rewriter's pass-through steps, :func:`skim`, chosen here once at import: the
C extension's (``_speedups.c``, built by setup.py where a C compiler is there) or
its pure-Python twin's (``_pure.py``) when the extension is not built or
``CONSENT_MW_PURE_PYTHON=1`` is in the environment. The two take the same
arguments and give the same results (the tests run the rewriter with each)."""

from __future__ import annotations

import os

__all__ = ["skim"]

if os.environ.get("CONSENT_MW_PURE_PYTHON"):
    from ._pure import skim
else:
    try:
        from ._speedups import skim
    except ImportError:
        from ._pure import skim
