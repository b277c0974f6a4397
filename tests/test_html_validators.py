"""Responses without a body stay without one; a rewritten page's validators are the
decision's, so a conditional request after a change of consent never gets a 304 for
the old body. Both adapters (see :mod:`consent_mw.core.validators`)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from consent_mw.core.validators import app_if_none_match, decision_etag, decision_tag
from support.harness import Harness
from support.html_apps import TRACKER_PAGE, AppRequest, RawResult, Reply, build, html

# Each test runs with the C pass-through steps and with their pure-Python twin.
pytestmark = pytest.mark.usefixtures("html_steps")

LAST_MODIFIED = "Tue, 01 Dec 2026 10:00:00 GMT"
OURS = re.compile(r'W/"v1-cmw[0-9a-f]{10}"\Z')


@pytest.fixture(params=["asgi", "wsgi"])
def adapter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def get(harness: Harness, path: str = "/", **kwargs: Any) -> RawResult:
    result = harness.request(kwargs.pop("method", "GET"), path, **kwargs)
    assert isinstance(result, RawResult)
    return result


# -- no body, no injection -------------------------------------------------------------------


# The app's own doing, and what the adversarial tests did: webtest's lint warns of it.
APP_SENDS_TYPE_WITHOUT_BODY = pytest.mark.filterwarnings("ignore:Content-Type header found in a")


@APP_SENDS_TYPE_WITHOUT_BODY
@pytest.mark.parametrize("status", [204, 205, 304])
@pytest.mark.parametrize("report", [False, True])
def test_a_bodiless_html_status_gets_no_body(adapter: str, status: int, report: bool) -> None:
    reply = html(b"", status=status, content_length=None)
    harness = build(adapter, lambda request: reply, report_blocked=report)
    result = get(harness)
    assert result.status == status
    assert result.raw == b""
    assert result.header("content-length") in (None, "0")
    assert result.header("x-consent-blocked") is None


@pytest.mark.parametrize("report", [False, True])
def test_head_of_a_page_gets_no_body_and_no_injection(adapter: str, report: bool) -> None:
    # An app that answers HEAD with its GET body (WSGI apps may; servers are to drop it).
    reply = html(head_body=True)
    harness = build(adapter, lambda request: reply, report_blocked=report)
    result = get(harness, method="HEAD")
    assert result.status == 200
    assert b"/_consent/banner.js" not in result.raw
    assert result.header("x-consent-blocked") is None


@APP_SENDS_TYPE_WITHOUT_BODY
def test_a_bodiless_status_keeps_its_set_cookie_filtering(adapter: str) -> None:
    headers = [("Set-Cookie", "_ga=GA1.1; Path=/"), ("Set-Cookie", "lang=ko; Path=/")]
    reply = html(b"", status=204, content_length=None, headers=headers)
    result = get(build(adapter, lambda request: reply))
    assert result.headers_named("set-cookie") == ["lang=ko; Path=/"]


# -- validators of the decision ------------------------------------------------------------------


def conditional_app(seen: list[dict[str, str]]) -> Any:
    """A page with an ETag and Last-Modified that answers 304 to either validator, as
    Starlette's, Werkzeug's and Django's conditional GET do."""

    def handler(request: AppRequest) -> Reply:
        seen.append(dict(request.headers))
        validators = [("ETag", '"v1"'), ("Last-Modified", LAST_MODIFIED)]
        tags = request.headers.get("if-none-match")
        if tags is not None:
            fresh = any(t.strip().removeprefix("W/") == '"v1"' for t in tags.split(","))
        else:
            fresh = request.headers.get("if-modified-since") == LAST_MODIFIED
        if fresh:
            return Reply(status=304, headers=validators, content_length=None)
        return html(TRACKER_PAGE, headers=validators)

    return handler


