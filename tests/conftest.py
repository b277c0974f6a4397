"""Shared fixtures: policies, stores, keys, and one client harness over both adapters.

The ``client`` fixture is parametrised over ``"asgi"`` and ``"wsgi"``. It is a
factory: ``client(policy=..., **options)`` builds a harness around a fresh
middleware, and ``client.request(...)`` uses a default one (GDPR preset,
the ``store`` fixture). Both harnesses return the same :class:`Result`, so
behaviour tables run identically through both adapters. What the fixtures are made
of lives in the :mod:`support` package (``support.harness``). ``html_steps`` runs a
test with each of the HTML rewriter's pass-through steps, C and pure Python.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from consent_mw import MemoryStore, Policy
from consent_mw.core.cookies import ConsentCookieCodec
from consent_mw.html import native
from support.harness import SECRET, ClientFactory, custom_policy_dict
from support.html_apps import HTML_STEPS


@pytest.fixture
def make_policy() -> Callable[..., Policy]:
    """``make_policy("gdpr")``, ``make_policy("ccpa")``, ``make_policy("custom", **overrides)``."""

    def make(kind: str = "gdpr", **overrides: Any) -> Policy:
        if kind == "custom":
            return Policy.from_dict({**custom_policy_dict(), **overrides})
        return Policy.preset(kind, **overrides)

    return make


@pytest.fixture
def policy(make_policy: Callable[..., Policy]) -> Policy:
    return make_policy("gdpr")


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def secret_key() -> str:
    return SECRET


@pytest.fixture
def codec(secret_key: str) -> ConsentCookieCodec:
    return ConsentCookieCodec(secret_key)


@pytest.fixture(params=["asgi", "wsgi"])
def client(request: pytest.FixtureRequest, store: MemoryStore, secret_key: str) -> ClientFactory:
    return ClientFactory(
        request.param, {"policy": "gdpr", "secret_key": secret_key, "store": store}
    )


@pytest.fixture(scope="module", params=sorted(HTML_STEPS))
def html_steps(request: pytest.FixtureRequest) -> Iterator[str]:
    """The HTML rewriter's pass-through steps (``native.skim``): the C extension's,
    then its pure-Python twin's; the test runs once with each. A module opts in with
    ``pytestmark = pytest.mark.usefixtures("html_steps")``. Without the extension
    built the C leg is skipped, and fails under CI."""
    try:
        module = importlib.import_module(HTML_STEPS[request.param])
    except ImportError:  # the C extension, not compiled here
        if os.environ.get("CI"):
            pytest.fail(
                "consent_mw.html._speedups is not built"
                " (`pip install -e .` compiles it with a C compiler)",
                pytrace=False,
            )
        pytest.skip("consent_mw.html._speedups is not built here")
    saved = native.skim
    native.skim = module.skim
    try:
        yield request.param
    finally:
        native.skim = saved
