"""The no-JavaScript pages through both adapters: the privacy notice, the customised-
advertising page and its form, the withdraw and delete forms, the records view."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import pytest
from itsdangerous import TimestampSigner

from consent_mw import MemoryStore, StoreError, StoreUnavailable
from consent_mw.core.consent import Consent
from consent_mw.core.cookies import ConsentCookieCodec
from consent_mw.web.pages import FORM_SALT, FORM_TOKEN_AGE, cookie_subject
from support.harness import (
    OTHER_SECRET,
    SECRET,
    ASGIHarness,
    ClientFactory,
    Harness,
    Result,
    custom_policy_dict,
)

SAME_ORIGIN = {"origin": "http://testserver"}
FORM = "application/x-www-form-urlencoded"
JSON_CT = "application/json; charset=utf-8"
HTML_CT = "text/html; charset=utf-8"


# -- helpers -------------------------------------------------------------------------------


def make(client: ClientFactory, **options: Any) -> Harness:
    """A fresh harness that shows redirects instead of following them (as webtest does)."""
    harness = client(**options)
    if isinstance(harness, ASGIHarness):
        harness.client.follow_redirects = False
    return harness


def tokens(page: str) -> list[str]:
    return re.findall(r'<input type="hidden" name="token" value="([^"]+)">', page)


# The form nonce cookie a visitor without a consent id receives with a page, per harness:
# post_form sends it back, as the browser's cookie jar would.
FORM_COOKIES: dict[int, str] = {}


def form_token(harness: Harness, cookies: dict[str, str] | None = None) -> str:
    """The token the ads page gives this visitor (as a browser would read it)."""
    page = harness.get("/_consent/ads", cookies=cookies)
    assert page.status == 200
    [token] = tokens(page.body)
    for cookie in page.set_cookies:
        if cookie.name == "consent_mw_form":
            assert {"httponly", "samesite"} <= {f.lower() for f in cookie.flags} | {
                k.lower() for k in cookie.attrs
            }
            FORM_COOKIES[id(harness)] = cookie.value
    return token


def post_form(
    harness: Harness,
    path: str,
    fields: dict[str, str],
    *,
    cookies: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    content_type: str = FORM,
) -> Result:
    nonce = FORM_COOKIES.get(id(harness))
    if nonce is not None:
        cookies = {"consent_mw_form": nonce, **(cookies or {})}
    return harness.request(
        "POST",
        path,
        body=urlencode(fields).encode(),
        content_type=content_type,
        headers={**SAME_ORIGIN, **(headers or {})},
        cookies=cookies,
    )


def consent_value(result: Result) -> str:
    [cookie] = [c for c in result.set_cookies if c.name == "consent_mw"]
    return cookie.value


def decode(value: str) -> Consent:
    consent = ConsentCookieCodec(SECRET).loads(value)
    assert consent is not None
    return consent


def new_consent(result: Result) -> Consent:
    """The consent the response's Set-Cookie carries (signed with our key)."""
    value = consent_value(result)
    assert ConsentCookieCodec(OTHER_SECRET).loads(value) is None
    return decode(value)


def assert_error(result: Result, status: int, code: str) -> None:
    assert result.status == status, (result.status, result.body)
    assert result.header("content-type") == JSON_CT
    assert result.body["error"] == code
    assert "consent_mw" not in [c.name for c in result.set_cookies]


def style_hash(page: str) -> str:
    match = re.search(r"<style>(.*?)</style>", page, re.S)
    assert match
    return base64.b64encode(hashlib.sha256(match.group(1).encode()).digest()).decode()


def csp_style_hash(csp: str) -> str:
    match = re.search(r"style-src 'sha256-([^']+)'", csp)
    assert match, csp
    return match.group(1)


class DownStore(MemoryStore):
    """A ledger that is down for everything the pages write or read."""

    def __init__(self, error: type[StoreError] = StoreUnavailable) -> None:
        super().__init__()
        self.error = error

    def append(self, record: Any) -> None:
        raise self.error("ledger down")

    def history(self, subject_id: str, *, limit: int = 100) -> list[Any]:
        raise self.error("ledger down")

    def delete_subject(self, subject_id: str, *, proof: Any) -> int:
        raise self.error("ledger down")


