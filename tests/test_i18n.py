"""The interface strings: every table speaks every locale, with the same entries."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest

import consent_mw.i18n
from consent_mw.i18n import FALLBACK, in_locale

MODULES = [
    importlib.import_module(f"consent_mw.i18n.{info.name}")
    for info in pkgutil.iter_modules(consent_mw.i18n.__path__)
]
# Every {locale: …} table of the package (LANGUAGE_NAMES is one name per language).
TABLES = [
    (f"{module.__name__}.{name}", getattr(module, name))
    for module in MODULES
    for name in module.__all__
    if isinstance(getattr(module, name), dict) and name != "LANGUAGE_NAMES"
]


def shape(entry: Any) -> Any:
    """What a translation must keep: the keys of a table (nested too), or a count."""
    if isinstance(entry, dict):
        return {key: shape(value) for key, value in entry.items()}
    if isinstance(entry, tuple):
        return len(entry)
    assert isinstance(entry, str) and entry.strip()
    return str


def test_every_module_is_listed_in_the_package_docstring() -> None:
    assert consent_mw.i18n.__doc__ is not None
    for module in MODULES:
        assert f"{module.__name__.rpartition('.')[2]}.py" in consent_mw.i18n.__doc__


@pytest.mark.parametrize(("name", "table"), TABLES, ids=[name for name, _ in TABLES])
def test_every_locale_has_what_english_has(name: str, table: dict[str, Any]) -> None:
    assert set(table) >= {"en", "ko"}
    for locale, entry in table.items():
        assert shape(entry) == shape(table[FALLBACK]), (name, locale)


def test_in_locale_falls_back_to_english() -> None:
    table = {"en": "hello", "ko": "안녕하세요"}
    assert in_locale(table, "ko") == "안녕하세요"
    assert in_locale(table, "ja") == "hello"
