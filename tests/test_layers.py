"""The package's import structure: rooms in layers (the import-linter contracts in
pyproject.toml) and no import cycle anywhere, imports inside functions included."""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest
from importlinter import configuration
from importlinter.application.use_cases import lint_imports

PACKAGE = "consent_mw"


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, cache_dir=None)


def test_no_module_imports_one_that_imports_it_back(graph: grimp.ImportGraph) -> None:
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                cycles.append(" -> ".join((importer, *back)))
    assert cycles == []


def test_the_rooms_keep_their_layers() -> None:
    configuration.configure()
    config = Path(__file__).resolve().parents[1] / "pyproject.toml"
    assert lint_imports(config_filename=str(config), cache_dir=None, no_logo=True) is True
