"""Expiry of refused tracker cookies: never on a public suffix, bounded per response, and
every expirable cookie gone after enough responses (see :mod:`consent_mw.core.expiry`)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from publicsuffixlist import PublicSuffixList

from consent_mw import Config, ConfigError, MemoryStore
from consent_mw.core.expiry import BUDGET, Expiry, cookie_domains, expiry_value
from support.harness import SECRET, ClientFactory
from test_expiry_served import TRACKERS, UK_SHOP

PSL = PublicSuffixList()


def header_bytes(values: list[bytes]) -> int:
    return sum(len(b"set-cookie: \r\n") + len(value) for value in values)


def domains_of(values: list[bytes]) -> set[str | None]:
    return {v.decode().partition("Domain=")[2] or None for v in values}


@pytest.mark.parametrize(
    ("host", "domains"),
    [
        (UK_SHOP, (UK_SHOP, "shop.example.co.uk", "example.co.uk")),
        ("WWW.Shop.Example.co.uk.:8443", (UK_SHOP, "shop.example.co.uk", "example.co.uk")),
        ("example.co.uk", ("example.co.uk",)),
        ("co.uk", ()),
        ("a.b.example.com", ("a.b.example.com", "b.example.com", "example.com")),
        ("me.github.io", ("me.github.io",)),
        ("github.io", ()),
        ("shop.example.kr", ("shop.example.kr", "example.kr")),
        ("shop.example.co.kr", ("shop.example.co.kr", "example.co.kr")),
        ("localhost", ()),
        ("localhost:8000", ()),
        ("testserver", ()),
        ("", ()),
        ("127.0.0.1", ()),
        ("127.0.0.1:8000", ()),
        ("[::1]:8000", ()),
        ("[2001:db8::1]", ()),
    ],
)
def test_cookie_domains_stop_at_the_registrable_domain(host: str, domains: tuple[str, ...]) -> None:
    assert cookie_domains(host) == domains


def test_configured_domains_only_where_a_browser_would_take_them() -> None:
    extra = (".example.co.uk", "other.example", "co.uk", "shop.example.co.uk", "sub.www.shop")
    assert cookie_domains(UK_SHOP, extra) == (UK_SHOP, "shop.example.co.uk", "example.co.uk")
    # An unknown TLD is a suffix (the list's default rule, as browsers apply it).
    assert cookie_domains("intranet.corp", ("corp",)) == ("intranet.corp",)


@pytest.mark.parametrize(
    "domains",
    [
        "example.com",  # a string, not a list: taken letter by letter before
        ["example.com; Secure"],
        ["example .com"],
        ["https://example.com"],
        ["example.com/"],
        ["*.example.com"],
        [""],
        [42],
    ],
)
def test_cookie_domains_that_are_no_domain_names_stop_start_up(domains: Any) -> None:
    with pytest.raises(ConfigError, match="cookie_domains"):
        Config.build(policy="gdpr", secret_key=SECRET, store=MemoryStore(), cookie_domains=domains)


def test_cookie_domains_may_name_suffixes_and_single_labels() -> None:
    # Dropped per request instead (a later Public Suffix List must not stop start-up).
    domains = [".example.com", "Example.CO.uk", "co.uk", "localhost", " shop.example.com "]
    config = Config.build(
        policy="gdpr", secret_key=SECRET, store=MemoryStore(), cookie_domains=domains
    )
    found = cookie_domains(UK_SHOP, tuple(config.cookie_domains))
    assert found == (UK_SHOP, "shop.example.co.uk", "example.co.uk")


def test_an_expiry_value_is_short_and_complete() -> None:
    assert expiry_value("_ga") == "_ga=; Max-Age=0; Path=/"
    assert expiry_value("_ga", "example.co.uk") == "_ga=; Max-Age=0; Path=/; Domain=example.co.uk"


def test_twelve_trackers_on_a_co_uk_host_fit_the_budget_and_name_no_suffix() -> None:
    expiry = Expiry()
    values = expiry.headers(TRACKERS, UK_SHOP)
    assert values and header_bytes(values) <= BUDGET
    assert domains_of(values) == {None, UK_SHOP, "shop.example.co.uk", "example.co.uk"}
    # Every name sent gets all four: none is half expired.
    names = [v.partition(b"=")[0] for v in values]
    assert all(names.count(name) == 4 for name in set(names))


def test_every_expirable_cookie_goes_within_a_few_responses() -> None:
    # The browser stops sending a cookie once it is expired; one set with another Path
    # (never deletable from here) keeps coming and must not hold the others up.
    expiry = Expiry()
    sent = ["_never", *TRACKERS]
    for _ in range(len(sent) + 1):
        values = expiry.headers(sent, UK_SHOP)
        gone = {v.partition(b"=")[0].decode() for v in values}
        sent = [name for name in sent if name == "_never" or name not in gone]
        if sent == ["_never"]:
            break
    assert sent == ["_never"]


def test_a_huge_cookie_header_gives_bounded_work_and_bytes() -> None:
    names = [f"_ga_{n}" for n in range(4000)]  # ~30 KB of "_ga_N=1; "
    values = Expiry().headers(names, UK_SHOP)
    assert 0 < header_bytes(values) <= BUDGET
    assert len(values) <= BUDGET // len(b"set-cookie: _ga_0=; Max-Age=0; Path=/\r\n")


def test_duplicate_names_are_expired_once() -> None:
    values = Expiry().headers(["_ga", "_ga", "_ga"], "example.com")
    assert len(values) == 2


def test_a_name_whose_expiries_never_fit_does_not_stop_the_others() -> None:
    expiry = Expiry()
    long_name = "_x" * 600
    seen: set[bytes] = set()
    for _ in range(3):
        seen.update(v.partition(b"=")[0] for v in expiry.headers([long_name, "_ga"], UK_SHOP))
    assert seen == {b"_ga"}


hosts = st.one_of(
    st.sampled_from([UK_SHOP, "a.github.io", "localhost", "10.0.0.1:80", "[::1]", "co.uk"]),
    st.lists(st.sampled_from(["www", "shop", "example", "co", "uk", "com", "kr", "io"]))
    .filter(bool)
    .map(".".join),
)
names = st.lists(st.from_regex(r"[A-Za-z0-9_]{1,60}", fullmatch=True), max_size=300)


@settings(max_examples=200, deadline=None)
@given(host=hosts, names=names)
def test_never_over_budget_nor_on_a_public_suffix(host: str, names: list[str]) -> None:
    values = Expiry().headers(names, host)
    assert header_bytes(values) <= BUDGET
    for domain in domains_of(values) - {None}:
        assert domain is not None and not PSL.is_public(domain)


# -- through both adapters ----------------------------------------------------------------------


def test_a_uk_visitor_who_refused_gets_bounded_expiries(client: ClientFactory) -> None:
    cookies = [(name, "1") for name in TRACKERS]
    result = client.get("/plain", cookies=cookies, host=UK_SHOP)
    assert result.status == 200
    expiries = [v for v in result.headers_named("set-cookie") if "Max-Age=0" in v]
    assert expiries
    assert sum(len("set-cookie: \r\n") + len(v) for v in expiries) <= BUDGET
    assert all("Domain=co.uk" not in v and "Domain=uk" not in v for v in expiries)