# -- /_consent/policy ----------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "?format=html", "?locale=ko", "?format=html&locale=en"])
def test_policy_html_has_a_csp_matching_its_style(client: ClientFactory, query: str) -> None:
    result = client.get(f"/_consent/policy{query}")
    assert result.status == 200
    assert result.header("content-type") == HTML_CT
    csp = result.header("content-security-policy")
    assert csp is not None
    assert csp_style_hash(csp) == style_hash(result.body)
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert "<script" not in result.body
    assert result.body.count("<style>") == 1
    lang = "ko" if "ko" in query else "en"
    assert f'<html lang="{lang}">' in result.body


def test_policy_json(client: ClientFactory) -> None:
    result = client.get("/_consent/policy?format=json&locale=ko")
    assert result.status == 200
    assert result.header("content-type") == JSON_CT
    assert result.header("content-security-policy") is None
    assert isinstance(result.body, dict)
    assert "customised-ads" in {s["id"] for s in result.body["sections"]}


def test_policy_markdown(client: ClientFactory) -> None:
    result = client.get("/_consent/policy?format=markdown")
    assert result.status == 200
    assert result.header("content-type") == "text/markdown; charset=utf-8"
    assert result.body.lstrip().startswith("#")
    assert "<style>" not in result.body


@pytest.mark.parametrize("fmt", ["pdf", "HTML", "", "json%00"])
def test_policy_bad_format(client: ClientFactory, fmt: str) -> None:
    result = client.get(f"/_consent/policy?format={fmt}")
    if fmt == "":
        # An empty format is no format: the HTML page.
        assert result.status == 200
        return
    assert_error(result, 400, "invalid_format")


def test_policy_text_is_the_same_for_every_visitor(client: ClientFactory) -> None:
    """Only the forms' tokens (if any) depend on the visitor."""
    harness = make(client)
    undecided = harness.get("/_consent/policy")
    decided = harness.get("/_consent/policy", cookies={"consent_mw": harness.token({})})

    def text(page: str) -> str:
        return re.sub(r'name="token" value="[^"]*"', "", page)

    assert text(undecided.body) == text(decided.body)


def test_policy_head(client: ClientFactory) -> None:
    result = client.request("HEAD", "/_consent/policy")
    assert result.status == 200
    assert result.body == ""


# -- /_consent/ads (GET) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choices", "headers", "state", "button"),
    [
        (None, {}, "Customised advertising is off for this browser.", "on"),
        ({"advertising": False}, {}, "Customised advertising is off for this browser.", "on"),
        ({"advertising": True}, {}, "Customised advertising is on for this browser.", "off"),
        ({"advertising": True}, {"sec-gpc": "1"}, "off for this browser.", "on"),
    ],
)
def test_ads_page_shows_the_state_and_a_form(
    client: ClientFactory,
    choices: dict[str, bool] | None,
    headers: dict[str, str],
    state: str,
    button: str,
) -> None:
    harness = make(client)
    cookies = {"consent_mw": harness.token(choices)} if choices is not None else None
    result = harness.get("/_consent/ads", cookies=cookies, headers=headers)
    assert result.status == 200
    assert result.header("content-type") == HTML_CT
    assert result.header("cache-control") == "no-store"
    csp = result.header("content-security-policy") or ""
    assert csp_style_hash(csp) == style_hash(result.body)
    assert "form-action 'self'" in csp
    assert state in result.body
    assert '<form method="post" action="/_consent/ads">' in result.body
    assert f'name="advertising" value="{button}"' in result.body
    assert len(tokens(result.body)) == 1
    if headers.get("sec-gpc"):
        assert "Global Privacy Control" in result.body or "GPC" in result.body


def test_ads_page_in_korean(client: ClientFactory) -> None:
    result = client.get("/_consent/ads", headers={"accept-language": "ko-KR,ko;q=0.9"})
    assert "맞춤형 광고" in result.body
    assert '<input type="hidden" name="locale" value="ko">' in result.body


def test_ads_page_saved_message(client: ClientFactory) -> None:
    assert "Your choice was saved." in client.get("/_consent/ads?saved=1").body
    assert "Your choice was saved." not in client.get("/_consent/ads").body


def test_form_token_is_bound_to_the_consent_cookie(client: ClientFactory) -> None:
    harness = make(client)
    alice = {"consent_mw": harness.token({"analytics": True})}
    bob = {"consent_mw": harness.token({"analytics": True})}
    assert form_token(harness, alice).split(".")[0] != form_token(harness, bob).split(".")[0]