def test_a_rewritten_page_has_a_weak_etag_of_its_decision(adapter: str) -> None:
    harness = build(adapter, conditional_app([]))
    undecided = get(harness)
    consented = get(harness, cookies={"consent_mw": harness.token({"analytics": True})})
    for result in (undecided, consented):
        assert result.status == 200
        assert OURS.match(result.header("etag") or ""), result.header("etag")
        assert result.header("last-modified") is None
    assert undecided.header("etag") != consented.header("etag")


def test_revalidating_under_the_same_decision_gets_a_304_with_the_same_etag(adapter: str) -> None:
    seen: list[dict[str, str]] = []
    harness = build(adapter, conditional_app(seen))
    cookies = {"consent_mw": harness.token({"analytics": True})}
    tag = get(harness, cookies=cookies).header("etag")
    assert tag is not None
    again = get(harness, cookies=cookies, headers={"if-none-match": tag})
    assert again.status == 304
    assert again.raw == b""
    assert again.header("etag") == tag
    assert seen[-1]["if-none-match"] == 'W/"v1"'


def test_after_a_change_of_consent_the_old_validators_get_the_new_body(adapter: str) -> None:
    seen: list[dict[str, str]] = []
    harness = build(adapter, conditional_app(seen))
    accepted = {"consent_mw": harness.token({"analytics": True, "advertising": True})}
    first = get(harness, cookies=accepted)
    tag = first.header("etag")
    assert tag is not None
    withdrawn = {"consent_mw": harness.token({})}
    # What a browser sends to revalidate what it stored: both validators.
    validators = {"if-none-match": tag, "if-modified-since": LAST_MODIFIED}
    after = get(harness, cookies=withdrawn, headers=validators)
    assert after.status == 200
    assert after.raw != first.raw
    assert b"googletagmanager" in first.raw and after.raw.count(b"data-consent-src") > 0
    assert after.header("etag") not in (None, tag)
    assert "if-none-match" not in seen[-1]
    assert "if-modified-since" not in seen[-1]


def test_the_apps_own_tags_reach_it_unchanged(adapter: str) -> None:
    seen: list[dict[str, str]] = []
    harness = build(adapter, conditional_app(seen))
    assert get(harness, headers={"if-none-match": '"v1"'}).status == 304
    assert seen[-1]["if-none-match"] == '"v1"'


# -- the pieces ----------------------------------------------------------------------------------


def test_decision_tags_tell_decisions_and_versions_apart() -> None:
    tags = {
        decision_tag(version, frozenset(allowed))
        for version in ("1", "2")
        for allowed in ({"necessary"}, {"necessary", "analytics"}, {"necessary", "advertising"})
    }
    assert len(tags) == 6
    assert all(re.fullmatch(r"[0-9a-f]{10}", t) for t in tags)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b'"abc"', b'W/"abc-cmw0123456789"'),
        (b'W/"abc"', b'W/"abc-cmw0123456789"'),
        (b' "a,b" ', b'W/"a,b-cmw0123456789"'),
        (b'""', b'W/"-cmw0123456789"'),
        (b"abc", None),
        (b'"a"b"', None),
        (b'"', None),
    ],
)
def test_decision_etag(value: bytes, expected: bytes | None) -> None:
    assert decision_etag(value, "0123456789") == expected


TAG = "0123456789"
OTHER = "9876543210"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('"abc"', (None, False)),
        (f'W/"abc-cmw{TAG}"', ('W/"abc"', True)),
        (f'W/"abc-cmw{OTHER}"', ("", False)),
        (f'W/"abc-cmw{OTHER}", "own"', ('"own"', False)),
        (f'W/"a,b-cmw{TAG}" , W/"x-cmw{OTHER}"', ('W/"a,b"', True)),
        (f'"x-cmw{TAG}"', ('"x"', True)),
        ('"short-cmw12"', ('"short-cmw12"', False)),
        (f"garbage -cmw{TAG}", (None, False)),
        (f'*, W/"abc-cmw{TAG}"', ('*, W/"abc"', True)),
    ],
)
def test_app_if_none_match(header: str, expected: tuple[str | None, bool]) -> None:
    assert app_if_none_match(header, TAG) == expected
