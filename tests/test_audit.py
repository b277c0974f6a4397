"""The cookie audit: undeclared cookies are caught once, and `unknown_cookies` decides."""

from __future__ import annotations

import pytest

from consent_mw.core.audit import CookieAudit, parse_set_cookie, suggest_category, summarise
from consent_mw.stores.base import Event
from support.harness import ClientFactory

SAME_ORIGIN = {"origin": "http://testserver"}


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("PHPSESSID", "necessary"),
        ("csrftoken", "necessary"),
        ("ad_campaign", "advertising"),
        ("_gcl_custom", "advertising"),
        ("utm_source", "analytics"),
        ("my_stats", "analytics"),
        ("lang", "functional"),
        ("theme", "functional"),
        ("zzz", "unknown"),
    ],
)
def test_suggestions(name: str, category: str) -> None:
    assert suggest_category(name) == category


def test_parse_set_cookie_reads_every_attribute() -> None:
    parsed = parse_set_cookie(
        "pref=1; Max-Age=60; Path=/shop; Domain=.example.com; Secure; HttpOnly; SameSite=Strict"
    )
    assert parsed == {
        "name": "pref",
        "http_only": True,
        "secure": True,
        "same_site": "Strict",
        "max_age": 60,
        "expires": None,
        "path": "/shop",
        "domain": ".example.com",
        "lifetime": "persistent",
    }
    assert parse_set_cookie("x=1")["lifetime"] == "session"
    assert parse_set_cookie("x=1; Max-Age=soon")["max_age"] == "soon"


def test_each_name_is_reported_once() -> None:
    seen: list[Event] = []
    audit = CookieAudit(seen.append)
    for _ in range(3):
        audit.notice("mystery=1; Path=/", "/a")
    audit.notice("other=2", "/b")
    assert [e.device["name"] for e in seen] == ["mystery", "other"]
    assert [row["route"] for row in summarise(seen)] == ["/a", "/b"]


@pytest.mark.parametrize(
    ("mode", "accepted", "kept"),
    [
        ("report", False, True),
        ("allow", False, True),
        ("strip", False, False),
        ("strip", True, True),
    ],
)
def test_unknown_cookie_modes(client: ClientFactory, mode: str, accepted: bool, kept: bool) -> None:
    # Under the plain gdpr preset the demo app's `chat_id` is declared nowhere.
    harness = client(unknown_cookies=mode)
    cookies = {}
    if accepted:
        saved = harness.request(
            "POST", "/_consent", json={"action": "accept_all"}, headers=SAME_ORIGIN
        )
        (consent,) = [c for c in saved.set_cookies if c.name == "consent_mw"]
        cookies = {"consent_mw": consent.value}
    result = harness.request("GET", "/", cookies=cookies)
    assert ("chat_id" in result.kept) is kept
    harness.middleware.recorder.flush()
    audited = [row["name"] for row in summarise(harness.store.events(limit=1000))]
    assert ("chat_id" in audited) is (mode != "allow")
    assert "consent_mw" not in audited
