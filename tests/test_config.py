"""Middleware options: validated at start-up, and country resolution."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import SECRET, custom_policy_dict
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
