"""Expiry of refused tracker cookies as a browser meets it, through both adapters: at most
2 KiB of expiry headers per response (the README's figure), never a Domain a visitor's
Host header smuggles in, and every expirable cookie gone after a few pages.

Only the public middlewares are used, so these run unchanged against any version."""

from __future__ import annotations

import pytest

from support.harness import ClientFactory, Result

BUDGET = 2048  # bytes of expiry header lines per response, as documented
TRACKERS = (
    "_ga",
    "_ga_ABC123",
    "_gid",
    "_gcl_au",
    "_fbp",
    "_fbc",
    "_ttp",
    "_uetsid",
    "_uetvid",
    "_clck",
    "_clsk",
    "_hjSessionUser_123",
)
UK_SHOP = "www.shop.example.co.uk"


def expiries(result: Result) -> list[str]:
    return [v for v in result.headers_named("set-cookie") if "Max-Age=0" in v]


def expiry_bytes(result: Result) -> int:
    return sum(len("set-cookie: \r\n") + len(v) for v in expiries(result))


def test_a_30_kb_cookie_header_of_junk_names_gives_bounded_bytes(client: ClientFactory) -> None:
    cookies = [(f"_ga_{n}", "1") for n in range(4000)]  # 32 KB of "_ga_N=1; "
    result = client.get("/plain", cookies=cookies, host=UK_SHOP)
    assert result.status == 200
    assert expiries(result) and expiry_bytes(result) <= BUDGET


def test_a_browser_loses_every_expirable_tracker_within_a_few_pages(
    client: ClientFactory,
) -> None:
    # "_ga_STUCK" stands for a cookie set with another Path: the browser keeps sending it
    # whatever we answer. It must not hold the others up.
    jar = dict.fromkeys(("_ga_STUCK", *TRACKERS), "GA1.2.3")
    pages = 0
    while set(jar) != {"_ga_STUCK"} and pages < 20:
        result = client.get("/plain", cookies=list(jar.items()), host=UK_SHOP)
        pages += 1
        assert result.status == 200 and expiry_bytes(result) <= BUDGET
        # A browser deletes a cookie only when every Domain it may be on was named.
        for name in {c.name for c in result.set_cookies if c.is_expiry}:
            domains = {c.domain for c in result.set_cookies if c.is_expiry and c.name == name}
            everywhere = domains == {None, UK_SHOP, "shop.example.co.uk", "example.co.uk"}
            if everywhere and name != "_ga_STUCK":
                del jar[name]
    assert set(jar) == {"_ga_STUCK"}
    assert pages <= 4


@pytest.mark.parametrize(
    "forwarded_host",
    ["evil.example.com; Secure", "a b.example.com", "a." * 1000 + "example.com"],
)
def test_a_host_that_is_no_dns_name_gives_host_only_expiries(
    client: ClientFactory, forwarded_host: str
) -> None:
    result = client(trust_forwarded=True).get(
        "/plain", cookies=[("_ga", "1")], headers={"x-forwarded-host": forwarded_host}
    )
    assert result.status == 200
    assert result.expired == {("_ga", None)}
    assert not any(c.flags for c in result.set_cookies if c.is_expiry)
