"""Middleware options: validated at start-up, and country resolution."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from consent_mw import (
    Config,
    ConfigError,
    ConsentMiddleware,
    CountryHeader,
    MemoryStore,
    Policy,
    PolicyError,
    SQLiteStore,
    WSGIConsentMiddleware,
)
from consent_mw.core.facts import RequestFacts
from consent_mw.core.options import Options
from support.harness import SECRET, custom_policy_dict


def build(**options: Any) -> Config:
    options.setdefault("policy", "gdpr")
    options.setdefault("store", MemoryStore())
    return Config.build(secret_key=SECRET, **options)


@pytest.mark.parametrize(
    "options",
    [
        {"prefix": "consent"},
        {"prefix": "/consent/"},
        {"prefix": "/"},
        {"prefix": ""},
        {"cookie_name": ""},
        {"cookie_name": "consent mw"},
        {"cookie_name": "consent;mw"},
        {"cookie_name": "a=b"},
        {"country": "KOR"},
        {"country": "K1"},
        {"max_body_size": 255},
        {"allowed_origins": ["example.com"]},
        {"allowed_origins": ["https://example.com/"]},
        {"no_such_option": True},
        {"store": "mongodb://localhost"},
        {"store": object()},
        {"policy": 42},
        {"policy": []},
    ],
    ids=repr,
)
def test_bad_options_fail_at_start_up(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        build(**options)


@pytest.mark.parametrize("adapter", [ConsentMiddleware, WSGIConsentMiddleware])
def test_adapters_validate_too(adapter: Any) -> None:
    with pytest.raises(ConfigError):
        adapter(lambda *a: None, policy="gdpr", secret_key=SECRET, store=MemoryStore(), x=1)
    with pytest.raises(ConfigError):
        adapter(lambda *a: None, policy="gdpr", secret_key="short", store=MemoryStore())


def test_bad_policy_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError):
        build(policy=tmp_path / "missing.toml")
    with pytest.raises(PolicyError):
        build(policy={"version": "1"})


def test_policy_forms(tmp_path: Path) -> None:
    preset = Policy.preset("pipa")
    assert build(policy=preset).policy is preset
    assert build(policy="ccpa").policy.regime == "ccpa"
    assert build(policy=custom_policy_dict()).policy.has_category("chat")
    path = tmp_path / "policy.toml"
    path.write_text(
        'version = "1"\n[[categories]]\nid = "necessary"\ntitle = "N"\ndescription = "D"\n',
        encoding="utf-8",
    )
    assert build(policy=path).policy.version == "1"
    assert build(policy=str(path)).policy.version == "1"


def test_store_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(build(store="memory://").store, MemoryStore)
    monkeypatch.chdir(tmp_path)
    default = Config.build(policy="gdpr", secret_key=SECRET)
    assert isinstance(default.store, SQLiteStore)
    default.store.close()


def test_good_options() -> None:
    config = build(
        prefix="/privacy",
        cookie_name="cmw",
        country="kr",
        max_body_size=256,
        allowed_origins=["https://app.example.com"],
    )
    assert config.prefix == "/privacy" and config.cookie_name == "cmw"


def facts(**headers: str) -> RequestFacts:
    return RequestFacts.from_headers(
        {k.replace("_", "-"): v for k, v in headers.items()},
        method="GET",
        path="/",
        query_string="",
        scheme="https",
        host="example.com",
        client_ip=None,
    )


@pytest.mark.parametrize(
    ("header", "default", "country"),
    [
        ("KR", None, "KR"),
        ("kr", None, "KR"),
        (" de ", None, "DE"),
        ("XX", None, None),
        ("XX", "kr", "KR"),
        ("T1", "US", "US"),
        ("", None, None),
        ("KOR", None, None),
        ("1A", None, None),
    ],
)
def test_country_header(header: str, default: str | None, country: str | None) -> None:
    resolve = CountryHeader("CF-IPCountry", default=default)
    assert resolve(facts(cf_ipcountry=header)) == country


def test_country_header_missing() -> None:
    assert CountryHeader(default="KR")(facts()) == "KR"
    assert CountryHeader()(facts()) is None


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"prefix": "consent"}, "prefix"),
        ({"cookie_name": "a=b"}, "cookie_name"),
        ({"country": "KOR"}, "country"),
        ({"max_body_size": 255}, "max_body_size"),
        ({"allowed_origins": ["example.com"]}, "allowed_origins"),
        ({"html_exclude_paths": ["static"]}, "html_exclude_paths"),
        ({"csp_nonce": 3}, "csp_nonce"),
        ({"unknown_cookies": "drop"}, "unknown_cookies"),
        ({"ip_mode": "mask"}, "ip_mode"),
        ({"no_such_option": True}, "no_such_option"),
        ({"store": object()}, "store"),
        ({"policy": 42}, "policy"),
        ({"policy": []}, "policy"),
    ],
    ids=repr,
)
def test_a_bad_option_is_named_at_start_up(options: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        build(**options)


def test_the_typed_options_are_exactly_configs_fields() -> None:
    # Options is what editors and mypy see; Config what is checked: one list in two forms.
    fields = set(Config.__dataclass_fields__) - {"policy", "secret_key", "store", "versions"}
    assert set(Options.__annotations__) == fields


SNIPPET = """
from consent_mw import ConsentMiddleware, WSGIConsentMiddleware


async def app(scope: object, receive: object, send: object) -> None: ...


def wsgi(environ: object, start_response: object) -> list[bytes]:
    return []


ConsentMiddleware(app, policy="gdpr", secret_key="k" * 32, report_blocked=True)
WSGIConsentMiddleware(wsgi, policy=["a.toml", "b.toml"], secret_key=["k" * 32, "j" * 32])
{wrong}
"""


@pytest.mark.parametrize(
    ("wrong", "error"),
    [
        ("", None),
        (
            'ConsentMiddleware(app, policy="gdpr", secret_key="k" * 32, cookie_nmae="x")',
            "cookie_nmae",
        ),
        (
            'WSGIConsentMiddleware(wsgi, policy="gdpr", secret_key="k", max_body_size="1")',
            "max_body_size",
        ),
        ('ConsentMiddleware(app, policy="gdpr", secret_key="k", ip_mode="mask")', "ip_mode"),
        ('ConsentMiddleware(app, policy=42, secret_key="k" * 32)', "policy"),
    ],
    ids=["correct", "misspelt", "wrong type", "not one of the values", "bad policy"],
)
def test_mypy_checks_the_options(tmp_path: Path, wrong: str, error: str | None) -> None:
    source = tmp_path / "site.py"
    source.write_text(SNIPPET.format(wrong=wrong))
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", str(source)],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if error is None:
        assert done.returncode == 0, done.stdout + done.stderr
    else:
        assert done.returncode == 1, done.stdout + done.stderr
        assert f'"{error}"' in done.stdout, done.stdout
