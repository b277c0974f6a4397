"""The consent API (``/_consent…`` and ``/.well-known/gpc.json``) through both adapters."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent_mw import MemoryStore, StoreError, StoreUnavailable
from consent_mw.core.cookies import ConsentCookieCodec
from support.harness import (
    CLIENT_IP,
    NO_JSON,
    SECRET,
    ClientFactory,
    Harness,
    Result,
    custom_policy_dict,
)
from support.user_agents import AUTOMATED, PEOPLE

SAME_ORIGIN = {"origin": "http://testserver"}
JSON_CT = "application/json; charset=utf-8"


def post(harness: Harness | ClientFactory, payload: Any, **kwargs: Any) -> Result:
    headers = {**SAME_ORIGIN, **kwargs.pop("headers", {})}
    return harness.request("POST", "/_consent", json=payload, headers=headers, **kwargs)


def consent_cookie(result: Result) -> Any:
    [cookie] = [c for c in result.set_cookies if c.name == "consent_mw"]
    return cookie


def assert_error(result: Result, status: int, code: str) -> None:
    assert result.status == status, result.body
    assert result.header("content-type") == JSON_CT
    assert result.body["error"] == code
    assert isinstance(result.body["detail"], str) and result.body["detail"]
    assert "consent_mw" not in [c.name for c in result.set_cookies]


# -- GET /_consent -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "accept_language", "locale", "title"),
    [
        ("/_consent", "ko-KR,ko;q=0.9,en;q=0.8", "ko", "개인정보 수집 선택"),
        ("/_consent", "en-GB,en;q=0.9", "en", "Your privacy choices"),
        ("/_consent", "fr-FR, ko;q=0.5, en;q=0.4", "ko", "개인정보 수집 선택"),
        ("/_consent", None, "en", "Your privacy choices"),
        ("/_consent?locale=ko", "en", "ko", "개인정보 수집 선택"),
        ("/_consent?locale=en", "ko", "en", "Your privacy choices"),
        ("/_consent?locale=xx", "ko", "ko", "개인정보 수집 선택"),
    ],
)
def test_get_state_locale(
    client: ClientFactory, path: str, accept_language: str | None, locale: str, title: str
) -> None:
    headers = {"accept-language": accept_language} if accept_language else {}
    result = client.get(path, headers=headers)
    assert result.status == 200
    assert result.header("content-type") == JSON_CT
    assert result.header("cache-control") == "no-store"
    assert "Accept-Language" in (result.header("vary") or "")
    body = result.body
    assert body["locale"] == locale
    assert body["texts"]["title"] == title
    by_id = {c["id"]: c for c in body["categories"]}
    assert (
        by_id["advertising"]["title"]
        == {"ko": "맞춤형 광고", "en": "Customised advertising"}[locale]
    )
    assert by_id["necessary"]["required"] is True


def test_get_state_of_an_undecided_visitor(client: ClientFactory) -> None:
    state = client.get("/_consent").body["state"]
    assert state["decided"] is False
    assert state["needs_prompt"] is True
    assert state["prompt_reason"] == "undecided"
    assert state["allowed"] == ["necessary"]
    assert state["consent_id"] is None
    assert state["show_banner"] is True
    assert set(state["consent_mode"].values()) == {"granted", "denied"}


@pytest.mark.parametrize(
    ("user_agent", "banner"),
    [
        ("Googlebot/2.1", False),
        (AUTOMATED["Pingdom"], False),
        (AUTOMATED["StatusCake"], False),
        (AUTOMATED["WebPageTest (PTST)"], False),
        (AUTOMATED["Feedly"], False),
        (AUTOMATED["NAVER's Yeti"], False),
        ("TLSProber/0.9", False),  # ua-parser's crawler list names it, the patterns do not
        (PEOPLE["KakaoTalk in-app, Android"], True),
        (PEOPLE["NAVER app in-app, iOS"], True),
        (PEOPLE["Cubot Note 20 Pro"], True),
    ],
)
def test_get_state_hides_banner_from_bots(
    client: ClientFactory, user_agent: str, banner: bool
) -> None:
    state = client.get("/_consent", headers={"user-agent": user_agent}).body["state"]
    assert state["show_banner"] is banner


def test_custom_policy_categories_and_processors(client: ClientFactory) -> None:
    body = client(policy="custom").get("/_consent?locale=ko").body
    chat = {c["id"]: c for c in body["categories"]}["chat"]
    assert chat["title"] == "상담 채팅"
    assert chat["processors"] == [{"name": "챗코", "purpose": "상담 채팅 운영"}]
    assert chat["retention"] == "1년"
    assert chat["cookies"] == [{"name": "chat_*", "owner": "", "lifetime": ""}]


def test_head_has_no_body(client: ClientFactory) -> None:
    get = client.get("/_consent")
    head = client.request("HEAD", "/_consent")
    assert head.status == 200
    assert head.body == ""
    assert head.header("content-type") == get.header("content-type")


# -- POST /_consent ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "action", "choices"),
    [
        (
            {"action": "accept_all"},
            "accept_all",
            {"functional": True, "analytics": True, "advertising": True},
        ),
        (
            {"action": "reject_all"},
            "reject_all",
            {"functional": False, "analytics": False, "advertising": False},
        ),
        (
            {"choices": {"analytics": True}},
            "custom",
            {"functional": False, "analytics": True, "advertising": False},
        ),
        (
            {"choices": {"necessary": True, "functional": True, "advertising": False}},
            "custom",
            {"functional": True, "analytics": False, "advertising": False},
        ),
    ],
)
def test_post_choices_saves_and_sets_cookie(
    client: ClientFactory,
    store: MemoryStore,
    payload: dict[str, Any],
    action: str,
    choices: dict[str, bool],
) -> None:
    result = post(client, payload)
    assert result.status == 200, result.body
    assert result.header("cache-control") == "no-store"
    state = result.body["state"]
    assert state["choices"] == choices
    assert state["decided"] is True

    cookie = consent_cookie(result)
    assert cookie.attrs["samesite"] == "Lax"
    assert cookie.attrs["path"] == "/"
    assert "httponly" not in cookie.flags
    assert "secure" not in cookie.flags
    assert 181 * 86400 < int(cookie.attrs["max-age"]) <= 182 * 86400
    consent = ConsentCookieCodec(SECRET).loads(cookie.value)
    assert consent is not None
    assert dict(consent.choices) == choices
    assert consent.action == action
    assert consent.id == state["consent_id"]

    [record] = store.all_records()
    assert record.record_id == result.body["record_id"]
    assert record.subject_id == consent.id
    assert record.action == action
    assert dict(record.choices) == choices
    assert record.policy_version == client.policy.version
    assert record.text_hash == client.policy.text_hash("en")
    assert record.locale == "en"
    assert record.ip == "203.0.113.0"
    assert record.ip != CLIENT_IP
    assert record.regime == "gdpr"
    assert record.source == "banner"


def test_cookie_is_secure_on_https(client: ClientFactory) -> None:
    result = post(
        client, {"action": "reject_all"}, scheme="https", headers={"origin": "https://testserver"}
    )
    assert result.status == 200
    assert "secure" in consent_cookie(result).flags


def test_cookie_secure_option_wins(client: ClientFactory) -> None:
    result = post(client(cookie_secure=True), {"action": "reject_all"})
    assert "secure" in consent_cookie(result).flags


def test_cookie_domain_option(client: ClientFactory) -> None:
    result = post(client(cookie_domain="example.com"), {"action": "reject_all"})
    assert consent_cookie(result).domain == "example.com"
    # No consent cookie came with the request: nothing to expire.
    assert [c.name for c in result.set_cookies] == ["consent_mw"]


def test_a_write_under_cookie_domain_expires_the_host_only_copy(client: ClientFactory) -> None:
    harness = client(cookie_domain="example.com")
    old = harness.token(dict.fromkeys(harness.policy.optional_ids, True))
    result = post(harness, {"action": "reject_all"}, cookies={"consent_mw": old})
    expiry, cookie = [c for c in result.set_cookies if c.name == "consent_mw"]
    # The expiry first: a browser applies Set-Cookie headers in order.
    assert expiry.is_expiry and expiry.domain is None and expiry.attrs["path"] == "/"
    assert not cookie.is_expiry and cookie.domain == "example.com"


def test_text_hash_follows_the_locale(client: ClientFactory, store: MemoryStore) -> None:
    post(client, {"action": "accept_all", "locale": "ko"})
    post(client, {"action": "accept_all"}, headers={"accept-language": "ko"})
    post(client, {"action": "accept_all"})
    hashes = [(r.locale, r.text_hash) for r in store.all_records()]
    ko, en = client.policy.text_hash("ko"), client.policy.text_hash("en")
    assert ko != en
    assert hashes == [("ko", ko), ("ko", ko), ("en", en)]


def test_returned_cookie_is_honoured_on_the_next_request(client: ClientFactory) -> None:
    token = consent_cookie(post(client, {"choices": {"analytics": True}})).value
    page = client.get("/", cookies={"consent_mw": token})
    assert page.body["allows"]["analytics"] is True
    assert page.body["allows"]["advertising"] is False
    assert "_ga" in page.kept and "_fbp" not in page.kept


def test_changing_choices_keeps_the_subject_and_builds_history(
    client: ClientFactory, store: MemoryStore
) -> None:
    first = post(client, {"action": "accept_all"})
    token = consent_cookie(first).value
    second = post(client, {"choices": {"analytics": True}}, cookies={"consent_mw": token})
    assert second.status == 200
    subject = first.body["state"]["consent_id"]
    assert second.body["state"]["consent_id"] == subject

    records = client.get("/_consent/records", cookies={"consent_mw": consent_cookie(second).value})
    assert records.status == 200
    assert records.body["subject_id"] == subject
    assert [r["action"] for r in records.body["records"]] == ["custom", "accept_all"]
    assert [r["record_id"] for r in records.body["records"]] == [
        second.body["record_id"],
        first.body["record_id"],
    ]
    assert store.counts("1")[("1", "advertising", False)] == 1
    assert ("1", "advertising", True) not in store.counts("1")


def test_records_without_consent(client: ClientFactory) -> None:
    result = client.get("/_consent/records")
    assert result.status == 200
    assert result.body == {"subject_id": None, "records": []}


def test_post_under_gpc_records_it(client: ClientFactory, store: MemoryStore) -> None:
    result = post(client, {"action": "accept_all"}, headers={"sec-gpc": "1"})
    assert result.body["state"]["choices"]["advertising"] is False
    [record] = store.all_records()
    assert record.gpc is True and record.gpc_override is False


def test_explicit_opt_in_under_gpc_is_an_override(
    client: ClientFactory, store: MemoryStore
) -> None:
    result = post(client, {"choices": {"advertising": True}}, headers={"sec-gpc": "1"})
    assert result.body["state"]["choices"]["advertising"] is True
    assert result.body["state"]["personalised_ads"] is True
    [record] = store.all_records()
    assert record.gpc is True and record.gpc_override is True


# -- DELETE /_consent ------------------------------------------------------------------------


def test_withdraw(client: ClientFactory, store: MemoryStore) -> None:
    token = consent_cookie(post(client, {"action": "accept_all"})).value
    result = client.request(
        "DELETE",
        "/_consent",
        headers={"origin": "http://www.shop.example.com"},
        cookies={"consent_mw": token, "_ga": "1", "_fbp": "2", "session": "3"},
        host="www.shop.example.com",
    )
    assert result.status == 200, result.body
    assert result.body["state"]["allowed"] == ["necessary"]
    consent = ConsentCookieCodec(SECRET).loads(consent_cookie(result).value)
    assert consent is not None and consent.action == "withdraw"
    assert not any(consent.choices.values())
    assert [r.action for r in store.all_records()] == ["accept_all", "withdraw"]
    # both changes reached the change feed, in order, with the ledger's records
    assert [c.record for c in store.changes().changes] == store.all_records()
    assert {name for name, _ in result.expired} == {"_ga", "_fbp"}
    assert ("_fbp", "shop.example.com") in result.expired
    assert result.header("cache-control") == "no-store"
    assert "Cookie" in (result.header("vary") or "")


def test_accept_all_expires_nothing_and_reject_all_expires_trackers(client: ClientFactory) -> None:
    cookies = {"_ga": "1", "_fbp": "2"}
    assert post(client, {"action": "accept_all"}, cookies=cookies).expired == set()
    rejected = post(client, {"action": "reject_all"}, cookies=cookies)
    assert {name for name, _ in rejected.expired} == {"_ga", "_fbp"}


# -- GET /.well-known/gpc.json ---------------------------------------------------------------


def test_gpc_json(client: ClientFactory) -> None:
    result = client.get("/.well-known/gpc.json")
    assert result.status == 200
    assert result.body == {"gpc": True}
    assert result.header("content-type") == "application/json"


def test_gpc_json_last_update(client: ClientFactory) -> None:
    policy = {**custom_policy_dict(), "gpc_last_update": "2026-01-15"}
    result = client(policy=policy).get("/.well-known/gpc.json")
    assert result.body == {"gpc": True, "lastUpdate": "2026-01-15"}


# -- bad input ---------------------------------------------------------------------------------

BAD_BODIES: list[tuple[str, bytes, int, str]] = [
    ("malformed JSON", b'{"action": ', 400, "malformed_json"),
    ("empty body", b"", 400, "malformed_json"),
    ("invalid UTF-8", b'{"action": "\xff"}', 400, "malformed_json"),
    ("JSON array", b"[]", 400, "invalid_body"),
    ("JSON string", b'"accept_all"', 400, "invalid_body"),
    ("JSON number", b"1", 400, "invalid_body"),
    ("JSON null", b"null", 400, "invalid_body"),
    ("neither action nor choices", b"{}", 400, "invalid_body"),
    ("only a locale", b'{"locale": "ko"}', 400, "invalid_body"),
    (
        "both action and choices",
        b'{"action": "accept_all", "choices": {"analytics": true}}',
        400,
        "invalid_body",
    ),
    ("unknown field", b'{"action": "accept_all", "extra": 1}', 400, "invalid_body"),
    ("unknown action", b'{"action": "accept"}', 400, "invalid_action"),
    ("action not a string", b'{"action": ["accept_all"]}', 400, "invalid_action"),
    ("null action", b'{"action": null}', 400, "invalid_action"),
    ("withdraw is not a POST action", b'{"action": "withdraw"}', 400, "invalid_action"),
    ("unknown category", b'{"choices": {"tracking": true}}', 400, "unknown_category"),
    ("category id case", b'{"choices": {"Analytics": true}}', 400, "unknown_category"),
    ("number as choice", b'{"choices": {"analytics": 1}}', 400, "invalid_choices"),
    ("string as choice", b'{"choices": {"analytics": "true"}}', 400, "invalid_choices"),
    ("null as choice", b'{"choices": {"analytics": null}}', 400, "invalid_choices"),
    ("choices not an object", b'{"choices": ["analytics"]}', 400, "invalid_choices"),
    ("refusing necessary", b'{"choices": {"necessary": false}}', 400, "required_category"),
    ("locale not a string", b'{"action": "accept_all", "locale": 1}', 400, "invalid_locale"),
]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [case[1:] for case in BAD_BODIES],
    ids=[case[0] for case in BAD_BODIES],
)
def test_bad_bodies(
    client: ClientFactory, store: MemoryStore, body: bytes, status: int, code: str
) -> None:
    result = client.request(
        "POST", "/_consent", body=body, content_type="application/json", headers=SAME_ORIGIN
    )
    assert_error(result, status, code)
    assert store.all_records() == []


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/json", 200),
        ("application/json; charset=utf-8", 200),
        ("Application/JSON", 200),
        ("text/plain", 415),
        ("application/x-www-form-urlencoded", 415),
        ("application/jsonp", 415),
        ("multipart/form-data; boundary=x", 415),
        (None, 415),
    ],
)
def test_content_type(client: ClientFactory, content_type: str | None, status: int) -> None:
    result = client.request(
        "POST",
        "/_consent",
        body=b'{"action": "reject_all"}',
        content_type=content_type,
        headers=SAME_ORIGIN,
    )
    if status == 200:
        assert result.status == 200, result.body
    else:
        assert_error(result, status, "unsupported_media_type")


def test_body_over_the_limit(client: ClientFactory, store: MemoryStore) -> None:
    padding = "x" * 9000
    result = client.request(
        "POST",
        "/_consent",
        body=json.dumps({"action": "accept_all", "locale": padding}).encode(),
        content_type="application/json",
        headers=SAME_ORIGIN,
    )
    assert_error(result, 413, "body_too_large")
    assert store.all_records() == []


def test_body_limit_option(client: ClientFactory) -> None:
    harness = client(max_body_size=256)
    body = json.dumps({"action": "accept_all", "locale": "k" * 300}).encode()
    result = harness.request(
        "POST", "/_consent", body=body, content_type="application/json", headers=SAME_ORIGIN
    )
    assert_error(result, 413, "body_too_large")
    result = harness.request(
        "POST",
        "/_consent",
        body=b'{"action": "accept_all"}',
        content_type="application/json",
        headers=SAME_ORIGIN,
    )
    assert result.status == 200


@pytest.mark.parametrize("method", ["POST", "DELETE"])
@pytest.mark.parametrize(
    ("headers", "options", "status"),
    [
        ({"origin": "https://evil.example"}, {}, 403),
        ({"origin": "http://testserver.evil.example"}, {}, 403),
        ({"origin": "https://testserver"}, {}, 403),  # another scheme is another origin
        ({"origin": "null"}, {}, 403),
        ({"sec-fetch-site": "cross-site"}, {}, 403),
        ({"sec-fetch-site": "same-site"}, {}, 403),
        ({"sec-fetch-site": "cross-site", "origin": "http://testserver"}, {}, 403),
        ({"origin": "http://testserver"}, {}, 200),
        ({"sec-fetch-site": "same-origin"}, {}, 200),
        ({"sec-fetch-site": "none"}, {}, 200),
        ({}, {}, 200),
        (
            {"origin": "https://app.example.com"},
            {"allowed_origins": ["https://app.example.com"]},
            200,
        ),
        (
            {"origin": "https://other.example.com"},
            {"allowed_origins": ["https://app.example.com"]},
            403,
        ),
    ],
)
def test_cross_site(
    client: ClientFactory,
    method: str,
    headers: dict[str, str],
    options: dict[str, Any],
    status: int,
) -> None:
    harness = client(**options)
    json_body = {"action": "accept_all"} if method == "POST" else NO_JSON
    result = harness.request(method, "/_consent", headers=headers, json=json_body)
    if status == 200:
        assert result.status == 200, result.body
        assert harness.store.all_records()
    else:
        assert_error(result, 403, "cross_site")
        assert harness.store.all_records() == []


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/_consent", "DELETE, GET, POST"),
        ("PATCH", "/_consent", "DELETE, GET, POST"),
        ("POST", "/_consent/records", "DELETE, GET"),
        ("PUT", "/_consent/records", "DELETE, GET"),
        ("GET", "/_consent/withdraw", "POST"),
        ("GET", "/_consent/records/delete", "POST"),
        ("POST", "/.well-known/gpc.json", "GET"),
    ],
)
def test_wrong_method(client: ClientFactory, method: str, path: str, allow: str) -> None:
    result = client.request(method, path, headers=SAME_ORIGIN)
    assert_error(result, 405, "method_not_allowed")
    assert result.header("allow") == allow


@pytest.mark.parametrize("path", ["/_consent/", "/_consent/nope", "/_consent/records/x"])
def test_unknown_sub_path(client: ClientFactory, path: str) -> None:
    assert_error(client.get(path), 404, "not_found")


def test_paths_that_only_look_like_the_prefix_reach_the_app(client: ClientFactory) -> None:
    assert client.get("/_consentx").status == 404
    assert client.get("/_consentx").header("content-type") != JSON_CT


def test_custom_prefix(client: ClientFactory) -> None:
    harness = client(prefix="/privacy/consent")
    assert harness.get("/privacy/consent").status == 200
    assert harness.get("/_consent").header("content-type") != JSON_CT


# -- the ledger is down ----------------------------------------------------------------------


class DownStore(MemoryStore):
    def __init__(self, error: type[StoreError] = StoreUnavailable) -> None:
        super().__init__()
        self.error = error

    def append(self, record: Any) -> None:
        raise self.error("ledger down")

    def history(self, subject_id: str, *, limit: int = 100) -> list[Any]:
        raise self.error("ledger down")


@pytest.mark.parametrize("error", [StoreUnavailable, StoreError])
@pytest.mark.parametrize(
    ("method", "payload"),
    [("POST", {"action": "accept_all"}), ("POST", {"choices": {}}), ("DELETE", NO_JSON)],
)
def test_store_down(
    client: ClientFactory, error: type[StoreError], method: str, payload: Any
) -> None:
    harness = client(store=DownStore(error))
    result = harness.request(
        method, "/_consent", json=payload, headers=SAME_ORIGIN, cookies={"_ga": "1"}
    )
    assert_error(result, 503, "ledger_unavailable")
    assert result.header("retry-after") == "5"
    assert [c.name for c in result.set_cookies if not c.is_expiry] == []


def test_records_store_down(client: ClientFactory) -> None:
    token = client.token({"analytics": True})
    result = client(store=DownStore()).get("/_consent/records", cookies={"consent_mw": token})
    assert_error(result, 503, "ledger_unavailable")
    assert result.header("retry-after") == "5"


def test_pages_work_while_the_store_is_down(client: ClientFactory) -> None:
    result = client(store=DownStore()).get("/")
    assert result.status == 200


# -- never a 500 --------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
PAYLOADS = JSON_VALUES | st.fixed_dictionaries(
    {},
    optional={
        "action": JSON_VALUES | st.sampled_from(["accept_all", "reject_all"]),
        "choices": st.dictionaries(
            st.sampled_from(["necessary", "functional", "analytics", "advertising", "x"]),
            JSON_VALUES | st.booleans(),
        ),
        "locale": JSON_VALUES | st.sampled_from(["ko", "en", "xx"]),
    },
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=PAYLOADS)
def test_any_json_gives_200_or_a_json_4xx(client: ClientFactory, payload: Any) -> None:
    result = post(client, payload)
    assert result.status in (200, 400), result.body
    assert result.header("content-type") == JSON_CT
    if result.status == 400:
        assert "consent_mw" not in [c.name for c in result.set_cookies]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.binary(max_size=64))
def test_any_bytes_give_200_or_a_json_4xx(client: ClientFactory, body: bytes) -> None:
    result = client.request(
        "POST", "/_consent", body=body, content_type="application/json", headers=SAME_ORIGIN
    )
    assert result.status in (200, 400), result.body
    assert result.header("content-type") == JSON_CT


@pytest.mark.parametrize(("trust", "ip"), [(False, "203.0.113.0"), (True, "198.51.100.0")])
def test_forwarded_for_only_when_trusted(client: ClientFactory, trust: bool, ip: str) -> None:
    harness = client(trust_forwarded=trust)
    headers = {"x-forwarded-for": "198.51.100.7, 10.0.0.1"}
    assert post(harness, {"action": "reject_all"}, headers=headers).status == 200
    [record] = harness.store.all_records()
    assert record.ip == ip


def test_record_carries_country_regime_and_user_agent(client: ClientFactory) -> None:
    harness = client(country="KR")
    headers = {"user-agent": "Mozilla/5.0 (X11)\x7f"}
    result = post(harness, {"action": "accept_all"}, headers=headers)
    assert result.body["state"]["regime"] == "pipa"
    [record] = harness.store.all_records()
    assert (record.country, record.regime) == ("KR", "pipa")
    assert record.user_agent == "Mozilla/5.0 (X11)"
    # PIPA's default lifetime applies to the cookie.
    assert 364 * 86400 < int(consent_cookie(result).attrs["max-age"]) <= 365 * 86400
