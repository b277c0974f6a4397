"""Consent per service through both adapters: the consent API, Set-Cookie filtering,
the app's Cookie header, the HTML rewriter, the CSP and the ledger counters."""

from __future__ import annotations

from typing import Any

import pytest

from consent_mw import MemoryStore, Policy
from support.harness import ClientFactory, consent_token
from support.html_apps import KAKAO, META_INLINE, html
from support.html_apps import build as build_html
from support.services import POLICY_DICT

POLICY = Policy.from_dict(POLICY_DICT)
ORIGIN = {"origin": "http://testserver"}


@pytest.fixture
def site(client: ClientFactory) -> Any:
    return client(policy=POLICY_DICT)


def token(choices: dict[str, Any]) -> str:
    return consent_token(POLICY, choices)


def test_post_and_get_per_service(site: Any) -> None:
    body = {"choices": {"analytics": True, "advertising": {"Meta": True, "TikTok": False}}}
    saved = site.request("POST", "/_consent", json=body, headers=ORIGIN)
    assert saved.status == 200, saved.body
    state = saved.body["state"]
    assert state["choices"]["advertising"] == {"Meta": True, "TikTok": False}
    assert state["choices"]["analytics"] is True
    assert "advertising/Meta" in state["allowed"]
    assert state["services"]["advertising"] == {"Meta": True, "Kakao": False, "TikTok": False}
    assert state["services"]["analytics"] == {"Google Analytics": True, "Hotjar": True}
    # the consent cookie carries it: the next GET shows the same choice
    cookie = next(v for n, v in saved.headers if n == "set-cookie" and v.startswith("consent_mw="))
    value = cookie.partition("=")[2].partition(";")[0]
    got = site.get("/_consent?locale=en", cookies={"consent_mw": value})
    assert got.body["state"]["choices"]["advertising"] == {"Meta": True, "TikTok": False}
    advertising = next(c for c in got.body["categories"] if c["id"] == "advertising")
    meta = advertising["services"][0]
    assert meta["name"] == "Meta" and meta["purpose"] == "Ads on Facebook and Instagram"
    assert meta["retention"] == "6 months"
    assert meta["cookies"] == [{"name": "_fbp", "lifetime": "3 months"}]
    # the proof names the services
    record = site.store.current(state["consent_id"])
    assert record.services == {"advertising": {"Meta": True, "TikTok": False}}
    assert record.allows("advertising", "Meta") and not record.allows("advertising", "TikTok")
    counts = site.store.counts()
    assert counts[("1", "advertising/Meta", True)] == 1
    assert counts[("1", "advertising/TikTok", False)] == 1


def test_a_registry_owner_is_accepted_and_an_alias_becomes_the_service(client: Any) -> None:
    site = client(
        policy={
            **POLICY_DICT,
            "categories": [
                *POLICY_DICT["categories"][:2],
                {
                    **POLICY_DICT["categories"][2],
                    "services": [{"name": "Google", "owners": ["Google Ads / DoubleClick"]}],
                },
            ],
        }
    )
    body = {"choices": {"advertising": {"Criteo": True, "Google Ads / DoubleClick": True}}}
    saved = site.request("POST", "/_consent", json=body, headers=ORIGIN)
    assert saved.status == 200, saved.body
    assert saved.body["state"]["choices"]["advertising"] == {"Criteo": True, "Google": True}


@pytest.mark.parametrize(
    ("choices", "code"),
    [
        ({"advertising": {"Meta": 1}}, "invalid_choices"),
        ({"advertising": {"Nobody Ltd": True}}, "unknown_service"),
        ({"advertising": {"Hotjar": True}}, "unknown_service"),  # an analytics vendor
        ({"advertising": {f"S{i}": True for i in range(33)}}, "too_many_services"),
        ({"advertising": ["Meta"]}, "invalid_choices"),
        ({"necessary": {"Meta": True}}, "invalid_choices"),
        ({"nothing": {"Meta": True}}, "unknown_category"),
    ],
)
def test_bad_per_service_choices_are_a_clear_400(site: Any, choices: Any, code: str) -> None:
    result = site.request("POST", "/_consent", json={"choices": choices}, headers=ORIGIN)
    assert result.status == 400
    assert result.body["error"] == code, result.body
    assert site.store.counts() == {}


@pytest.mark.parametrize(
    ("choices", "kept"),
    [
        ({"advertising": {"Meta": True}}, ["_fbp"]),
        ({"advertising": {"TikTok": True}}, []),
        ({"advertising": True}, ["_fbp"]),
        ({"advertising": False}, []),
    ],
)
def test_set_cookie_filtering_per_service(site: Any, choices: Any, kept: list[str]) -> None:
    result = site.get(
        "/read?set-cookie=_fbp%3Dfb.1.2%3B+Path%3D%2F", cookies={"consent_mw": token(choices)}
    )
    assert result.kept == kept


