"""Signing in through both middlewares: ``consent.login(user)`` links the consent id to
the user, keeps a login record, and gives a browser without a choice the user's
earlier choice (carried from the ledger)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from consent_mw import MemoryStore, StoreError, StoreUnavailable
from consent_mw.core.consent import Consent
from consent_mw.core.cookies import ConsentCookieCodec
from consent_mw.core.recorder import LOGIN_RETENTION_DAYS
from consent_mw.stores.base import Record, new_record_id
from support.harness import SECRET
from support.html_apps import GA_EXTERNAL, META_INLINE, AppRequest, Harness, Reply, build, html

SAME_ORIGIN = {"origin": "http://testserver"}
DAY = 86400.0


@pytest.fixture(params=["asgi", "wsgi"])
def adapter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def app(request: AppRequest) -> Reply:
    """``/login?user=…`` signs the user in (``/login/page``: and answers with the tracker
    page); anything else is a plain page."""
    if request.path.startswith("/login"):
        user = request.query.partition("user=")[2] or "alice"
        request.consent.login(user)
    if request.path == "/login/page":
        return html()
    return Reply(chunks=(b"welcome",), headers=[("Content-Type", "text/plain")])


def make(adapter: str, store: MemoryStore | None = None, **options: Any) -> Harness:
    return build(adapter, app, store=store if store is not None else MemoryStore(), **options)


def consent_of(value: str) -> Consent:
    consent = ConsentCookieCodec(SECRET).loads(value)
    assert consent is not None
    return consent


def set_consent(result: Any) -> str | None:
    values = [c.value for c in result.set_cookies if c.name == "consent_mw" and not c.is_expiry]
    assert len(values) <= 1
    return values[0] if values else None


def choose(harness: Harness, choices: dict[str, bool], cookie: str | None = None) -> str:
    """A browser saves a choice through the consent API; its new consent cookie."""
    cookies = {"consent_mw": cookie} if cookie else None
    result = harness.request(
        "POST", "/_consent", json={"choices": choices}, headers=SAME_ORIGIN, cookies=cookies
    )
    assert result.status == 200, result.body
    value = set_consent(result)
    assert value is not None
    return value


def sign_in(harness: Harness, cookie: str | None = None, user: str = "alice", **kw: Any) -> Any:
    cookies = {"consent_mw": cookie} if cookie else None
    result = harness.get(f"/login?user={user}", cookies=cookies, **kw)
    assert result.status == 200
    assert result.raw == b"welcome"
    harness.middleware.recorder.flush()
    return result


def close(harness: Harness) -> None:
    harness.middleware.recorder.close()


# -- linking -------------------------------------------------------------------------------


@pytest.mark.parametrize("record_requests", [False, True])
def test_login_links_the_subject(adapter: str, record_requests: bool) -> None:
    store = MemoryStore()
    harness = make(adapter, store, record_requests=record_requests)
    cookie = choose(harness, {"analytics": True})
    subject = consent_of(cookie).id
    result = sign_in(harness, cookie)
    assert set_consent(result) is None  # the browser has a choice: nothing carried
    assert store.subjects_of("alice") == [subject]
    assert store.by_user("alice") == store.current(subject)
    close(harness)


def test_login_writes_a_login_event_when_recording(adapter: str) -> None:
    store = MemoryStore()
    harness = make(adapter, store, record_requests=True)
    cookie = choose(harness, {"analytics": True})
    subject = consent_of(cookie).id
    before = time.time()
    sign_in(harness, cookie)
    logins = [e for e in store.events(user_id="alice") if e.kind == "login"]
    assert len(logins) == 1
    [login] = logins
    assert (login.purpose, login.path, login.status) == ("necessary", "/login", 200)
    assert login.subject_id == subject and login.user_id == "alice"
    assert login.ip == "203.0.113.0"
    assert before <= login.time <= time.time()
    assert login.expires_at == pytest.approx(login.time + LOGIN_RETENTION_DAYS * DAY)
    # Other requests are not login records.
    harness.get("/", cookies={"consent_mw": cookie})
    harness.middleware.recorder.flush()
    assert [e.kind for e in store.events(user_id="alice")] == ["login"]
    close(harness)


def test_login_without_recording_writes_no_event(adapter: str) -> None:
    store = MemoryStore()
    harness = make(adapter, store)
    cookie = choose(harness, {"analytics": True})
    sign_in(harness, cookie)
    assert store.events() == []
    assert store.subjects_of("alice") == [consent_of(cookie).id]
    close(harness)


def test_login_of_an_undecided_browser_without_earlier_choices(adapter: str) -> None:
    store = MemoryStore()
    harness = make(adapter, store, record_requests=True)
    result = sign_in(harness)
    assert set_consent(result) is None
    assert store.subjects_of("alice") == []
    assert store.all_records() == []
    [login] = store.events(user_id="alice")
    assert login.kind == "login" and login.subject_id is None
    close(harness)


def test_plain_requests_link_nothing(adapter: str) -> None:
    store = MemoryStore()
    harness = make(adapter, store, record_requests=True)
    cookie = choose(harness, {"analytics": True})
    harness.get("/", cookies={"consent_mw": cookie})
    harness.middleware.recorder.flush()
    assert store.subjects_of("alice") == []
    assert all(e.kind != "login" for e in store.events())
    close(harness)


# -- carrying a choice to another browser --------------------------------------------------


@pytest.mark.parametrize("record_requests", [False, True])
@pytest.mark.parametrize(
    "choices",
    [
        {"functional": False, "analytics": True, "advertising": False},
        {"functional": True, "analytics": False, "advertising": True},
        {"functional": False, "analytics": False, "advertising": False},
    ],
)
def test_second_browser_gets_the_users_choice(
    adapter: str, choices: dict[str, bool], record_requests: bool
) -> None:
    store = MemoryStore()
    harness = make(adapter, store, record_requests=record_requests)
    first = choose(harness, choices)
    sign_in(harness, first)
    # A fresh browser, no consent cookie: signs in as alice.
    result = sign_in(harness)
    carried = set_consent(result)
    assert carried is not None
    consent = consent_of(carried)
    assert dict(consent.choices) == choices
    assert consent.source == "server"
    assert consent.id != consent_of(first).id
    records = [r for r in store.all_records() if r.source == "server"]
    assert len(records) == 1
    [record] = records
    assert record.subject_id == consent.id
    assert record.user_id == "alice"
    assert dict(record.choices) == choices
    # The second browser's consent id is linked to alice too, most recent first.
    assert store.subjects_of("alice") == [consent.id, consent_of(first).id]
    # The carried cookie works: the browser is decided now and nothing more is carried.
    again = sign_in(harness, carried)
    assert set_consent(again) is None
    assert len([r for r in store.all_records() if r.source == "server"]) == 1
    close(harness)


def test_a_per_service_choice_is_carried(adapter: str) -> None:
    store = MemoryStore()
    harness = make(adapter, store)
    first = choose(harness, {"analytics": True, "advertising": {"Meta": True}})  # type: ignore[dict-item]
    sign_in(harness, first)
    carried = set_consent(sign_in(harness))
    assert carried is not None
    consent = consent_of(carried)
    assert consent.services == {"advertising": {"Meta": True}}
    assert consent.choices["analytics"] is True and consent.choices["advertising"] is False
    close(harness)


def test_carried_sign_in_is_a_login_record(adapter: str) -> None:
    store = MemoryStore()
    harness = make(adapter, store, record_requests=True)
    sign_in(harness, choose(harness, {"analytics": True}))
    result = sign_in(harness)
    subject = consent_of(set_consent(result) or "").id
    logins = [e for e in store.events(user_id="alice") if e.kind == "login"]
    assert len(logins) == 2
    assert logins[0].subject_id == subject  # newest first
    assert logins[0].expires_at == pytest.approx(logins[0].time + LOGIN_RETENTION_DAYS * DAY)
    close(harness)


def test_the_sign_in_page_is_rewritten_for_the_carried_choice(adapter: str) -> None:
    store = MemoryStore()
    harness = make(adapter, store)
    sign_in(harness, choose(harness, {"analytics": True}))
    result = harness.get("/login/page")
    carried = set_consent(result)
    assert carried is not None and consent_of(carried).choices["analytics"] is True
    assert GA_EXTERNAL in result.raw  # analytics allowed from this response on
    assert META_INLINE not in result.raw
    # The inline Consent Mode default is the carried choice's too.
    assert b'"analytics_storage":"granted"' in result.raw
    close(harness)


def test_the_most_recent_choice_is_carried(adapter: str) -> None:
    store = MemoryStore()
    harness = make(adapter, store)
    phone = choose(harness, {"analytics": True})
    sign_in(harness, phone)
    laptop = choose(harness, {"advertising": True})
    sign_in(harness, laptop)
    # Alice changes her mind on the phone later: that is her latest choice.
    phone = choose(harness, {"functional": True}, phone)
    tablet = set_consent(sign_in(harness))
    assert tablet is not None
    assert dict(consent_of(tablet).choices) == {
        "functional": True,
        "analytics": False,
        "advertising": False,
    }
    close(harness)


def test_another_users_choice_is_not_carried(adapter: str) -> None:
    store = MemoryStore()
    harness = make(adapter, store)
    sign_in(harness, choose(harness, {"analytics": True}), user="bob")
    assert set_consent(sign_in(harness, user="alice")) is None
    close(harness)


def test_a_choice_under_an_incompatible_policy_is_not_carried(adapter: str) -> None:
    store = MemoryStore()
    store.append(
        Record(
            record_id=new_record_id(),
            subject_id="old-subject",
            time=time.time(),
            policy_version="0",
            text_hash="x",
            choices={"analytics": True},
            action="custom",
            source="banner",
            regime="gdpr",
        )
    )
    store.link_user("old-subject", "alice")
    harness = make(adapter, store)
    assert set_consent(sign_in(harness)) is None
    close(harness)


def test_a_browser_with_its_own_choice_keeps_it(adapter: str) -> None:
    store = MemoryStore()
    harness = make(adapter, store)
    sign_in(harness, choose(harness, {"analytics": True, "advertising": True}))
    own = choose(harness, {})
    result = sign_in(harness, own)
    assert set_consent(result) is None
    assert store.subjects_of("alice")[0] == consent_of(own).id
    close(harness)


def test_gpc_is_honoured_on_the_browser_a_choice_is_carried_to(adapter: str) -> None:
    """Alice allowed advertising elsewhere; this browser sends GPC: the signal wins here
    (CCPA regs section 7025(c)(3): a conflicting earlier setting yields to the signal)."""
    store = MemoryStore()
    harness = make(adapter, store)
    sign_in(harness, choose(harness, {"analytics": True, "advertising": True}))
    result = sign_in(harness, headers={"sec-gpc": "1"})
    carried = set_consent(result)
    assert carried is not None
    consent = consent_of(carried)
    assert consent.choices["analytics"] is True
    assert consent.choices["advertising"] is False
    assert consent.gpc_override is False
    state = harness.get(
        "/_consent", cookies={"consent_mw": carried}, headers={"sec-gpc": "1"}
    ).body["state"]
    assert "advertising" not in state["allowed"]
    close(harness)


# -- the ledger is down --------------------------------------------------------------------


class DownForCarry(MemoryStore):
    def __init__(self, fail: str, error: type[StoreError]) -> None:
        super().__init__()
        self.fail = fail
        self.error = error

    def by_user(self, user_id: str) -> Record | None:
        if self.fail == "by_user":
            raise self.error("ledger down")
        return super().by_user(user_id)

    def append(self, record: Record) -> None:
        if self.fail == "append" and record.source == "server":
            raise self.error("ledger down")
        super().append(record)


@pytest.mark.parametrize("error", [StoreUnavailable, StoreError])
@pytest.mark.parametrize("fail", ["by_user", "append"])
def test_store_down_during_carry_still_serves_the_page(
    adapter: str, fail: str, error: type[StoreError]
) -> None:
    store = DownForCarry(fail, error)
    harness = make(adapter, store)
    sign_in(harness, choose(harness, {"analytics": True}))
    result = sign_in(harness)
    assert result.status == 200 and result.raw == b"welcome"
    assert set_consent(result) is None
    assert [r for r in store.all_records() if r.source == "server"] == []
    close(harness)
