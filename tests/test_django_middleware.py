"""consent_mw.django's middleware through Django's four ways in: the test Client, the
AsyncClient, the WSGI handler and the ASGI handler (see support.django_site)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import iscoroutinefunction

from consent_mw import ConfigError, MemoryStore, StoreUnavailable
from consent_mw.core.cookies import ConsentCookieCodec
from consent_mw.stores.base import Record
from support.django_site import DJANGO_SECRET_KEY, KINDS, STREAM, TRACKER, DjangoHarness, setup

setup()

from django.test import override_settings  # noqa: E402

from consent_mw.django import ConsentMiddleware, conf  # noqa: E402

ORIGIN = {"origin": "http://testserver"}


@pytest.fixture(params=KINDS)
def dj(request: pytest.FixtureRequest) -> DjangoHarness:
    return DjangoHarness(request.param)


def consent_cookie(dj: DjangoHarness, body: dict[str, Any]) -> str:
    """The consent cookie the endpoint sets for ``body`` ("name=value")."""
    result = dj.request("POST", "/_consent", json=body, headers=ORIGIN)
    assert result.status == 200, result.body
    [cookie] = [c for c in result.set_cookies if c.name == "consent_mw"]
    return f"{cookie.name}={cookie.value}"


def test_refused_set_cookies_are_stripped_until_consent(dj: DjangoHarness) -> None:
    first = dj.get("/")
    assert first.status == 200
    assert first.kept == ["prefs"]  # _ga, _fbp (HttpOnly too) never leave the server
    assert first.body["analytics"] is False
    assert first.header("vary") == "Cookie, Sec-GPC"
    assert first.header("cache-control") == "private"
    cookie = consent_cookie(dj, {"choices": {"analytics": True}})
    second = dj.get("/", cookie=cookie)
    assert second.body["analytics"] is True
    assert second.kept == ["_ga", "prefs"]


def test_refused_cookies_are_hidden_from_the_view_and_expired(dj: DjangoHarness) -> None:
    result = dj.get("/", cookie="_ga=GA1.1.9; prefs=dark")
    assert result.body["cookies"] == ["prefs"]
    assert ("_ga", None) in result.expired
    allowed = consent_cookie(dj, {"action": "accept_all"})
    result = dj.get("/", cookie=f"_ga=GA1.1.9; {allowed}")
    assert result.body["cookies"] == ["_ga", "consent_mw"]
    assert result.expired == set()


def test_click_ids_are_hidden_without_advertising_consent(dj: DjangoHarness) -> None:
    assert dj.get("/?gclid=abc&page=2&fbclid=x").body["query"] == "page=2"
    allowed = consent_cookie(dj, {"action": "accept_all"})
    assert dj.get("/?gclid=abc&page=2", cookie=allowed).body["query"] == "gclid=abc&page=2"


def test_request_consent_is_the_decision_in_async_views_too(dj: DjangoHarness) -> None:
    result = dj.get("/async?gclid=1")
    assert result.body == {
        "analytics": False,
        "cookies": [],
        "query": "",
        "meta_is_decision": True,
    }
    assert result.kept == ["prefs"]


def tracker_state(html: str) -> str:
    assert "<p>hello</p>" in html
    if f'data-consent-src="{TRACKER}"' in html and 'type="text/plain"' in html:
        return "neutralised"
    assert f'src="{TRACKER}"' in html
    return "active"


@pytest.mark.parametrize("streamed", [False, True])
def test_trackers_are_neutralised_in_html_and_streams(dj: DjangoHarness, streamed: bool) -> None:
    path = STREAM[dj.kind] if streamed else "/page"
    refused = dj.get(path)
    assert refused.status == 200
    assert tracker_state(refused.body) == "neutralised"
    assert '<script src="/_consent/banner.' in refused.body  # its content-hashed URL
    assert refused.header("content-length") in (None, str(len(refused.body.encode())))
    allowed = dj.get(path, cookie=consent_cookie(dj, {"action": "accept_all"}))
    assert tracker_state(allowed.body) == "active"


def test_an_html_file_response_is_read_through_the_rewriter(dj: DjangoHarness) -> None:
    # Not handed to the server's sendfile (wsgi.file_wrapper), which would skip it.
    if dj.kind in ("async_client", "asgi"):
        pytest.skip("a file is a sync iterator, which Django's ASGI handler warns about")
    result = dj.get("/file")
    assert tracker_state(result.body) == "neutralised"


def test_signing_in_with_django_auth_links_the_consent_id(dj: DjangoHarness) -> None:
    store = MemoryStore()
    with override_settings(CONSENT_MW={"policy": "gdpr", "store": store}):
        post = dj.request("POST", "/_consent", json={"action": "reject_all"}, headers=ORIGIN)
        subject = post.body["state"]["consent_id"]
        user_id = dj.get("/signin", cookie=f"consent_mw={_value(post)}").body
        conf.site().recorder.flush()
        assert store.subjects_of(user_id) == [subject]


def test_a_plain_response_nobody_read_stays_as_the_view_made_it(dj: DjangoHarness) -> None:
    result = dj.get("/plain")
    assert result.body == "plain"
    assert result.header("vary") is None and result.header("cache-control") is None


def test_report_mode_counts_blocked_tags_of_plain_and_streamed_pages(dj: DjangoHarness) -> None:
    paths = ["/page", STREAM[dj.kind]]
    with override_settings(
        CONSENT_MW={"policy": "gdpr", "store": "memory://", "report_blocked": True}
    ):
        for path in paths:
            result = dj.get(path)
            assert result.header("x-consent-blocked") == "1", path
            assert result.header("content-length") == str(len(result.body.encode()))
            assert tracker_state(result.body) == "neutralised"


@pytest.mark.parametrize("streamed", [False, True])
def test_head_gets_the_headers_of_the_rewritten_page_and_no_body(
    dj: DjangoHarness, streamed: bool
) -> None:
    result = dj.request("HEAD", STREAM[dj.kind] if streamed else "/page")
    assert result.status == 200
    assert result.body in ("", b"")
    assert result.header("vary") == "Cookie, Sec-GPC"


def test_endpoints_answer_under_the_prefix(dj: DjangoHarness) -> None:
    state = dj.get("/_consent?locale=en")
    assert state.status == 200
    assert state.body["state"]["decided"] is False
    assert dj.get("/.well-known/gpc.json").body["gpc"] is True
    assert dj.get("/_consent/banner.js").status == 200
    assert "<h1>" in dj.get("/_consent/policy").body
    withdrawn = dj.request(
        "DELETE", "/_consent", cookie=consent_cookie(dj, {"action": "accept_all"}), headers=ORIGIN
    )
    assert withdrawn.status == 200
    assert withdrawn.body["state"]["choices"]["analytics"] is False


@pytest.mark.parametrize(
    ("body", "headers", "status", "error"),
    [
        ({"choices": {"nope": True}}, ORIGIN, 400, "unknown_category"),
        ({"action": "accept_all"}, {"origin": "https://evil.example"}, 403, None),
        ({"choices": {"analytics": "x" * 9000}}, ORIGIN, 413, None),
    ],
)
def test_bad_consent_requests_get_a_json_4xx(
    dj: DjangoHarness, body: Any, headers: dict[str, str], status: int, error: str | None
) -> None:
    result = dj.request("POST", "/_consent", json=body, headers=headers)
    assert result.status == status
    assert isinstance(result.body, dict) and "error" in result.body
    if error:
        assert result.body["error"] == error


@pytest.mark.parametrize("ledger", ["memory", "django"])
def test_a_consent_change_is_written_to_the_ledger(dj: DjangoHarness, ledger: str) -> None:
    from consent_mw.django.store import DjangoStore

    store = MemoryStore() if ledger == "memory" else DjangoStore()
    # "django://" (the ORM ledger) is the default store with the app installed.
    setting = {"policy": "gdpr"} if ledger == "django" else {"policy": "gdpr", "store": store}
    with override_settings(CONSENT_MW=setting):
        assert isinstance(conf.site().store, type(store))
        result = dj.request("POST", "/_consent", json={"action": "reject_all"}, headers=ORIGIN)
        subject = result.body["state"]["consent_id"]
        [record] = store.history(subject)
        assert isinstance(record, Record) and record.action == "reject_all"
        assert (
            dj.get("/_consent/records?format=json", cookie=f"consent_mw={_value(result)}").status
            == 200
        )


def _value(result: Any) -> str:
    return next(c.value for c in result.set_cookies if c.name == "consent_mw")


class DownStore(MemoryStore):
    def append(self, record: Record) -> None:
        raise StoreUnavailable("down")

    async def aappend(self, record: Record) -> None:
        raise StoreUnavailable("down")


def test_a_ledger_down_answers_503_and_pages_keep_working(dj: DjangoHarness) -> None:
    with override_settings(CONSENT_MW={"policy": "gdpr", "store": DownStore()}):
        result = dj.request("POST", "/_consent", json={"action": "accept_all"}, headers=ORIGIN)
        assert result.status == 503
        assert result.header("retry-after")
        assert dj.get("/").kept == ["prefs"]


def test_a_database_error_of_the_orm_ledger_is_a_503(
    dj: DjangoHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import OperationalError

    from consent_mw.django.store import DjangoStore

    def broken(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise OperationalError("database is locked")

    monkeypatch.setattr(DjangoStore, "_current_row", broken)
    with pytest.raises(StoreUnavailable, match="database is locked"):
        DjangoStore().current("someone")
    with override_settings(CONSENT_MW={"policy": "gdpr", "store": "django://default"}):
        result = dj.request("POST", "/_consent", json={"action": "accept_all"}, headers=ORIGIN)
        assert result.status == 503
        assert dj.get("/").kept == ["prefs"]


def test_the_key_is_derived_from_secret_key_never_the_key_itself(dj: DjangoHarness) -> None:
    value = consent_cookie(dj, {"action": "accept_all"}).partition("=")[2]
    assert ConsentCookieCodec(DJANGO_SECRET_KEY).loads(value) is None
    assert ConsentCookieCodec(conf.derived_keys()[0]).loads(value) is not None
    # Rotation the Django way: the old key moves to SECRET_KEY_FALLBACKS.
    with override_settings(
        SECRET_KEY="a-new-django-secret-key-9876543210-abcdefghijklmnop",
        SECRET_KEY_FALLBACKS=[DJANGO_SECRET_KEY],
    ):
        assert dj.get("/", cookie=f"consent_mw={value}").body["analytics"] is True
    with override_settings(SECRET_KEY="a-new-django-secret-key-9876543210-abcdefghijklmnop"):
        assert dj.get("/", cookie=f"consent_mw={value}").body["analytics"] is False


def test_the_middleware_is_sync_and_async_capable() -> None:
    def view(request: Any) -> Any:
        raise AssertionError

    async def aview(request: Any) -> Any:
        raise AssertionError

    assert ConsentMiddleware.sync_capable and ConsentMiddleware.async_capable
    assert not iscoroutinefunction(ConsentMiddleware(view))
    assert iscoroutinefunction(ConsentMiddleware(aview))
    assert asyncio.iscoroutinefunction(ConsentMiddleware(aview).__acall__)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (None, "must be a dict with at least a 'policy'"),
        ({"store": "memory://"}, "must be a dict with at least a 'policy'"),
        ({"policy": "gdpr", "store": "memory://", "nope": 1}, "Unknown option"),
        ({"policy": "gdpr", "store": "memory://", "secret_key": "short"}, "at least 16"),
        ({"policy": "gdpr", "store": 42}, "must be a store or a URL"),
        ({"policy": "gdpr", "store": "django://nope"}, "no database 'nope'"),
    ],
)
def test_bad_settings_stop_start_up_with_a_message(setting: Any, message: str) -> None:
    with override_settings(CONSENT_MW=setting), pytest.raises(ConfigError, match=message):
        ConsentMiddleware(lambda request: None)


def test_a_weak_secret_key_stops_start_up() -> None:
    with (
        override_settings(SECRET_KEY="change-me-please-0123456789"),
        pytest.raises(ConfigError, match="settings.SECRET_KEY is a placeholder"),
    ):
        ConsentMiddleware(lambda request: None)