def test_the_app_sees_only_cookies_of_allowed_services(site: Any) -> None:
    cookies = {"consent_mw": token({"advertising": {"Meta": True}}), "_fbp": "1", "_ttp": "2"}
    result = site.get("/", cookies=cookies)
    seen = result.body["cookie"] or ""
    assert "_fbp=1" in seen and "_ttp" not in seen
    expired = [v for n, v in result.headers if n == "set-cookie" and v.startswith("_ttp=;")]
    assert expired


def test_gpc_refuses_services_chosen_before(site: Any) -> None:
    cookies = {"consent_mw": token({"advertising": {"Meta": True}})}
    result = site.get("/read?set-cookie=_fbp%3D1", cookies=cookies, headers={"sec-gpc": "1"})
    assert result.kept == []


@pytest.fixture(params=["asgi", "wsgi"])
def adapter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_rewriter_keeps_only_allowed_services(adapter: str) -> None:
    page = b"<html><head></head><body>" + META_INLINE + KAKAO + b"</body></html>"
    harness = build_html(adapter, lambda r: html(page), policy=POLICY_DICT, csp="enforce")
    result = harness.get("/", cookies={"consent_mw": token({"advertising": {"Meta": True}})})
    text = result.raw.decode()
    assert "fbq('init'" in text and "fbevents.js" in text
    assert '<script type="text/javascript" charset="UTF-8" src="//t1.daumcdn.net' not in text
    assert 'data-consent-category="advertising" data-consent-service="Kakao"' in text
    csp = result.header("content-security-policy") or ""
    assert "connect.facebook.net" in csp and "daumcdn.net" not in csp
    refused = harness.get("/", cookies={"consent_mw": token({"advertising": {"Kakao": True}})})
    text = refused.raw.decode()
    assert 'data-consent-category="advertising" data-consent-service="Meta"' in text
    assert "//t1.daumcdn.net/kas/static/kp.js" in text
    whole = harness.get("/", cookies={"consent_mw": token({"advertising": True})})
    assert "data-consent-category" not in whole.raw.decode().partition("</head>")[2]


def test_consent_mode_default_follows_google_service(adapter: str) -> None:
    page = b"<html><head></head><body></body></html>"
    harness = build_html(adapter, lambda r: html(page), policy=POLICY_DICT)
    google = harness.get(
        "/", cookies={"consent_mw": token({"analytics": {"Google Analytics": True}})}
    )
    assert "'analytics_storage':'granted'" in google.raw.decode().replace('"', "'")
    hotjar = harness.get("/", cookies={"consent_mw": token({"analytics": {"Hotjar": True}})})
    assert "'analytics_storage':'denied'" in hotjar.raw.decode().replace('"', "'")


def test_store_counts_per_service_match_a_recount() -> None:
    store = MemoryStore()
    site = ClientFactory("asgi", {"policy": POLICY_DICT, "secret_key": "x" * 32, "store": store})()
    for body in (
        {"choices": {"advertising": {"Meta": True}}},
        {"choices": {"advertising": {"Meta": False, "Kakao": True}}},
        {"action": "accept_all"},
    ):
        assert site.request("POST", "/_consent", json=body, headers=ORIGIN).status == 200
    assert store.counts() == store.recount()


def test_the_preferences_chunk_is_named_and_served_immutable(site: Any) -> None:
    state = site.get("/_consent")
    chunk = state.body["chunk"]
    assert chunk.startswith("/_consent/banner-prefs.") and chunk.endswith(".js")
    served = site.get(chunk)
    assert served.status == 200
    assert "immutable" in (served.header("cache-control") or "")
    assert "ConsentBanner" in served.body


def test_author_marked_service_and_label_of_several_services() -> None:
    from consent_mw.html.rewrite import rewrite_html

    matcher = POLICY.matcher
    allowed = frozenset({"necessary", "advertising/Meta"})
    marked = (
        b'<html><head></head><body><script data-consent-category="advertising"'
        b' data-consent-service="Meta">fbq("track")</script>'
        b'<script data-consent-category="advertising" data-consent-service="TikTok">x()</script>'
        b"</body></html>"
    )
    out = rewrite_html(marked, matcher, allowed)
    assert b'data-consent-service="Meta">fbq("track")</script>' in out
    assert b'<script type="text/plain" data-consent-category="advertising"' in out
    # one element fetching for two services carries no service: only its category activates it
    both = (
        b'<img src="https://www.facebook.com/tr?id=1" '
        b'srcset="https://analytics.tiktok.com/p 2x" alt="">'
    )
    out = rewrite_html(both, matcher, frozenset({"necessary"}))
    assert b'data-consent-category="advertising"' in out and b"data-consent-service" not in out
    # preset policies list no services: the markup is as before
    plain = rewrite_html(both, Policy.preset("gdpr").matcher, frozenset({"necessary"}))
    assert b"data-consent-service" not in plain