@pytest.mark.parametrize("known", ["consent id", "consent cookie"])
def test_a_form_nonce_named_after_someone_elses_consent_gets_no_token_they_accept(
    client: ClientFactory, known: str
) -> None:
    # Someone who knows a visitor's consent id (or even their cookie) sends it as their
    # own form nonce: the token they get must not pass with the visitor's cookie.
    harness = make(client)
    victim_cookie = harness.token({"analytics": True})
    victim = decode(victim_cookie)
    guess = victim.id if known == "consent id" else victim_cookie
    page = harness.get("/_consent/ads", cookies={"consent_mw_form": guess})
    tokens_found = tokens(page.body)
    if tokens_found:
        result = post_form(
            harness,
            "/_consent/ads",
            {"token": tokens_found[0], "advertising": "on"},
            cookies={"consent_mw": victim_cookie},
        )
        assert_error(result, 403, "invalid_form_token")
    assert harness.store.all_records() == []


# -- /_consent/ads (POST) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "value", "after"),
    [
        (None, "off", {"functional": False, "analytics": False, "advertising": False}),
        (None, "on", {"functional": False, "analytics": False, "advertising": True}),
        (
            {"analytics": True, "advertising": True},
            "off",
            {"functional": False, "analytics": True, "advertising": False},
        ),
        (
            {"functional": True, "analytics": False},
            "on",
            {"functional": True, "analytics": False, "advertising": True},
        ),
    ],
)
def test_ads_form_saves_and_redirects(
    client: ClientFactory, before: dict[str, bool] | None, value: str, after: dict[str, bool]
) -> None:
    harness = make(client)
    cookies = {"consent_mw": harness.token(before)} if before is not None else None
    token = form_token(harness, cookies)
    result = post_form(
        harness,
        "/_consent/ads",
        {"token": token, "advertising": value, "locale": "en"},
        cookies=cookies,
    )
    assert result.status == 303
    assert result.header("location") == "/_consent/ads?saved=1&locale=en"
    assert result.header("cache-control") == "no-store"
    assert result.body == ""
    consent = new_consent(result)
    assert dict(consent.choices) == after
    assert consent.source == "form"
    if before is not None:
        assert consent.id == decode(cookies["consent_mw"]).id  # type: ignore[index]
    [record] = harness.store.all_records()
    assert record.source == "form"
    assert record.action == "custom"
    assert dict(record.choices) == after
    assert record.subject_id == consent.id
    assert record.locale == "en"
    assert record.ip == "203.0.113.0"
    # The page the browser lands on shows the new state.
    landed = harness.get(
        result.header("location") or "", cookies={"consent_mw": consent_value(result)}
    )
    assert "Your choice was saved." in landed.body
    state = "on" if after["advertising"] else "off"
    assert f"Customised advertising is {state} for this browser." in landed.body


def test_ads_form_in_korean_redirects_with_the_locale(client: ClientFactory) -> None:
    harness = make(client)
    token = form_token(harness)
    result = post_form(
        harness, "/_consent/ads", {"token": token, "advertising": "off", "locale": "ko"}
    )
    assert result.status == 303
    assert result.header("location") == "/_consent/ads?saved=1&locale=ko"
    [record] = harness.store.all_records()
    assert record.locale == "ko"


def test_ads_form_expires_refused_tracker_cookies(client: ClientFactory) -> None:
    harness = make(client)
    cookies = {"consent_mw": harness.token({"advertising": True}), "_fbp": "fb.1.2"}
    token = form_token(harness, cookies)
    result = post_form(
        harness, "/_consent/ads", {"token": token, "advertising": "off"}, cookies=cookies
    )
    assert result.status == 303
    assert ("_fbp", None) in result.expired


def test_ads_form_with_gpc_opt_in_is_an_override(client: ClientFactory) -> None:
    harness = make(client)
    gpc = {"sec-gpc": "1"}
    token = form_token(harness)
    result = post_form(harness, "/_consent/ads", {"token": token, "advertising": "on"}, headers=gpc)
    assert result.status == 303
    consent = new_consent(result)
    assert consent.choices["advertising"] is True and consent.gpc_override is True


