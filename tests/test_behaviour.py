"""The enforcement behaviour table, run identically through the ASGI and WSGI adapters.

Each case is one request to a demo app behind the middleware and what must
come out: which Set-Cookie headers survive, which tracker cookies are
expired (and for which Domain), what the app saw of the Cookie header and the
query string, what it was told is allowed, and the cache headers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

import pytest

from consent_mw import CountryHeader
from consent_mw.core.consent import Decision
from consent_mw.core.cookies import parse_cookie_header
from support.harness import OTHER_SECRET, STREAM_CHUNKS, ClientFactory, Result

SHOP = "www.shop.example.com"
SHOP_DOMAINS = (None, "www.shop.example.com", "shop.example.com", "example.com")

# Set-Cookie names the demo "/" sets, by what survives.
ALL = ("session", "_ga", "_ga_XYZ", "_fbp", "chat_id", "session")
NO_ADS = ("session", "_ga", "_ga_XYZ", "chat_id", "session")
NECESSARY_ONLY = ("session", "chat_id", "session")
ADS_ONLY = ("session", "_fbp", "chat_id", "session")

GDPR_NONE = {"necessary": True, "functional": False, "analytics": False, "advertising": False}
GDPR_ALL = {"necessary": True, "functional": True, "analytics": True, "advertising": True}
GDPR_NO_ADS = {**GDPR_ALL, "advertising": False}
GDPR_ANALYTICS = {**GDPR_NONE, "analytics": True}

CONSENT_DEPENDENT = ("Cookie, Sec-GPC", "private")
UNTOUCHED = (None, None)

ACCEPT_ALL = {"action": "accept_all", "choices": "all"}
REJECT_ALL = {"action": "reject_all", "choices": {}}
WITHDRAWN = {"action": "withdraw", "choices": {}}
ANALYTICS_ONLY = {"action": "custom", "choices": {"analytics": True}}
CLICK_QUERY = "q=shoes&gclid=a1&fbclid=b2&msclkid=c3&ttclid=d4&page=2"


def expired(*names: str, domains: tuple[str | None, ...] = (None,)) -> frozenset:
    return frozenset((name, domain) for name in names for domain in domains)


@dataclass(frozen=True)
class Case:
    id: str
    # request
    path: str = "/"
    policy: str = "gdpr"
    options: dict[str, Any] = field(default_factory=dict)
    consent: dict[str, Any] | None = None
    cookies: tuple[tuple[str, str], ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    query: str = ""
    host: str = "testserver"
    # expectations (None: not checked for this case)
    kept: tuple[str, ...] | None = None
    expired: frozenset = frozenset()
    allows: dict[str, bool] | None = None
    app_cookies: tuple[str, ...] | None = None
    app_query: str | None = None
    cache: tuple[str | None, str | None] = CONSENT_DEPENDENT


CASES: list[Case] = [
    # -- who may set what ---------------------------------------------------------
    Case("undecided strips analytics and advertising", kept=NECESSARY_ONLY, allows=GDPR_NONE),
    Case("analytics only", consent=ANALYTICS_ONLY, kept=NO_ADS, allows=GDPR_ANALYTICS),
    Case("accept_all", consent=ACCEPT_ALL, kept=ALL, allows=GDPR_ALL),
    Case("reject_all", consent=REJECT_ALL, kept=NECESSARY_ONLY, allows=GDPR_NONE),
    Case(
        "cookie signed with an unknown key is undecided",
        consent={**ACCEPT_ALL, "secret": OTHER_SECRET},
        kept=NECESSARY_ONLY,
        allows=GDPR_NONE,
    ),
    # -- Global Privacy Control -------------------------------------------------------
    Case(
        "GPC after accept_all denies advertising",
        consent=ACCEPT_ALL,
        headers={"sec-gpc": "1"},
        kept=NO_ADS,
        allows=GDPR_NO_ADS,
    ),
    Case(
        "GPC with surrounding whitespace is still 1",
        consent=ACCEPT_ALL,
        headers={"sec-gpc": " 1"},
        kept=NO_ADS,
        allows=GDPR_NO_ADS,
    ),
    *[
        Case(
            f"Sec-GPC {value!r} is not GPC",
            consent=ACCEPT_ALL,
            headers={"sec-gpc": value},
            kept=ALL,
            allows=GDPR_ALL,
        )
        for value in ("true", " 1x", "0", "11", "yes")
    ],
    Case(
        "accept_all given while GPC was sent does not override it",
        consent={**ACCEPT_ALL, "gpc": True},
        headers={"sec-gpc": "1"},
        kept=NO_ADS,
        allows=GDPR_NO_ADS,
    ),
    Case(
        "accept_all given under GPC stays off after GPC stops",
        consent={**ACCEPT_ALL, "gpc": True},
        kept=NO_ADS,
        allows=GDPR_NO_ADS,
    ),
    Case(
        "explicit custom opt-in to advertising overrides GPC",
        consent={"action": "custom", "choices": {"advertising": True}, "gpc": True},
        headers={"sec-gpc": "1"},
        kept=ADS_ONLY,
        allows={**GDPR_NONE, "advertising": True},
    ),
    Case(
        "custom opt-in made without GPC does not override a later GPC",
        consent={"action": "custom", "choices": {"advertising": True}},
        headers={"sec-gpc": "1"},
        kept=NECESSARY_ONLY,
        allows=GDPR_NONE,
    ),
    # -- CCPA (opt-out) -------------------------------------------------------------
    Case("ccpa defaults to optional on", policy="ccpa", kept=ALL, allows=GDPR_ALL),
    Case(
        "ccpa GPC turns advertising off",
        policy="ccpa",
        headers={"sec-gpc": "1"},
        kept=NO_ADS,
        allows=GDPR_NO_ADS,
    ),
    Case("ccpa opt-out", policy="ccpa", consent=REJECT_ALL, kept=NECESSARY_ONLY, allows=GDPR_NONE),
    # -- children ---------------------------------------------------------------------
    Case(
        "child hook turns advertising off",
        options={"is_child": lambda facts: facts.headers.get("x-age") == "child"},
        consent=ACCEPT_ALL,
        headers={"x-age": "child"},
        kept=NO_ADS,
        allows=GDPR_NO_ADS,
    ),
    Case(
        "child hook says adult",
        options={"is_child": lambda facts: facts.headers.get("x-age") == "child"},
        consent=ACCEPT_ALL,
        headers={"x-age": "adult"},
        kept=ALL,
        allows=GDPR_ALL,
    ),
    Case(
        "a failing child hook fails towards protection",
        options={"is_child": lambda facts: 1 / 0},
        consent=ACCEPT_ALL,
        kept=NO_ADS,
        allows=GDPR_NO_ADS,
    ),
    # -- withdrawal: tracker cookies the browser holds are expired ------------------------
    Case(
        "withdrawal expires tracker cookies on every domain variant",
        path="/plain",
        consent=WITHDRAWN,
        host=SHOP,
        cookies=(("_ga", "1"), ("_ga_XYZ", "2"), ("_fbp", "3"), ("session", "4")),
        kept=(),
        expired=expired("_ga", "_ga_XYZ", "_fbp", domains=SHOP_DOMAINS),
        app_cookies=("session", "consent_mw"),
    ),
    Case(
        "withdrawal on a page that sets trackers",
        consent=WITHDRAWN,
        host=SHOP,
        cookies=(("_fbp", "3"),),
        kept=NECESSARY_ONLY,
        expired=expired("_fbp", domains=SHOP_DOMAINS),
        allows=GDPR_NONE,
    ),
    Case(
        "only refused categories are expired",
        path="/plain",
        consent=ANALYTICS_ONLY,
        host=SHOP,
        cookies=(("_ga", "1"), ("_fbp", "3")),
        kept=(),
        expired=expired("_fbp", domains=SHOP_DOMAINS),
        app_cookies=("_ga", "consent_mw"),
    ),
    Case(
        "cookie_domains the parents cover already add nothing (a leading dot is ignored)",
        path="/plain",
        options={"cookie_domains": [".example.com"]},
        consent=REJECT_ALL,
        host=SHOP,
        cookies=(("_ga", "1"),),
        kept=(),
        expired=expired("_ga", domains=SHOP_DOMAINS),
    ),
    Case(
        "cookie_domains a browser would refuse from this host are not sent",
        path="/plain",
        options={"cookie_domains": ["other.example.org", "com"]},
        consent=REJECT_ALL,
        host=SHOP,
        cookies=(("_ga", "1"),),
        kept=(),
        expired=expired("_ga", domains=SHOP_DOMAINS),
    ),
    Case(
        "a single-label host gets only the host-only expiry",
        path="/plain",
        cookies=(("_ga", "1"),),
        kept=(),
        expired=expired("_ga"),
    ),
    Case(
        "expire_refused_cookies=False leaves them",
        path="/plain",
        options={"expire_refused_cookies": False},
        host=SHOP,
        cookies=(("_ga", "1"), ("session", "2")),
        kept=(),
        app_cookies=("session",),
        cache=UNTOUCHED,
    ),
    # -- the app's view of the Cookie header ------------------------------------------------
    Case(
        "refused cookies are hidden from the app",
        cookies=(("_ga", "1"), ("session", "2"), ("_fbp", "3"), ("other", "4"), ("session", "5")),
        app_cookies=("session", "other", "session"),
        expired=expired("_ga", "_fbp"),
    ),
    Case(
        "allowed cookies reach the app",
        consent=ANALYTICS_ONLY,
        cookies=(("_ga", "1"), ("_ga_XYZ", "2"), ("_fbp", "3")),
        app_cookies=("_ga", "_ga_XYZ", "consent_mw"),
        expired=expired("_fbp"),
    ),
    Case(
        "filter_request_cookies=False shows everything",
        options={"filter_request_cookies": False},
        cookies=(("_ga", "1"), ("session", "2")),
        app_cookies=("_ga", "session"),
        expired=expired("_ga"),
    ),
    # -- click ids -------------------------------------------------------------------------
    Case(
        "click ids hidden when advertising is refused",
        query=CLICK_QUERY,
        app_query="q=shoes&page=2",
    ),
    Case(
        "click ids kept after accept_all",
        consent=ACCEPT_ALL,
        query=CLICK_QUERY,
        app_query=CLICK_QUERY,
    ),
    Case(
        "click ids hidden under GPC",
        consent=ACCEPT_ALL,
        headers={"sec-gpc": "1"},
        query=CLICK_QUERY,
        app_query="q=shoes&page=2",
    ),
    Case(
        "hide_click_ids=False keeps them",
        options={"hide_click_ids": False},
        query=CLICK_QUERY,
        app_query=CLICK_QUERY,
    ),
    Case("a percent-encoded click id is still one", query="%67clid=x&a=1", app_query="a=1"),
    Case("a query without click ids is untouched", query="a=1&b=&c", app_query="a=1&b=&c"),
    Case("only click ids: empty query", query="gclid=1", app_query=""),
    # -- caches --------------------------------------------------------------------------------
    Case(
        "public caching becomes private and Vary is merged",
        query="cache=1",
        app_query="cache=1",
        cache=("Accept-Encoding, Cookie, Sec-GPC", "private, max-age=60"),
    ),
    Case(
        "nothing is added to a page that ignores consent", path="/plain", kept=(), cache=UNTOUCHED
    ),
    Case(
        "nor when the visitor has decided",
        path="/plain",
        consent=ACCEPT_ALL,
        cookies=(("session", "1"), ("_ga", "2")),
        kept=(),
        app_cookies=("session", "_ga", "consent_mw"),
        cache=UNTOUCHED,
    ),
    # -- a policy of one's own -----------------------------------------------------------------
    Case(
        "custom category cookies wait for consent",
        policy="custom",
        kept=("session", "session"),
        allows={"necessary": True, "chat": False, "analytics": False, "advertising": False},
    ),
    Case(
        "custom category accepted",
        policy="custom",
        consent={"action": "custom", "choices": {"chat": True}},
        kept=("session", "chat_id", "session"),
        allows={"necessary": True, "chat": True, "analytics": False, "advertising": False},
    ),
    Case(
        "custom category cookies in the request are hidden and expired",
        policy="custom",
        path="/plain",
        cookies=(("chat_id", "1"), ("chat_room", "2"), ("session", "3")),
        kept=(),
        app_cookies=("session",),
        expired=expired("chat_id", "chat_room"),
    ),
]


def _send(client: ClientFactory, case: Case) -> Result:
    harness = client(policy=case.policy, **case.options)
    cookies = list(case.cookies)
    if case.consent is not None:
        spec = dict(case.consent)
        choices = spec.pop("choices")
        if choices == "all":
            choices = dict.fromkeys(harness.policy.optional_ids, True)
        cookies.append(("consent_mw", harness.token(choices, **spec)))
    path = f"{case.path}?{case.query}" if case.query else case.path
    return harness.get(path, headers=case.headers, cookies=cookies, host=case.host)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_behaviour(client: ClientFactory, case: Case) -> None:
    result = _send(client, case)
    assert result.status == 200
    if case.kept is not None:
        assert result.kept == list(case.kept)
    assert result.expired == case.expired
    if case.allows is not None:
        assert result.body["allows"] == case.allows
    if case.app_cookies is not None:
        # Only "/" reports what the app saw; ask it the same question.
        report = result if case.path == "/" else _send(client, replace(case, path="/"))
        names = [name for name, _ in parse_cookie_header(report.body["cookie"] or "")]
        assert names == list(case.app_cookies)
    if case.app_query is not None:
        assert result.body["query"] == case.app_query
    assert (result.header("vary"), result.header("cache-control")) == case.cache
    assert len(result.headers_named("vary")) <= 1
    assert len(result.headers_named("cache-control")) <= 1


def test_stripped_set_cookie_includes_httponly(client: ClientFactory) -> None:
    result = client.get("/")
    assert "_fbp" not in result.kept
    assert [c.flags for c in result.set_cookies if c.name == "session"] == [
        frozenset({"httponly"}),
        frozenset({"httponly"}),
    ]


def test_duplicate_set_cookies_keep_values_and_order(client: ClientFactory) -> None:
    result = client.get("/")
    assert [(c.name, c.value) for c in result.set_cookies] == [
        ("session", "s1"),
        ("chat_id", "c1"),
        ("session", "s2"),
    ]


def test_refused_cookies_hidden_verbatim(client: ClientFactory) -> None:
    result = client.get("/", cookies=[("a", "1"), ("_ga", "GA1.1"), ("b", "x=y")])
    assert result.body["cookie"] == "a=1; b=x=y"


def test_all_cookies_refused_leaves_no_cookie_for_the_app(client: ClientFactory) -> None:
    result = client.get("/", cookies=[("_ga", "1"), ("_fbp", "2")])
    assert not result.body["cookie"]


def test_app_sees_untouched_cookie_header_when_nothing_refused(client: ClientFactory) -> None:
    result = client.get("/", cookies=[("a", "1"), ("b", "2")])
    assert result.body["cookie"] == "a=1; b=2"
    assert result.expired == set()


def test_state_is_shared_with_starlette_request_state(client: ClientFactory) -> None:
    assert client.get("/").body["state_is_scope"] is True


@pytest.mark.parametrize(
    ("consent", "body", "kept"),
    [
        (None, "no-analytics", []),
        (ANALYTICS_ONLY, "analytics", ["_ga"]),
    ],
)
def test_streamed_response(
    client: ClientFactory, consent: dict[str, Any] | None, body: str, kept: list[str]
) -> None:
    cookies = {}
    if consent is not None:
        cookies["consent_mw"] = client.token(consent["choices"], action=consent["action"])
    result = client.get("/stream", cookies=cookies)
    assert result.status == 200
    assert result.body == b"".join(STREAM_CHUNKS).decode() + " " + body
    assert result.kept == kept
    assert (result.header("vary"), result.header("cache-control")) == CONSENT_DEPENDENT


def test_consent_cookie_is_not_stripped_or_expired(client: ClientFactory) -> None:
    token = client.token({}, action="reject_all")
    result = client.get("/plain", cookies={"consent_mw": token}, host=SHOP)
    assert result.expired == set()


# -- caches: how the app's own headers are merged -------------------------------------------------

CACHE_HEADERS = [
    # (app's Cache-Control, app's Vary) -> what leaves the middleware
    ((None, None), ("private", "Cookie, Sec-GPC")),
    (("public, max-age=60", None), ("private, max-age=60", "Cookie, Sec-GPC")),
    (("PUBLIC, Max-Age=60", None), ("private, Max-Age=60", "Cookie, Sec-GPC")),
    (("public, s-maxage=600, max-age=60", None), ("private, max-age=60", "Cookie, Sec-GPC")),
    (
        ("max-age=60, must-revalidate", None),
        ("private, max-age=60, must-revalidate", "Cookie, Sec-GPC"),
    ),
    (("no-store", None), ("no-store", "Cookie, Sec-GPC")),
    (("private, max-age=5", None), ("private, max-age=5", "Cookie, Sec-GPC")),
    ((None, "*"), ("private", "*")),
    ((None, "cookie"), ("private", "cookie, Sec-GPC")),
    ((None, "Accept-Encoding, Sec-GPC"), ("private", "Accept-Encoding, Sec-GPC, Cookie")),
    ((None, "Cookie,Sec-GPC"), ("private", "Cookie,Sec-GPC")),
]


@pytest.mark.parametrize(
    ("app", "expected"), CACHE_HEADERS, ids=[repr(c[0]) for c in CACHE_HEADERS]
)
def test_cache_headers_are_merged(
    client: ClientFactory,
    app: tuple[str | None, str | None],
    expected: tuple[str, str],
) -> None:
    params = {"cache-control": app[0], "vary": app[1]}
    query = urlencode({k: v for k, v in params.items() if v is not None})
    result = client.get(f"/headers?{query}")
    assert result.status == 200
    assert result.headers_named("cache-control") == [expected[0]]
    assert result.headers_named("vary") == [expected[1]]


# Every public attribute of the decision, methods included: one more cannot be forgotten.
DECISION_READS = sorted(name for name in dir(Decision) if not name.startswith("_"))


@pytest.mark.parametrize("attr", DECISION_READS)
def test_any_read_of_the_decision_makes_a_public_response_private(
    client: ClientFactory, attr: str
) -> None:
    for cookies in (None, {"consent_mw": client.token({})}):
        result = client.get(f"/read?attr={attr}", cookies=cookies)
        assert result.status == 200
        assert result.headers_named("cache-control") == ["private, max-age=600"], attr
        assert result.headers_named("vary") == ["Cookie, Sec-GPC"], attr


def test_a_response_that_reads_nothing_stays_public(client: ClientFactory) -> None:
    result = client.get("/read", cookies={"consent_mw": client.token({})})
    assert result.headers_named("cache-control") == ["public, max-age=600"]
    assert result.headers_named("vary") == []


@pytest.mark.parametrize("cookie", ["_ga=GA1.2.3; Path=/", "_fbp=fb.1.2; Path=/; HttpOnly"])
def test_a_tracker_cookie_let_through_makes_the_response_private(
    client: ClientFactory, cookie: str
) -> None:
    # Shared by a cache, the consenting visitor's tracker cookie would reach those who refused.
    everything = client.token(dict.fromkeys(client.policy.optional_ids, True))
    result = client.get(
        "/read?" + urlencode({"set-cookie": cookie}), cookies={"consent_mw": everything}
    )
    assert result.kept == [cookie.partition("=")[0]]
    assert result.headers_named("cache-control") == ["private, max-age=600"]
    assert result.headers_named("vary") == ["Cookie, Sec-GPC"]


def test_an_undeclared_cookie_for_everyone_leaves_the_response_public(
    client: ClientFactory,
) -> None:
    result = client.get("/read?" + urlencode({"set-cookie": "lang=ko; Path=/"}))
    assert result.kept == ["lang"]
    assert result.headers_named("cache-control") == ["public, max-age=600"]


# -- which consent cookie counts -------------------------------------------------------------------


def test_an_invalid_consent_cookie_beside_a_valid_one_does_not_count(
    client: ClientFactory,
) -> None:
    valid = client.token(dict.fromkeys(client.policy.optional_ids, True))
    forged = client.token({}, secret=OTHER_SECRET)
    for cookies in (
        [("consent_mw", forged), ("consent_mw", valid)],
        [("consent_mw", "garbage"), ("consent_mw", valid)],
        [("consent_mw", valid), ("consent_mw", forged)],
    ):
        assert client.get("/", cookies=cookies).body["allows"] == GDPR_ALL


def test_the_newest_of_several_consent_cookies_wins(client: ClientFactory) -> None:
    # A host-only acceptance from before cookie_domain was set, and the withdrawal the
    # visitor made since under the Domain: browsers send the older one first.
    now = int(time.time())
    accepted = client.token(dict.fromkeys(client.policy.optional_ids, True), now=now - 3600)
    withdrawn = client.token({}, action="withdraw", now=now)
    for cookies in (
        [("consent_mw", accepted), ("consent_mw", withdrawn)],
        [("consent_mw", withdrawn), ("consent_mw", accepted)],
    ):
        result = client.get("/", cookies=cookies)
        assert result.body["allows"] == GDPR_NONE
        assert result.kept == list(NECESSARY_ONLY)


def test_a_cookie_named_like_the_consent_cookie_does_not_count(client: ClientFactory) -> None:
    valid = client.token(dict.fromkeys(client.policy.optional_ids, True))
    assert client.get("/", cookies=[("xconsent_mw", valid)]).body["allows"] == GDPR_NONE
    assert client(cookie_name="cmw").get("/", cookies=[("cmw", valid)]).body["allows"] == GDPR_ALL


# -- where the visitor is ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "headers", "regime", "allows"),
    [
        ({}, {}, "gdpr", GDPR_NONE),
        ({"country": "US"}, {}, "ccpa", GDPR_NONE),  # the gdpr preset has no default-on
        ({"policy": "ccpa"}, {}, "ccpa", GDPR_ALL),
        ({"policy": "ccpa", "country": "DE"}, {}, "gdpr", GDPR_NONE),
        ({"policy": "ccpa", "country": "kr"}, {}, "pipa", GDPR_NONE),
        ({"policy": "ccpa", "country": CountryHeader()}, {"cf-ipcountry": "FR"}, "gdpr", GDPR_NONE),
        ({"policy": "ccpa", "country": CountryHeader()}, {"cf-ipcountry": "US"}, "ccpa", GDPR_ALL),
        ({"policy": "ccpa", "country": CountryHeader()}, {"cf-ipcountry": "XX"}, "ccpa", GDPR_ALL),
        (
            {"policy": "ccpa", "country": CountryHeader()},
            {"cf-ipcountry": "US", "sec-gpc": "1"},
            "ccpa",
            GDPR_NO_ADS,
        ),
        ({"policy": "ccpa", "country": lambda facts: "de"}, {}, "gdpr", GDPR_NONE),
        ({"policy": "ccpa", "country": lambda facts: 1 / 0}, {}, "ccpa", GDPR_ALL),
    ],
)
def test_country_regime(
    client: ClientFactory,
    options: dict[str, Any],
    headers: dict[str, str],
    regime: str,
    allows: dict[str, bool],
) -> None:
    body = client(**options).get("/", headers=headers).body
    assert (body["regime"], body["allows"]) == (regime, allows)
