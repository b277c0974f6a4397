"""Each runnable example under examples/ works as the README says."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import webtest
from starlette.testclient import TestClient

from consent_mw import ConfigError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


ALL = ["starlette_app", "fastapi_app", "flask_app", "django_app"]


def load(
    name: str, monkeypatch: pytest.MonkeyPatch, secret: str | None = "example-tests-0123456789"
) -> ModuleType:
    monkeypatch.setenv("CONSENT_MW_STORE", "memory://")
    if secret is None:
        monkeypatch.delenv("CONSENT_MW_SECRET", raising=False)
    else:
        monkeypatch.setenv("CONSENT_MW_SECRET", secret)
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def set_cookie_names(values: list[str]) -> list[str]:
    return [v.split("=", 1)[0].strip() for v in values]


@pytest.mark.parametrize("name", ["starlette_app", "fastapi_app"])
def test_asgi_examples_strip_tracker_cookies_until_consent(name, monkeypatch):
    module = load(name, monkeypatch)
    with TestClient(module.app) as client:
        first = client.get("/")
        assert first.status_code == 200
        assert not {"_ga", "_fbp"} & set(set_cookie_names(first.headers.get_list("set-cookie")))
        assert client.post("/_consent", json={"action": "accept_all"}).status_code == 200
        second = client.get("/")
        assert {"_ga", "_fbp"} & set(set_cookie_names(second.headers.get_list("set-cookie")))


def wsgi_app(name: str, monkeypatch: pytest.MonkeyPatch):
    module = load(name, monkeypatch)
    return module.app.wsgi_app if name == "flask_app" else module.application


@pytest.mark.parametrize("name", ["flask_app", "django_app"])
def test_wsgi_examples_strip_tracker_cookies_until_consent(name, monkeypatch):
    client = webtest.TestApp(wsgi_app(name, monkeypatch), lint=True)
    first = client.get("/")
    assert "analytics allowed: False" in first.text
    assert "_ga" not in set_cookie_names(first.headers.getall("Set-Cookie"))
    client.post_json("/_consent", {"choices": {"analytics": True}})
    second = client.get("/")
    assert "analytics allowed: True" in second.text
    assert "_ga" in set_cookie_names(second.headers.getall("Set-Cookie"))


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize(
    "secret",
    [None, "", "   ", "too-short", "change-me-to-a-long-random-secret", "CHANGE_ME_please_0123"],
)
def test_examples_refuse_to_start_without_a_real_secret(name, secret, monkeypatch):
    # No published fallback: a deployment that forgets the variable must not sign with
    # a key anyone can read.
    with pytest.raises(ConfigError, match="CONSENT_MW_SECRET"):
        load(name, monkeypatch, secret)