# -- bad forms: never a 500 ----------------------------------------------------------------


def signed_token(
    harness: Harness,
    subject: str,
    *,
    age: int = 0,
    secret: str | None = None,
    kind: str = "consent",
) -> str:
    """A form token as the pages sign it for a consent cookie value (``kind="nonce"``:
    for a form nonce), ``age`` seconds old (another key with ``secret``)."""
    pages = harness.middleware.endpoints.pages
    key = pages._signers[kind].secret_keys[-1] if secret is None else secret.encode()
    signer = TimestampSigner(key, salt=FORM_SALT + kind.encode(), digest_method=hashlib.sha256)
    signer.get_timestamp = lambda: int(time.time()) - age  # type: ignore[method-assign]
    if kind == "consent":
        subject = cookie_subject(subject)
    return signer.sign(subject.encode()).decode()


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("missing", 403, "invalid_form_token"),
        ("empty", 403, "invalid_form_token"),
        ("garbage", 403, "invalid_form_token"),
        ("tampered", 403, "invalid_form_token"),
        ("other_key", 403, "invalid_form_token"),
        ("expired", 403, "invalid_form_token"),
        ("other_visitor", 403, "invalid_form_token"),
        ("undecided_token", 403, "invalid_form_token"),
        ("fresh_enough", 303, None),
    ],
)
@pytest.mark.parametrize(
    "path", ["/_consent/ads", "/_consent/withdraw", "/_consent/records/delete"]
)
def test_form_token_checks(
    client: ClientFactory, case: str, status: int, code: str | None, path: str
) -> None:
    harness = make(client)
    token_value = harness.token({"analytics": True})
    cookies = {"consent_mw": token_value}
    good = form_token(harness, cookies)
    fields = {"advertising": "off"}
    if case == "empty":
        fields["token"] = ""
    elif case == "garbage":
        fields["token"] = "not.a.token"
    elif case == "tampered":
        fields["token"] = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    elif case == "other_key":
        fields["token"] = signed_token(harness, token_value, secret="x" * 32)
    elif case == "expired":
        fields["token"] = signed_token(harness, token_value, age=FORM_TOKEN_AGE + 5)
    elif case == "other_visitor":
        fields["token"] = form_token(harness, {"consent_mw": harness.token({"analytics": True})})
    elif case == "undecided_token":
        fields["token"] = form_token(harness)
    elif case == "fresh_enough":
        fields["token"] = signed_token(harness, token_value, age=FORM_TOKEN_AGE - 60)
    result = post_form(harness, path, fields, cookies=cookies)
    if code is None:
        assert result.status == status, result.body
        return
    assert_error(result, status, code)
    assert harness.store.all_records() == []


