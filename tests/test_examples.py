"""Each runnable example under examples/ works as the README says."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import webtest
from starlette.testclient import TestClient

from consent_mw import ConfigError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


ALL = ["starlette_app", "fastapi_app", "flask_app"]
DJANGO_SITE = EXAMPLES / "django_site"


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


def test_wsgi_example_strips_tracker_cookies_until_consent(monkeypatch):
    client = webtest.TestApp(load("flask_app", monkeypatch).app.wsgi_app, lint=True)
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


def manage(*args: str, secret: str | None = "example-tests-0123456789abcdefghijklmnopqrstuvwxyz"):
    """``manage.py`` of the Django example in a process of its own (Django's settings are
    once per process, and this one's are the tests' own Django site's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CONSENT_MW"))}
    if secret is not None:
        env["DJANGO_SECRET_KEY"] = secret
    return subprocess.run(
        [sys.executable, "-W", "error", "manage.py", *args],
        cwd=DJANGO_SITE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_django_example_passes_its_own_tests_under_djangos_runner():
    done = manage("test", "--noinput", "-v", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Ran 5 tests" in done.stderr and "OK" in done.stderr
    assert "System check identified no issues" in done.stdout + done.stderr


@pytest.mark.parametrize("secret", [None, "", "too-short", "change-me-to-a-long-random-secret"])
def test_django_example_refuses_to_start_without_a_real_secret(secret):
    done = manage("check", secret=secret)
    assert done.returncode != 0
    # Empty, Django refuses it itself; otherwise the consent check names it.
    expected = "The SECRET_KEY setting must not be empty" if not secret else "consent_mw.E003"
    assert expected in done.stderr and "SECRET_KEY" in done.stderr
