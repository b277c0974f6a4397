"""The bounds of :mod:`consent_mw.core.expiry` against what a visitor controls: the Host
header (no DNS name, too deep) and the Cookie header (thousands of names, names that never
fit), for any input."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from publicsuffixlist import PublicSuffixList

from consent_mw.core.expiry import (
    BUDGET,
    MAX_DOMAINS,
    SCAN,
    Expiry,
    _domain_plan,
    cookie_domains,
)
from test_expiry import TRACKERS, UK_SHOP, header_bytes

PSL = PublicSuffixList()
DNS_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)+\Z")


class CountingNames(Sequence[str]):
    """A refused-name list that counts how many names were read (iterating reads each)."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.read = 0

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: Any) -> Any:
        found = self.names[index]
        self.read += len(found) if isinstance(index, slice) else 1
        return found


@pytest.mark.parametrize(
    "host",
    [
        "evil.example.com; Secure",  # would add an attribute to every expiry
        "a b.example.com",
        "a.example.com,b.example.com",
        "*.example.com",
        "\xfc.example.com",  # raw UTF-8 seen as latin-1: browsers send punycode
        "a.example.com:80:90",
        "1.2.3",  # an IPv4 address to a browser (the last label is a number)
        "0x7f.1",
        "a..example.com",
        "a." * 4000 + "example.com",  # 8 KB of labels: 4,001 Domains and 16 MB before
    ],
)
def test_a_host_that_is_no_dns_name_gets_the_host_only_expiry(host: str) -> None:
    assert cookie_domains(host) == ()
    assert Expiry().headers(["_ga"], host) == [b"_ga=; Max-Age=0; Path=/"]


def test_a_host_longer_than_a_dns_name_is_not_remembered() -> None:
    # A visitor choosing the Host must not fill the per-host memo with kilobytes each.
    _domain_plan.cache_clear()
    expiry = Expiry()
    for n in range(50):
        host = f"a{n}." * 100 + "example.com"
        assert expiry.headers(["_ga"], host) == [b"_ga=; Max-Age=0; Path=/"]
    assert _domain_plan.cache_info().currsize == 0
    longest = "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".com.:65535"
    assert len(cookie_domains(longest)) == 4
    assert len(expiry.headers(["_ga"], longest)) == 5


def test_a_deep_host_keeps_itself_and_the_levels_nearest_its_registrable_domain() -> None:
    host = "a.b.c.d.e.f.example.com"
    assert cookie_domains(host) == (
        host,
        "d.e.f.example.com",
        "e.f.example.com",
        "f.example.com",
        "example.com",
    )
    assert len(cookie_domains(host)) == MAX_DOMAINS


def test_underscores_and_punycode_are_names() -> None:
    assert cookie_domains("my_app.example.com") == ("my_app.example.com", "example.com")
    assert cookie_domains("www.xn--bcher-kva.de") == ("www.xn--bcher-kva.de", "xn--bcher-kva.de")


def test_one_response_reads_a_bounded_number_of_names() -> None:
    names = CountingNames([f"_ga_{n}" for n in range(4000)])  # a 30 KB Cookie header
    expiry = Expiry()
    for _ in range(3):
        values = expiry.headers(names, UK_SHOP)
        assert 0 < header_bytes(values) <= BUDGET
    assert names.read <= 3 * SCAN


def test_the_turn_reaches_names_past_the_scan() -> None:
    names = [f"_ga_{n}" for n in range(SCAN * 3)]
    expiry = Expiry()
    seen: set[bytes] = set()
    for _ in range(len(names)):
        seen.update(v.partition(b"=")[0] for v in expiry.headers(names, "example.com"))
    assert seen == {name.encode() for name in names}


def test_a_name_that_never_fits_does_not_empty_the_response_it_starts() -> None:
    expiry = Expiry()
    values = expiry.headers(["_x" * 600, "_ga"], UK_SHOP)  # the turn starts at the long one
    assert {v.partition(b"=")[0] for v in values} == {b"_ga"}


def test_the_same_name_twice_in_the_scan_is_expired_once() -> None:
    # Browsers send both a host-only _ga and one on the parent domain.
    values = Expiry().headers(["_ga", "_gid", "_ga"], UK_SHOP)
    assert len(values) == 2 * (1 + len(cookie_domains(UK_SHOP)))


def test_a_small_budget_is_kept_exactly() -> None:
    expiry = Expiry(budget=300)
    for _ in range(len(TRACKERS)):
        assert header_bytes(expiry.headers(TRACKERS, UK_SHOP)) <= 300


# Hosts as a visitor may send them: real names, junk, ports, brackets, deep names.
labels = st.sampled_from(["www", "shop", "example", "co", "uk", "com", "github", "io", "a-b"])
any_host = st.one_of(
    st.lists(labels, min_size=1, max_size=12).map(".".join),
    st.text(max_size=80),
    st.text(alphabet="abc.:;, []-_0123456789x\t", max_size=40),
    st.builds(lambda h, p: f"{h}:{p}", st.lists(labels, min_size=1).map(".".join), st.integers()),
)
cookie_names = st.lists(st.from_regex(r"[A-Za-z0-9_]{1,80}", fullmatch=True), max_size=200)


@settings(max_examples=300, deadline=None)
@given(host=any_host, names=cookie_names, turns=st.integers(min_value=1, max_value=4))
def test_any_host_and_names_give_bounded_complete_browser_valid_expiries(
    host: str, names: list[str], turns: int
) -> None:
    expiry = Expiry()
    bare = host.strip().lower()
    bare = (bare.rpartition(":")[0] if bare.count(":") == 1 else bare).rstrip(".")
    for _ in range(turns):
        values = [v.decode("latin-1") for v in expiry.headers(names, host)]
        assert header_bytes([v.encode("latin-1") for v in values]) <= BUDGET
        by_name: dict[str, list[str | None]] = {}
        for value in values:
            name, _, rest = value.partition("=")
            domain = rest.partition("; Domain=")[2] or None
            by_name.setdefault(name, []).append(domain)
        domains = {d for found in by_name.values() for d in found} - {None}
        assert len(domains) <= MAX_DOMAINS
        for domain in domains:
            assert domain is not None and DNS_NAME.match(domain)
            assert not PSL.is_public(domain)
            # A browser takes a Domain only if the host domain-matches it (RFC 6265 5.1.3).
            assert bare == domain or bare.endswith("." + domain)
        # Every name sent is sent on every Domain: none half expired.
        assert all(len(found) == 1 + len(domains) for found in by_name.values())