def test_expired_token_from_the_page_itself(
    client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page left open for over an hour: its token no longer works."""
    harness = make(client)
    signer = harness.middleware.endpoints.pages._signers["nonce"]
    monkeypatch.setattr(signer, "get_timestamp", lambda: int(time.time()) - FORM_TOKEN_AGE - 1)
    old = form_token(harness)
    monkeypatch.undo()
    result = post_form(harness, "/_consent/ads", {"token": old, "advertising": "off"})
    assert_error(result, 403, "invalid_form_token")
    fresh = form_token(harness)
    assert post_form(harness, "/_consent/ads", {"token": fresh, "advertising": "off"}).status == 303


@pytest.mark.parametrize(
    ("headers", "content_type", "status", "code"),
    [
        ({}, "application/json", 415, "unsupported_media_type"),
        ({}, "text/plain", 415, "unsupported_media_type"),
        ({}, "multipart/form-data; boundary=x", 415, "unsupported_media_type"),
        ({"origin": "https://evil.example"}, FORM, 403, "cross_site"),
        ({"origin": "null"}, FORM, 403, "cross_site"),
        ({"origin": "https://testserver"}, FORM, 403, "cross_site"),
        ({"sec-fetch-site": "cross-site"}, FORM, 403, "cross_site"),
        ({"sec-fetch-site": "same-site"}, FORM, 403, "cross_site"),
        # cross-site wins over a wrong content type
        ({"origin": "https://evil.example"}, "application/json", 403, "cross_site"),
    ],
)
@pytest.mark.parametrize(
    "path", ["/_consent/ads", "/_consent/withdraw", "/_consent/records/delete"]
)
def test_form_request_checks(
    client: ClientFactory,
    headers: dict[str, str],
    content_type: str,
    status: int,
    code: str,
    path: str,
) -> None:
    harness = make(client)
    cookies = {"consent_mw": harness.token({"analytics": True})}
    token = form_token(harness, cookies)
    result = post_form(
        harness,
        path,
        {"token": token, "advertising": "off"},
        cookies=cookies,
        headers=headers,
        content_type=content_type,
    )
    assert_error(result, status, code)
    assert harness.store.all_records() == []


@pytest.mark.parametrize(
    "headers",
    [{}, {"sec-fetch-site": "same-origin"}, {"sec-fetch-site": "none"}],
)
def test_same_origin_forms_pass(client: ClientFactory, headers: dict[str, str]) -> None:
    harness = make(client)
    token = form_token(harness)
    result = post_form(
        harness, "/_consent/ads", {"token": token, "advertising": "on"}, headers=headers
    )
    assert result.status == 303


@pytest.mark.parametrize("value", [None, "", "yes", "ON", "true", "1"])
def test_ads_form_bad_value(client: ClientFactory, value: str | None) -> None:
    harness = make(client)
    fields = {"token": form_token(harness)}
    if value is not None:
        fields["advertising"] = value
    assert_error(post_form(harness, "/_consent/ads", fields), 400, "invalid_form")


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe\xfa", b"token=%ZZ&advertising=on", b"&&&===", b"token", b""],
)
def test_unreadable_form_bodies_are_4xx(client: ClientFactory, body: bytes) -> None:
    result = client.request(
        "POST", "/_consent/ads", body=body, content_type=FORM, headers=SAME_ORIGIN
    )
    assert 400 <= result.status < 500, result.body
    assert result.header("content-type") == JSON_CT


def test_form_body_too_large(client: ClientFactory) -> None:
    harness = make(client)
    body = b"token=" + b"a" * 9000 + b"&advertising=on"
    result = harness.request(
        "POST", "/_consent/ads", body=body, content_type=FORM, headers=SAME_ORIGIN
    )
    assert_error(result, 413, "body_too_large")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/_consent/ads", "GET, POST"),
        ("DELETE", "/_consent/ads", "GET, POST"),
        ("PATCH", "/_consent/policy", "GET"),
        ("POST", "/_consent/policy", "GET"),
        ("GET", "/_consent/withdraw", "POST"),
        ("GET", "/_consent/records/delete", "POST"),
        ("PUT", "/_consent/records", "DELETE, GET"),
    ],
)
def test_unknown_methods(client: ClientFactory, method: str, path: str, allow: str) -> None:
    result = client.request(method, path, headers=SAME_ORIGIN)
    assert_error(result, 405, "method_not_allowed")
    assert result.header("allow") == allow


def test_ads_form_without_an_advertising_category(client: ClientFactory) -> None:
    policy = custom_policy_dict()
    policy["categories"] = [c for c in policy["categories"] if c["id"] != "advertising"]
    harness = make(client, policy=policy)
    token = form_token(harness)
    result = post_form(harness, "/_consent/ads", {"token": token, "advertising": "on"})
    assert_error(result, 404, "not_found")


# -- /_consent/withdraw --------------------------------------------------------------------


def test_withdraw_form(client: ClientFactory) -> None:
    harness = make(client)
    everything = {"functional": True, "analytics": True, "advertising": True}
    cookies = {"consent_mw": harness.token(everything), "_ga": "GA1.1.1", "_fbp": "fb.1"}
    before = decode(cookies["consent_mw"])
    token = form_token(harness, cookies)
    result = post_form(
        harness, "/_consent/withdraw", {"token": token, "locale": "ko"}, cookies=cookies
    )
    assert result.status == 303
    assert result.header("location") == "/_consent/policy?locale=ko#rights"
    consent = new_consent(result)
    assert consent.id == before.id
    assert not any(consent.choices.values())
    assert consent.action == "withdraw" and consent.source == "form"
    assert {("_ga", None), ("_fbp", None)} <= result.expired
    [record] = harness.store.all_records()
    assert (record.action, record.source) == ("withdraw", "form")
    assert not any(record.choices.values())


def test_withdraw_form_of_an_undecided_visitor(client: ClientFactory) -> None:
    harness = make(client)
    result = post_form(harness, "/_consent/withdraw", {"token": form_token(harness)})
    assert result.status == 303
    consent = new_consent(result)
    assert not any(consent.choices.values())


# -- deleting records ----------------------------------------------------------------------


def seed(harness: Harness, choices: dict[str, bool]) -> dict[str, str]:
    """Save a choice through the API so the ledger has records; the cookie it set."""
    result = harness.request("POST", "/_consent", json={"choices": choices}, headers=SAME_ORIGIN)
    assert result.status == 200
    cookies = {"consent_mw": consent_value(result)}
    again = harness.request(
        "POST", "/_consent", json={"action": "accept_all"}, headers=SAME_ORIGIN, cookies=cookies
    )
    assert again.status == 200
    return {"consent_mw": consent_value(again)}


def assert_only_the_proof_is_left(harness: Harness, subject: str, source: str) -> None:
    store = harness.store
    history = store.history(subject)
    assert len(history) == 1
    [proof] = history
    assert proof.action == "delete" and proof.source == source
    assert not any(proof.choices.values())
    assert store.current(subject) is None
    assert all(r.action == "delete" for r in store.all_records() if r.subject_id == subject)


def test_delete_form(client: ClientFactory) -> None:
    harness = make(client)
    cookies = seed(harness, {"analytics": True})
    subject = decode(cookies["consent_mw"]).id
    assert len(harness.store.history(subject)) == 2
    token = form_token(harness, cookies)
    result = post_form(harness, "/_consent/records/delete", {"token": token}, cookies=cookies)
    assert result.status == 303
    assert result.header("location") == "/_consent/records?locale=en"
    consent = new_consent(result)
    assert consent.id == subject
    assert consent.action == "delete"
    assert not any(consent.choices.values())
    assert_only_the_proof_is_left(harness, subject, "form")
    # The browser now refuses everything, without being asked again.
    after = harness.get("/_consent", cookies={"consent_mw": consent_value(result)}).body["state"]
    assert after["allowed"] == ["necessary"]
    assert after["decided"] is True


def test_delete_form_of_an_undecided_visitor(client: ClientFactory) -> None:
    harness = make(client)
    result = post_form(harness, "/_consent/records/delete", {"token": form_token(harness)})
    assert result.status == 303
    assert harness.store.all_records() == []
    assert "consent_mw" not in [c.name for c in result.set_cookies]


def test_delete_api(client: ClientFactory) -> None:
    harness = make(client)
    cookies = seed(harness, {"advertising": True})
    subject = decode(cookies["consent_mw"]).id
    result = harness.request("DELETE", "/_consent/records", headers=SAME_ORIGIN, cookies=cookies)
    assert result.status == 200
    assert result.header("content-type") == JSON_CT
    assert result.body["deleted"] == 2
    assert result.body["state"]["allowed"] == ["necessary"]
    consent = new_consent(result)
    assert consent.id == subject and not any(consent.choices.values())
    assert_only_the_proof_is_left(harness, subject, "banner")
    assert result.body["record_id"] == harness.store.history(subject)[0].record_id


@pytest.mark.parametrize(
    "headers",
    [{"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"}],
)
def test_delete_api_refuses_cross_site(client: ClientFactory, headers: dict[str, str]) -> None:
    harness = make(client)
    cookies = seed(harness, {"analytics": True})
    result = harness.request("DELETE", "/_consent/records", headers=headers, cookies=cookies)
    assert_error(result, 403, "cross_site")
    assert len(harness.store.history(decode(cookies["consent_mw"]).id)) == 2


# -- /_consent/records ---------------------------------------------------------------------


def test_records_html_view(client: ClientFactory) -> None:
    harness = make(client)
    cookies = seed(harness, {"analytics": True})
    result = harness.get(
        "/_consent/records",
        cookies=cookies,
        headers={"accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"},
    )
    assert result.status == 200
    assert result.header("content-type") == HTML_CT
    assert result.header("cache-control") == "no-store"
    csp = result.header("content-security-policy") or ""
    assert csp_style_hash(csp) == style_hash(result.body)
    page = result.body
    assert page.count("<tbody><tr>") == 1 and page.count("<tr><td>") == 2
    assert "accept_all" in page and "custom" in page
    assert "functional, analytics, advertising" in page
    assert " UTC</td>" in page
    assert '<form method="post" action="/_consent/withdraw">' in page
    assert '<form method="post" action="/_consent/records/delete">' in page
    assert len(tokens(page)) == 2
    # The page's tokens work for its forms.
    delete = post_form(
        harness, "/_consent/records/delete", {"token": tokens(page)[1]}, cookies=cookies
    )
    assert delete.status == 303


def test_records_html_escapes_what_it_shows(client: ClientFactory) -> None:
    harness = make(client)
    cookies = seed(harness, {"analytics": True})
    subject = decode(cookies["consent_mw"]).id
    record = harness.store.history(subject)[0]
    harness.store.append(replace(record, record_id=record.record_id + "x", action="<b>x</b>"))
    page = harness.get("/_consent/records", cookies=cookies, headers={"accept": "text/html"}).body
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_records_html_of_an_undecided_visitor(client: ClientFactory) -> None:
    result = client.get("/_consent/records", headers={"accept": "text/html"})
    assert result.status == 200
    assert "There are no records for this browser." in result.body


@pytest.mark.parametrize("accept", [None, "application/json", "*/*"])
def test_records_json_without_html_in_accept(client: ClientFactory, accept: str | None) -> None:
    harness = make(client)
    cookies = seed(harness, {"analytics": True})
    headers = {"accept": accept} if accept else {}
    result = harness.get("/_consent/records", cookies=cookies, headers=headers)
    assert result.header("content-type") == JSON_CT
    assert result.header("content-disposition") is None
    assert len(result.body["records"]) == 2


def test_records_export(client: ClientFactory) -> None:
    harness = make(client)
    cookies = seed(harness, {"analytics": True})
    subject = decode(cookies["consent_mw"]).id
    # Even a browser asking for HTML gets the file.
    result = harness.get(
        "/_consent/records?format=json", cookies=cookies, headers={"accept": "text/html"}
    )
    assert result.status == 200
    assert result.header("content-type") == JSON_CT
    assert result.header("content-disposition") == 'attachment; filename="consent-records.json"'
    assert result.header("cache-control") == "no-store"
    assert result.body["subject_id"] == subject
    actions = [r["action"] for r in result.body["records"]]
    assert actions == ["accept_all", "custom"]  # newest first
    assert all(r["subject_id"] == subject for r in result.body["records"])
    json.dumps(result.body)


# -- the ledger is down --------------------------------------------------------------------


@pytest.mark.parametrize("error", [StoreUnavailable, StoreError])
@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/_consent/ads", {"advertising": "off"}),
        ("/_consent/ads", {"advertising": "on"}),
        ("/_consent/withdraw", {}),
        ("/_consent/records/delete", {}),
    ],
)
def test_forms_while_the_store_is_down(
    client: ClientFactory, error: type[StoreError], path: str, fields: dict[str, str]
) -> None:
    harness = make(client, store=DownStore(error))
    cookies = {"consent_mw": harness.token({"analytics": True}), "_ga": "GA1.1"}
    token = form_token(harness, cookies)
    result = post_form(harness, path, {"token": token, **fields}, cookies=cookies)
    assert_error(result, 503, "ledger_unavailable")
    assert result.header("retry-after") == "5"
    assert result.header("location") is None


def test_delete_api_while_the_store_is_down(client: ClientFactory) -> None:
    harness = make(client, store=DownStore())
    cookies = {"consent_mw": harness.token({"analytics": True})}
    result = harness.request("DELETE", "/_consent/records", headers=SAME_ORIGIN, cookies=cookies)
    assert_error(result, 503, "ledger_unavailable")
    assert result.header("retry-after") == "5"


def test_records_html_while_the_store_is_down(client: ClientFactory) -> None:
    harness = make(client, store=DownStore())
    cookies = {"consent_mw": harness.token({"analytics": True})}
    result = harness.get("/_consent/records", cookies=cookies, headers={"accept": "text/html"})
    assert_error(result, 503, "ledger_unavailable")


def test_pages_that_read_nothing_work_while_the_store_is_down(client: ClientFactory) -> None:
    harness = make(client, store=DownStore())
    assert harness.get("/_consent/ads").status == 200
    assert harness.get("/_consent/policy").status == 200
    assert harness.get("/_consent/records", headers={"accept": "text/html"}).status == 200
