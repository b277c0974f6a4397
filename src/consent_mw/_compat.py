"""Old module paths, from before the package was grouped into rooms (and the few moved
since): importing one still works for this release, with a :class:`DeprecationWarning`
naming the new path.

Only the modules' public names come along (a copy taken at import); patch the new
module, not the old path, in tests.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from collections.abc import Sequence

__all__ = ["MOVED", "install"]

MOVED: dict[str, str] = {
    f"consent_mw.{old}": f"consent_mw.{new}"
    for old, new in {
        "audit": "core.audit",
        "config": "core.config",
        "consent": "core.consent",
        "cookies": "core.cookies",
        "device": "core.device",
        "endpoints": "web.endpoints",
        "engine": "core.engine",
        "facts": "core.facts",
        "htmlbody": "html.body",
        "inject": "html.inject",
        "keys": "core.keys",
        "pages": "web.pages",
        "policy.texts": "i18n.banner",
        "policy_diff": "policy.diff",
        "recorder": "core.recorder",
        "regimes": "policy.regimes",
        "rewrite": "html.rewrite",
        "runtime": "adapter",
        "schedule": "policy.schedule",
        "texts": "i18n.banner",
        "trackers": "policy.trackers",
        "validators": "core.validators",
    }.items()
}


class _OldPath(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        new = MOVED[spec.name]
        warnings.warn(
            f"{spec.name} moved to {new}: import from there (the old path goes in the next"
            " release).",
            DeprecationWarning,
            stacklevel=2,
        )
        module = types.ModuleType(spec.name, f"Moved to {new}.")
        real = importlib.import_module(new)
        names = getattr(real, "__all__", None) or [n for n in vars(real) if not n.startswith("_")]
        module.__dict__.update({name: getattr(real, name) for name in names})
        module.__all__ = list(names)  # type: ignore[attr-defined]
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


def install() -> None:
    """Let the old paths resolve (after every real finder, so they never shadow one)."""
    if not any(isinstance(finder, _OldPath) for finder in sys.meta_path):
        sys.meta_path.append(_OldPath())
