"""The no-JavaScript preferences page: a switch per category and per listed service,
through both adapters."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest

from consent_mw.core.cookies import ConsentCookieCodec
from support.harness import SECRET, ASGIHarness, ClientFactory, Harness, Result
from support.services import POLICY_DICT

ORIGIN = {"origin": "http://testserver"}
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def site(client: ClientFactory) -> Harness:
    harness = client(policy=POLICY_DICT)
    if isinstance(harness, ASGIHarness):
        harness.client.follow_redirects = False
    return harness


def load(
    site: Harness, cookies: dict[str, str] | None = None
) -> tuple[Result, str, dict[str, str]]:
    page = site.get("/_consent/preferences?locale=en", cookies=cookies)
    assert page.status == 200
    [token] = re.findall(r'name="token" value="([^"]+)"', page.body)
    jar = dict(cookies or {})
    for cookie in page.set_cookies:
        jar[cookie.name] = cookie.value
    return page, token, jar


def submit(site: Harness, fields: list[tuple[str, str]], jar: dict[str, str]) -> Result:
    return site.request(
        "POST",
        "/_consent/preferences",
        body=urlencode(fields).encode(),
        content_type=FORM,
        headers=ORIGIN,
        cookies=jar,
    )


def test_the_page_lists_services_with_their_details(site: Harness) -> None:
    page, _, _ = load(site)
    html = page.body
    assert 'name="s.advertising" value="Meta"' in html
    assert "Ads on Facebook and Instagram · Kept: 6 months · Cookies: _fbp" in html
    assert 'name="c" value="analytics"' in html
    assert re.search(r'name="c" value="necessary" checked disabled', html)
    assert (
        page.header(
            "content-security-policy",
        )
        is not None
    )


def test_choosing_services_without_javascript(site: Harness) -> None:
    _, token, jar = load(site)
    fields = [("token", token), ("locale", "en"), ("c", "analytics"), ("s.advertising", "Meta")]
    saved = submit(site, fields, jar)
    assert saved.status == 303
    assert saved.header("location") == "/_consent/preferences?saved=1&locale=en"
    [cookie] = [c for c in saved.set_cookies if c.name == "consent_mw"]
    consent = ConsentCookieCodec(SECRET).loads(cookie.value)
    assert consent is not None
    assert consent.choices["analytics"] is True
    assert consent.services == {"advertising": {"Meta": True, "Kakao": False, "TikTok": False}}
    assert consent.source == "form"
    records = site.get(
        "/_consent/records", cookies={"consent_mw": cookie.value}, headers={"accept": "text/html"}
    )
    assert "analytics, advertising: Meta" in records.body
    page, _, _ = load(site, {"consent_mw": cookie.value})
    assert re.search(r'name="s.advertising" value="Meta" checked', page.body)
    assert not re.search(r'name="s.advertising" value="TikTok" checked', page.body)
    assert not re.search(r'name="c" value="advertising"[^>]* checked', page.body)


def test_a_whole_category_and_nothing_ticked(site: Harness) -> None:
    _, token, jar = load(site)
    saved = submit(site, [("token", token), ("c", "advertising")], jar)
    [cookie] = [c for c in saved.set_cookies if c.name == "consent_mw"]
    consent = ConsentCookieCodec(SECRET).loads(cookie.value)
    assert consent is not None and consent.choices["advertising"] is True
    assert consent.choices["analytics"] is False and consent.services == {}


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ([("c", "nothing")], 400),
        ([("s.advertising", "Hotjar")], 400),
        ([("s.advertising", "Meta"), ("token", "forged")], 403),
    ],
)
def test_bad_forms_are_refused(site: Harness, fields: list[tuple[str, str]], status: int) -> None:
    _, token, jar = load(site)
    given = dict(fields)
    result = submit(site, [("token", given.pop("token", token)), *given.items()], jar)
    assert result.status == status
    assert result.body["error"]
    assert not [c for c in result.set_cookies if c.name == "consent_mw"]


def test_the_form_needs_the_form_content_type(site: Harness) -> None:
    result: Any = site.request("POST", "/_consent/preferences", json={}, headers=ORIGIN)
    assert result.status == 415
