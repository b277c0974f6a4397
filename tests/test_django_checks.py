"""``manage.py check`` on consent_mw.django's settings and middleware order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from support.django_site import setup

setup()

from django.core import checks  # noqa: E402
from django.test import override_settings  # noqa: E402

MW = "consent_mw.django.ConsentMiddleware"
SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
CSRF = "django.middleware.csrf.CsrfViewMiddleware"
UPDATE = "django.middleware.cache.UpdateCacheMiddleware"
FETCH = "django.middleware.cache.FetchFromCacheMiddleware"
CACHE = "django.middleware.cache.CacheMiddleware"
GZIP = "django.middleware.gzip.GZipMiddleware"
GOOD_KEY = "a-long-random-django-secret-key-0123456789-abcdefghijkl"


def declaring(**cookies: list[str]) -> dict[str, Any]:
    """A GDPR policy whose categories list these cookies."""
    return {
        "version": "1",
        "regime": "gdpr",
        "locales": ["en"],
        "categories": [
            {
                "id": cid,
                "title": {"en": cid},
                "description": {"en": cid},
                "cookies": cookies.get(cid, []),
            }
            for cid in ("necessary", "analytics")
        ],
    }


def ids(setting: Any = "unset", middleware: list[str] | None = None, **more: Any) -> list[str]:
    overrides: dict[str, Any] = {"MIDDLEWARE": middleware if middleware is not None else [MW]}
    if setting != "unset":
        overrides["CONSENT_MW"] = setting
    with override_settings(**overrides, **more):
        found = checks.run_checks(tags=[checks.Tags.security])
    return sorted(m.id for m in found if m.id and m.id.startswith("consent_mw."))


POLICY = {"policy": "gdpr", "store": "memory://"}


def test_a_sound_setup_has_nothing_to_report() -> None:
    necessary = {"policy": declaring(necessary=["sessionid", "csrftoken"])}
    assert ids(POLICY) == []
    assert ids(necessary, [MW, SESSION, CSRF]) == []
    assert ids(None, []) == []  # not used at all


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        (None, "consent_mw.E001"),
        ({"store": "memory://"}, "consent_mw.E001"),
        ({"policy": "/nowhere/policy.toml"}, "consent_mw.E002"),
        ({"policy": {"version": "1", "categories": "x"}}, "consent_mw.E002"),
        ({"policy": "gdpr", "secret_key": "too-short"}, "consent_mw.E003"),
        ({"policy": "gdpr", "secret_key": "change-me-0123456789abcdef"}, "consent_mw.E003"),
        ({"policy": "gdpr", "nope": True}, "consent_mw.E004"),
        ({"policy": "gdpr", "csp": "always"}, "consent_mw.E004"),
    ],
)
def test_settings_the_middleware_would_refuse(setting: Any, expected: str) -> None:
    assert ids(setting) == [expected]


def test_a_weak_secret_key_is_reported() -> None:
    assert ids(POLICY, SECRET_KEY="short") == ["consent_mw.E003"]
    assert ids(POLICY, SECRET_KEY=GOOD_KEY, SECRET_KEY_FALLBACKS=["changeme-changeme-1"]) == [
        "consent_mw.E003"
    ]


def test_a_policy_file_that_loads_passes(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parent.parent / "examples" / "policy.toml"
    assert ids({"policy": str(source)}) == []


def test_the_middleware_missing_from_middleware() -> None:
    assert ids(POLICY, []) == ["consent_mw.W001"]


@pytest.mark.parametrize(
    ("middleware", "expected"),
    [
        ([UPDATE, MW, FETCH], []),
        ([UPDATE, MW, SESSION, FETCH], ["consent_mw.W020"]),  # sessionid undeclared
        ([MW, UPDATE, FETCH], ["consent_mw.E010"]),  # caches pages before they are marked
        ([UPDATE, FETCH, MW], ["consent_mw.E010"]),  # serves cached pages past the middleware
        ([CACHE, MW], ["consent_mw.E010"]),
        ([MW, CACHE], ["consent_mw.E010"]),
        ([GZIP, MW], []),
        ([MW, GZIP], ["consent_mw.W010"]),
    ],
)
def test_middleware_order(middleware: list[str], expected: list[str]) -> None:
    assert ids(POLICY, middleware) == expected


def test_djangos_own_cookies_in_an_optional_category_are_errors() -> None:
    policy = {"policy": declaring(analytics=["sessionid", "csrftoken"])}
    assert ids(policy, [MW, SESSION, CSRF]) == ["consent_mw.E020", "consent_mw.E020"]
    # CSRF in the session: no CSRF cookie to worry about
    assert ids(policy, [MW, SESSION, CSRF], CSRF_USE_SESSIONS=True) == ["consent_mw.E020"]


def test_djangos_own_cookies_undeclared() -> None:
    assert ids(POLICY, [MW, SESSION, CSRF]) == ["consent_mw.W020", "consent_mw.W020"]
    strip = {**POLICY, "unknown_cookies": "strip"}
    assert ids(strip, [MW, SESSION]) == ["consent_mw.E020"]
    allow = {**POLICY, "unknown_cookies": "allow"}
    assert ids(allow, [MW, SESSION]) == []


def test_the_check_runs_through_manage_py_check() -> None:
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    bad = override_settings(CONSENT_MW={"policy": "gdpr", "nope": 1}, MIDDLEWARE=[MW])
    with bad, pytest.raises(SystemCheckError, match="consent_mw.E004"):
        call_command("check")
