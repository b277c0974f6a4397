"""``consent_mw``'s public names: sorted, importable, documented."""

from __future__ import annotations

import importlib
import inspect
import sys

import pytest

import consent_mw
from consent_mw._compat import MOVED

CONSTANT_HOMES = ("consent_mw.policy.trackers", "consent_mw.policy", "consent_mw.policy.regimes")


def test_all_is_alphabetised() -> None:
    assert consent_mw.__all__ == sorted(consent_mw.__all__)
    assert len(set(consent_mw.__all__)) == len(consent_mw.__all__)


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from consent_mw import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == consent_mw.__all__


def _own_doc(name: str, value: object) -> str | None:
    if inspect.isclass(value) or inspect.isfunction(value):
        doc = value.__dict__.get("__doc__") if inspect.isclass(value) else value.__doc__
        # A dataclass without a docstring gets "Name(field: type, ...)" generated.
        if doc and doc.startswith(f"{value.__name__}("):
            return None
        return doc
    # A constant cannot carry a docstring: the module that defines it documents it.
    for module_name in CONSTANT_HOMES:
        module = importlib.import_module(module_name)
        if name in getattr(module, "__all__", ()) and getattr(module, name) is value:
            return module.__doc__
    return None


@pytest.mark.parametrize("name", consent_mw.__all__)
def test_name_is_importable_and_documented(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from consent_mw import {name}", namespace)
    value = namespace[name]
    assert value is getattr(consent_mw, name)
    doc = _own_doc(name, value)
    assert doc and doc.strip(), f"consent_mw.{name} has no docstring of its own"


def test_version() -> None:
    parts = consent_mw.__version__.split(".")
    assert len(parts) == 3 and all(p.isdigit() for p in parts)


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_an_old_module_path_still_imports_with_a_warning(old: str, new: str) -> None:
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        module = importlib.import_module(old)
    real = importlib.import_module(new)
    names = getattr(real, "__all__", None) or [n for n in vars(real) if not n.startswith("_")]
    assert names
    for name in names:
        assert getattr(module, name) is getattr(real, name), name
    sys.modules.pop(old, None)
