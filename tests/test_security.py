"""Security review as tests, through both adapters where the behaviour is the adapter's.

Covers (see SECURITY.md for the threat model): forged, tampered, downgraded and
foreign consent cookies and key rotation; CSRF on the JSON API and the no-JS forms
(Origin, Sec-Fetch-Site, form token missing/forged/expired/of another visitor); open
redirects; XSS through policy texts, query parameters, the CSP nonce and the notice;
header injection through cookie names; the constant-time comparison on the
verification path; and no personal data in log records.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import time
from dataclasses import replace
from typing import Any

import pytest
from itsdangerous import TimestampSigner
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from consent_mw import ConsentMiddleware, MemoryStore, Policy, StoreError, WSGIConsentMiddleware
from consent_mw.core.consent import Consent
from consent_mw.core.cookies import ConsentCookieCodec
from consent_mw.web.pages import FORM_SALT, cookie_subject
from support.harness import (
    CLIENT_IP,
    OTHER_SECRET,
    SECRET,
    ASGIHarness,
    ClientFactory,
    WSGIHarness,
    build_asgi,
    custom_policy_dict,
    http_scope,
    run_asgi,
)

POLICY = Policy.preset("gdpr")
XSS = "<script>alert(1)</script>"
ATTR_XSS = '"><img src=x onerror=alert(1)>'


def signed(consent: Consent, secret: Any = SECRET) -> str:
    return ConsentCookieCodec(secret).dumps(consent)


def analytics_cookie(policy: Policy = POLICY, secret: Any = SECRET, **kw: Any) -> str:
    return signed(Consent.create(policy, {"analytics": True}, action="custom", **kw), secret)


def state(client: Any, cookie: str | None) -> dict[str, Any]:
    result = client.get("/_consent", cookies={"consent_mw": cookie} if cookie else None)
    assert result.status == 200
    return result.body["state"]


# -- forged, tampered, downgraded, foreign cookies ------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _payload(cookie: str) -> dict[str, Any]:
    text = cookie.rpartition(".")[0]
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def test_a_genuine_cookie_is_honoured(client: ClientFactory) -> None:
    assert "analytics" in state(client, analytics_cookie())["allowed"]
    assert "_ga" in client.get("/", cookies={"consent_mw": analytics_cookie()}).kept


def tampered_cookies() -> dict[str, str]:
    good = analytics_cookie()
    payload, _, signature = good.rpartition(".")
    data = _payload(good)
    upgraded = {**data, "c": {k: 1 for k in data["c"]}}
    raw_sig = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    return {
        "payload changed, signature kept": _b64(json.dumps(upgraded).encode()) + "." + signature,
        "one payload byte flipped": payload[:-1]
        + ("A" if payload[-1] != "A" else "B")
        + "."
        + signature,
        "signature truncated": payload + "." + signature[:-4],
        "signature empty": payload + ".",
        "signature of zeros": payload + "." + _b64(bytes(32)),
        "signature bit flipped": payload + "." + _b64(bytes([raw_sig[0] ^ 1]) + raw_sig[1:]),
        "unsigned JSON": _b64(json.dumps(upgraded).encode()),
        "plain SHA-256 of the payload": payload
        + "."
        + _b64(hashlib.sha256(payload.encode()).digest()),
        "HMAC with the raw key, no derivation": payload
        + "."
        + _b64(hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).digest()),
        "signed with another site's key": analytics_cookie(secret=OTHER_SECRET),
        "signed with an empty-ish key": signed(
            Consent.create(POLICY, {"analytics": True}, action="custom"), "x" * 16
        ),
    }


@pytest.mark.parametrize("kind", list(tampered_cookies()))
def test_forged_or_tampered_cookies_mean_undecided(client: ClientFactory, kind: str) -> None:
    cookie = tampered_cookies()[kind]
    got = state(client, cookie)
    assert got["decided"] is False and got["allowed"] == ["necessary"], kind
    assert got["consent_id"] is None
    result = client.get("/", cookies={"consent_mw": cookie})
    assert result.status == 200
    assert "_ga" not in result.kept and "_fbp" not in result.kept


def test_a_cookie_for_an_older_policy_version_is_a_downgrade_that_asks_again(
    client: ClientFactory,
) -> None:
    policy = Policy.from_dict(custom_policy_dict())  # version "3", compatible with "2"
    harness = client(policy="custom")
    everything = {c: True for c in policy.optional_ids}
    current = Consent.create(policy, everything, action="accept_all")
    compatible = replace(current, policy_version="2")
    old = replace(current, policy_version="1")
    future = replace(current, policy_version="4")
    assert "chat" in state(harness, signed(current))["allowed"]
    assert "chat" in state(harness, signed(compatible))["allowed"]
    for outdated in (old, future):
        got = state(harness, signed(outdated))
        assert got["prompt_reason"] == "policy_changed"
        assert got["allowed"] == ["necessary"]  # pipa: opt-in, nothing optional survives
        result = harness.get("/", cookies={"consent_mw": signed(outdated)})
        assert "chat_id" not in result.kept and "_ga" not in result.kept


def test_an_expired_cookie_and_one_from_the_future(client: ClientFactory) -> None:
    now = int(time.time())
    expired = Consent.create(POLICY, {"analytics": True}, action="custom", now=now - 800 * 86400)
    future = Consent.create(POLICY, {"analytics": True}, action="custom", now=now + 3600)
    for consent in (expired, future):
        assert "analytics" not in state(client, signed(consent))["allowed"]


def test_key_rotation_old_key_verifies_new_key_signs_retired_key_fails(
    client: ClientFactory,
) -> None:
    old_cookie = analytics_cookie(secret=SECRET)
    rotated = client(secret_key=[OTHER_SECRET, SECRET])
    assert "analytics" in state(rotated, old_cookie)["allowed"]
    # The next save is signed with the new (first) key only.
    result = rotated.request(
        "POST",
        "/_consent",
        json={"choices": {"analytics": True}},
        cookies={"consent_mw": old_cookie},
    )
    assert result.status == 200
    new_cookie = next(c.value for c in result.set_cookies if c.name == "consent_mw")
    assert ConsentCookieCodec(OTHER_SECRET).loads(new_cookie) is not None
    assert ConsentCookieCodec(SECRET).loads(new_cookie) is None
    assert _payload(new_cookie)["i"] == _payload(old_cookie)["i"]  # same subject
    # The old key retired: its cookies are undecided now, the new ones still hold.
    retired = client(secret_key=[OTHER_SECRET])
    assert state(retired, old_cookie)["decided"] is False
    assert "analytics" in state(retired, new_cookie)["allowed"]


def test_signature_check_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Behaviour where it can be observed, the code path where it cannot: every
    verification of a value not seen before goes through ``hmac.compare_digest``."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    codec = ConsentCookieCodec([OTHER_SECRET, SECRET])
    good = analytics_cookie()
    assert codec.loads(good) is not None
    assert len(calls) == 2  # tried the first key, matched the second
    calls.clear()
    forged = tampered_cookies()["signature bit flipped"]
    assert codec.loads(forged) is None
    assert len(calls) == 2 and all(len(a) == len(b) == 32 for a, b in calls)
    # The short-signature case is still a compare_digest call, never '=='.
    calls.clear()
    assert codec.loads(tampered_cookies()["signature truncated"]) is None
    assert len(calls) == 2


# -- CSRF: the JSON API ---------------------------------------------------------------------

CROSS_SITE = [
    {"origin": "https://evil.example"},
    {"origin": "http://testserver.evil.example"},
    {"origin": "http://evil.example/http://testserver"},
    {"origin": "null"},
    {"origin": "https://testserver"},  # other scheme, same host: another origin
    {"sec-fetch-site": "cross-site"},
    {"sec-fetch-site": "same-site"},
    {"sec-fetch-site": "cross-site", "origin": "http://testserver"},
]


@pytest.mark.parametrize("headers", CROSS_SITE)
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/_consent", {"action": "accept_all"}),
        ("DELETE", "/_consent", None),
        ("DELETE", "/_consent/records", None),
    ],
)
def test_cross_site_requests_cannot_change_consent(
    client: ClientFactory, headers: dict[str, str], method: str, path: str, body: Any
) -> None:
    cookie = analytics_cookie()
    kwargs: dict[str, Any] = {"headers": headers, "cookies": {"consent_mw": cookie}}
    if body is not None:
        kwargs["json"] = body
    result = client.request(method, path, **kwargs)
    assert result.status == 403 and result.body["error"] == "cross_site"
    assert not result.set_cookies
    assert client.store.history(_payload(cookie)["i"]) == []


def test_same_origin_and_allowed_origins_pass(client: ClientFactory) -> None:
    for headers in ({"origin": "http://testserver"}, {"sec-fetch-site": "same-origin"}, {}):
        result = client.request("POST", "/_consent", json={"action": "reject_all"}, headers=headers)
        assert result.status == 200, headers
    partner = client(allowed_origins=("https://shop.example",))
    result = partner.request(
        "POST",
        "/_consent",
        json={"action": "reject_all"},
        headers={"origin": "https://shop.example"},
    )
    assert result.status == 200


def test_a_text_plain_simple_request_is_refused(client: ClientFactory) -> None:
    """A cross-site <form enctype=text/plain> can forge a JSON-looking body without a
    preflight; the API demands application/json (which needs a CORS preflight)."""
    body = b'{"action":"accept_all","x":"="}'
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        result = client.request("POST", "/_consent", body=body, content_type=ctype)
        assert result.status == 415, ctype


# -- CSRF: the no-JavaScript forms ----------------------------------------------------------

FORM = "application/x-www-form-urlencoded"
FORMS = [
    ("/_consent/ads", "advertising=on"),
    ("/_consent/withdraw", ""),
    ("/_consent/records/delete", ""),
]


def page_token(client: Any, cookie: str | None, page: str = "/_consent/ads") -> str:
    result = client.get(
        page,
        headers={"accept": "text/html"},
        cookies={"consent_mw": cookie} if cookie else None,
    )
    assert result.status == 200
    match = re.search(r'name="token" value="([^"]+)"', result.body)
    assert match, result.body[:300]
    return match.group(1).replace("&amp;", "&")


def post_form(client: Any, path: str, fields: str, cookie: str | None, **headers: str) -> Any:
    harness = getattr(client, "default", client)
    if isinstance(harness, ASGIHarness):
        harness.client.follow_redirects = False  # see the 303 itself
    return harness.request(
        "POST",
        path,
        body=fields.encode(),
        content_type=FORM,
        headers=headers,
        cookies={"consent_mw": cookie} if cookie else None,
    )


def expired_token(subject: str) -> str:
    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 3601

    return (
        Past(SECRET, salt=FORM_SALT + b"consent", digest_method=hashlib.sha256)
        .sign(subject.encode())
        .decode()
    )


@pytest.mark.parametrize(("path", "fields"), FORMS)
def test_form_posts_need_this_visitors_fresh_token(
    client: ClientFactory, path: str, fields: str
) -> None:
    mine, theirs = analytics_cookie(), analytics_cookie()
    subject = _payload(mine)["i"]
    bound = cookie_subject(mine)
    token = page_token(client, mine)
    sep = "&" if fields else ""
    forged = TimestampSigner(
        OTHER_SECRET, salt=FORM_SALT + b"consent", digest_method=hashlib.sha256
    )
    bad = {
        "missing": fields,
        "empty": f"{fields}{sep}token=",
        "garbage": f"{fields}{sep}token=abc.def.ghi",
        "another site's key": f"{fields}{sep}token={forged.sign(bound.encode()).decode()}",
        "expired": f"{fields}{sep}token={expired_token(bound)}",
        "another visitor's": f"{fields}{sep}token={page_token(client, theirs)}",
        "a cookieless visitor's": f"{fields}{sep}token={page_token(client, None)}",
    }
    for kind, body in bad.items():
        result = post_form(client, path, body, mine)
        assert result.status == 403, kind
        assert result.body["error"] == "invalid_form_token", kind
        assert not result.set_cookies, kind
    assert client.store.history(subject) == []
    # A cross-site post with a valid token is refused by the Origin check all the same.
    good = f"{fields}{sep}token={token}"
    result = post_form(client, path, good, mine, origin="https://evil.example")
    assert result.status == 403 and result.body["error"] == "cross_site"
    result = post_form(client, path, good, mine, **{"sec-fetch-site": "cross-site"})
    assert result.status == 403 and result.body["error"] == "cross_site"
    # And the genuine form works.
    result = post_form(client, path, good, mine, origin="http://testserver")
    assert result.status == 303


def test_a_cookieless_visitors_token_does_not_work_for_another_cookieless_visitor(
    client: ClientFactory,
) -> None:
    attackers_token = page_token(client, None)  # fetched by the attacker from the site
    result = post_form(client, "/_consent/ads", f"advertising=on&token={attackers_token}", None)
    assert result.status == 403


# -- open redirects ------------------------------------------------------------------------

EVIL_LOCALES = [
    "//evil.example",
    "https://evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "en%0d%0aLocation:%20https://evil.example",
    "en\r\nLocation: https://evil.example",
    "ko#@evil.example",
    "javascript:alert(1)",
]


@pytest.mark.parametrize(("path", "fields"), FORMS)
def test_form_posts_redirect_only_to_fixed_local_pages(
    client: ClientFactory, path: str, fields: str
) -> None:
    cookie = analytics_cookie()
    token = page_token(client, cookie)
    for evil in EVIL_LOCALES:
        from urllib.parse import quote

        body = "&".join(
            x
            for x in (
                fields,
                f"token={quote(token)}",
                f"locale={quote(evil)}",
                "next=https%3A%2F%2Fevil.example",
                "redirect=%2F%2Fevil.example",
                "return_to=//evil.example",
            )
            if x
        )
        query = "?next=//evil.example&redirect_uri=https://evil.example&locale=" + quote(evil)
        result = post_form(client, path + query, body, cookie)
        assert result.status == 303, evil
        location = result.header("location")
        assert location is not None
        assert re.fullmatch(r"/_consent/(ads|policy|records)\?[a-z0-9=&]*(#rights)?", location), (
            evil,
            location,
        )
        assert "evil" not in location and "\r" not in location and "\n" not in location


# -- XSS -------------------------------------------------------------------------------------


def hostile_policy() -> dict[str, Any]:
    data = custom_policy_dict()
    for category in data["categories"]:
        category["title"] = {"ko": XSS, "en": XSS + ATTR_XSS}
        category["description"] = {"ko": ATTR_XSS, "en": XSS}
    data["processors"][0]["name"] = {"ko": XSS, "en": XSS}
    data["processors"][0]["purpose"] = {"ko": ATTR_XSS, "en": XSS}
    return data


def assert_no_markup_injection(text: str, where: str) -> None:
    assert "<script>alert(1)" not in text, where
    assert "<img src=x onerror" not in text, where
    assert "onerror=alert(1)>" not in text or "&gt;" in text, where


def test_hostile_policy_texts_and_locales_are_escaped_on_every_page(client: ClientFactory) -> None:
    harness = client(policy=hostile_policy())
    cookie = signed(Consent.create(harness.policy, {"chat": True}, action="custom"))
    html = {"accept": "text/html"}
    for path in (
        "/_consent/policy?locale=en",
        "/_consent/policy?locale=%3Cscript%3Ealert(1)%3C/script%3E",
        "/_consent/policy?format=markdown&locale=en",
        "/_consent/ads?locale=en",
        "/_consent/ads?locale=%22%3E%3Cscript%3Ealert(1)%3C/script%3E&saved=%3Cscript%3E",
        "/_consent/records?locale=%3Cscript%3E",
    ):
        result = harness.get(path, headers=html, cookies={"consent_mw": cookie})
        assert result.status == 200, path
        body = result.body if isinstance(result.body, str) else json.dumps(result.body)
        if "markdown" not in path:
            assert_no_markup_injection(body, path)
            assert "default-src 'none'" in (result.header("content-security-policy") or "")
    # JSON answers carry the texts as data (the banner inserts them with textContent).
    result = harness.get("/_consent?locale=%3Cscript%3E", cookies={"consent_mw": cookie})
    assert result.status == 200 and result.body["locale"] in ("ko", "en")
    assert result.header("content-type").startswith("application/json")


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_injected_snippets_escape_the_nonce_and_never_echo_the_query(kind: str) -> None:
    page = (
        "<!doctype html><html><head><title>t</title></head><body>"
        '<script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script></body></html>'
    )
    nonce = 'n"><script>alert(1)</script>'

    async def asgi_page(request: Any) -> HTMLResponse:
        request.state.csp_nonce = nonce
        return HTMLResponse(page)

    def wsgi_page(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        environ["csp_nonce"] = nonce
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [page.encode()]

    options = {
        "policy": hostile_policy(),
        "secret_key": SECRET,
        "store": MemoryStore(),
        "csp_nonce": "csp_nonce",
    }
    harness: Any
    if kind == "asgi":
        harness = ASGIHarness(
            ConsentMiddleware(Starlette(routes=[Route("/", asgi_page)]), **options)
        )
    else:
        harness = WSGIHarness(WSGIConsentMiddleware(wsgi_page, **options))
    result = harness.get("/?locale=%3Cscript%3Ealert(2)%3C/script%3E&x=%22%3E%3Cb%3E")
    assert result.status == 200
    body = result.body
    assert "gtag('consent','default'" in body  # the injection happened
    assert "<script>alert(1)" not in body and "alert(2)" not in body and '"><b>' not in body
    assert 'nonce="n&quot;&gt;&lt;script&gt;' in body


# -- header injection ----------------------------------------------------------------------

CRLF_COOKIES = [
    "_ga_x\r\nSet-Cookie: evil=1",
    "_ga_x\nX-Injected: 1",
    "_ga_x\rX-Injected: 1",
    "_ga_x\tX\x0bY\x0c",
    "_fbp\x00x",
    "_ga_\x7f\x00",
]


@pytest.mark.parametrize("name", CRLF_COOKIES)
def test_request_cookie_names_never_reach_response_headers_with_control_characters(
    name: str,
) -> None:
    """Refused tracker cookies are expired by name; a name that would break the header
    must not be echoed. (HTTP/1.1 servers reject CR/LF in requests; this is the
    middleware's own guard, through a hand-made ASGI scope.)"""
    app = ConsentMiddleware(
        Starlette(routes=[Route("/", lambda r: HTMLResponse("ok"))]),
        policy="gdpr",
        secret_key=SECRET,
        store=MemoryStore(),
    )
    scope = http_scope("/", headers=[("cookie", "a=1")])
    scope["headers"].append((b"cookie", f"{name}=GA1.1.1".encode("latin-1")))
    call = run_asgi(app, scope)
    start = call.of_type("http.response.start")[0]
    for header_name, value in start["headers"]:
        assert not re.search(rb"[\r\n\x00]", header_name + value), (header_name, value)


@pytest.mark.parametrize(
    "value",
    ["evil\r\nX-Injected: 1=v; Path=/", "_ga=1\r\nX-Injected: 1", "_fbp=1\nX: y", "_ga_\r\n=1"],
)
def test_app_set_cookie_values_with_crlf_are_not_made_worse(value: str) -> None:
    """The middleware only removes or keeps the app's Set-Cookie values; it never builds
    a new header out of one (the server rejects CR/LF in what the app sends)."""

    async def page(request: Any) -> HTMLResponse:
        response = HTMLResponse("ok")
        response.raw_headers.append((b"set-cookie", value.encode("latin-1")))
        return response

    app = ConsentMiddleware(
        Starlette(routes=[Route("/", page)]), policy="gdpr", secret_key=SECRET, store=MemoryStore()
    )
    call = run_asgi(app, http_scope("/"))
    start = call.of_type("http.response.start")[0]
    with_ctl = [v for n, v in start["headers"] if re.search(rb"[\r\n]", n + v)]
    assert with_ctl in ([], [value.encode("latin-1")])


def test_origin_with_crlf_is_refused_and_not_reflected_in_headers(client: ClientFactory) -> None:
    if isinstance(client.default, WSGIHarness):
        pytest.skip("WebOb refuses CR/LF in request headers itself")
    app = client.default.middleware
    scope = http_scope(
        "/_consent",
        method="POST",
        headers=[("content-type", "application/json"), ("origin", "https://e\r\nX-Injected: 1")],
    )
    body = json.dumps({"action": "accept_all"}).encode()
    call = run_asgi(app, scope, [{"type": "http.request", "body": body, "more_body": False}])
    start = call.of_type("http.response.start")[0]
    assert start["status"] == 403
    assert all(b"x-injected" not in n.lower() and b"\r" not in v for n, v in start["headers"])


# -- no personal data in logs -------------------------------------------------------------


class DownStore(MemoryStore):
    def record_events(self, events: Any) -> None:
        raise StoreError("ledger down for the test")


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_no_personal_data_in_log_records(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret_ua = "Mozilla/5.0 (PersonalUA-7f3a; Linux)"
    ip = CLIENT_IP
    store = DownStore()
    options = {
        "policy": "gdpr",
        "secret_key": SECRET,
        "store": store,
        "record_requests": True,
        "device_id_cookie": "did",
        "trust_forwarded": True,
    }
    harness: Any
    if kind == "asgi":
        from support.harness import build_asgi

        harness = ASGIHarness(build_asgi(**options))
    else:
        from support.harness import build_wsgi

        harness = WSGIHarness(build_wsgi(**options))
    cookie = signed(
        Consent.create(POLICY, {"analytics": True, "advertising": True}, action="accept_all")
    )
    subject = _payload(cookie)["i"]
    cookies = {"consent_mw": cookie, "did": "device-7f3a9c", "_ga": "GA1.1.987654.321"}
    headers = {
        "user-agent": secret_ua,
        "x-forwarded-for": "198.51.100.77",
        "cookie": "",
        "referer": "https://mail.example/?email=someone@example.org",
    }
    headers.pop("cookie")
    for path in ("/", "/plain?gclid=CLICK123&email=someone@example.org", "/stream"):
        assert harness.get(path, headers=headers, cookies=cookies).status == 200
    harness.request(
        "POST", "/_consent", json={"action": "reject_all"}, headers=headers, cookies=cookies
    )
    harness.middleware.recorder.flush()  # the ledger is down: the recorder logs a warning
    harness.middleware.recorder.close()
    assert harness.middleware.recorder.failures >= 1
    # The test clients log their own requests (httpx: the URL); those are not ours.
    ours = [r for r in caplog.records if not r.name.startswith(("httpx", "asyncio", "webtest"))]
    text = "\n".join(
        f"{r.name} {r.getMessage()} {r.args!r} {getattr(r, 'exc_text', '')}" for r in ours
    )
    assert any(r.name.startswith("consent_mw") for r in ours), "expected the recorder's warning"
    for personal in (
        ip,
        "198.51.100",
        "203.0.113",
        secret_ua,
        "PersonalUA",
        cookie,
        subject,
        "device-7f3a9c",
        "GA1.1.987654",
        "CLICK123",
        "someone@example.org",
    ):
        assert personal not in text, personal


@pytest.mark.parametrize("declared", ["²", "١٢", "1e3", "-5"])
def test_a_content_length_that_is_not_ascii_digits_is_never_a_500(declared: str) -> None:
    # "²".isdigit() is True but int("²") fails: the length is ignored, the body is read.
    app = build_asgi(policy=Policy.preset("gdpr"), secret_key=SECRET, store=MemoryStore())
    scope = http_scope("/_consent", method="POST", headers=[("content-type", "application/json")])
    scope["headers"].append((b"content-length", declared.encode("utf-8")))
    call = run_asgi(app, scope, [{"type": "http.request", "body": b'{"action": "reject_all"}'}])
    (start,) = call.of_type("http.response.start")
    assert start["status"] < 500
