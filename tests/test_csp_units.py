"""The browser policy compiler, the report reader and the host inventory, without a server
(the middleware and the browser: test_csp_served.py and browser/test_browser_enforce.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from consent_mw import Policy
from consent_mw.core.csp import AD_FEATURES, BrowserPolicy, host_sources
from consent_mw.core.host_audit import HOST_AUDIT_KIND, HostAudit, summarise_hosts
from consent_mw.stores.base import Event
from consent_mw.web.csp_reports import MAX_REPORTS, ReportError, Violation, read_reports

REPORT_PATH = "/_consent/csp-report"


def policy_with_hosts() -> Policy:
    return Policy.preset(
        "gdpr",
        locales=["en"],
        categories=[
            {
                "id": "necessary",
                "required": True,
                "title": {"en": "Necessary"},
                "description": {"en": "Needed"},
                "hosts": ["cdn.shop.example", "js.stripe.com"],
            },
            {
                "id": "analytics",
                "title": {"en": "Analytics"},
                "description": {"en": "Counting"},
                "hosts": ["stats.shop.example"],
            },
            {
                "id": "advertising",
                "title": {"en": "Ads"},
                "description": {"en": "Ads"},
            },
        ],
    )


# -- host sources ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "sources"),
    [
        ("clarity.ms", ["clarity.ms", "*.clarity.ms"]),
        ("Clarity.MS.", ["clarity.ms", "*.clarity.ms"]),
        (
            "facebook.com/tr",
            ["facebook.com/tr", "facebook.com/tr/", "*.facebook.com/tr", "*.facebook.com/tr/"],
        ),
        ("*.cdn.example", ["*.cdn.example"]),
        # Never a source that would widen or break the policy.
        ("", []),
        ("*", []),
        ("'unsafe-inline'", []),
        ("evil.example; script-src *", []),
        ("https://x.example", []),
        ("a b.example", []),
        ("cdn.example/x; script-src *", []),
        ("cdn.example/a,b", []),
        ("cdn.example/\u00e9", []),
    ],
)
def test_host_sources(entry: str, sources: list[str]) -> None:
    assert host_sources(entry) == sources


# -- the compiled policy ---------------------------------------------------------------


def header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    found = [value.decode() for key, value in headers if key == name]
    assert len(found) <= 1
    return found[0] if found else None


def sources_of(csp: str) -> set[str]:
    first = csp.split(";")[0].split()
    assert first[0] == "default-src"
    return set(first[1:])


def test_no_consent_allows_self_and_necessary_hosts_only() -> None:
    browser = BrowserPolicy(policy_with_hosts(), "enforce", REPORT_PATH)
    headers = browser.headers(frozenset(), secure=True)
    csp = header(headers, b"content-security-policy")
    assert csp is not None
    sources = sources_of(csp)
    assert {"'self'", "cdn.shop.example", "js.stripe.com", "data:", "blob:"} <= sources
    # Inline code and eval stay the app's own policy's business.
    assert {"'unsafe-inline'", "'unsafe-eval'"} <= sources
    assert not any("google" in s or "facebook" in s or "stats.shop" in s for s in sources)
    assert header(headers, b"content-security-policy-report-only") is None


def test_analytics_consent_adds_analytics_hosts_not_advertising() -> None:
    browser = BrowserPolicy(policy_with_hosts(), "enforce", REPORT_PATH)
    csp = header(browser.headers(frozenset({"analytics"}), secure=True), b"content-security-policy")
    assert csp is not None
    sources = sources_of(csp)
    assert {"stats.shop.example", "googletagmanager.com", "*.google-analytics.com"} <= sources
    assert not any("facebook" in s or "doubleclick" in s or "tiktok" in s for s in sources)


def test_advertising_consent_adds_ad_hosts_and_drops_the_permissions_policy() -> None:
    browser = BrowserPolicy(policy_with_hosts(), "enforce", REPORT_PATH)
    refused = browser.headers(frozenset({"analytics"}), secure=True)
    allowed = browser.headers(frozenset({"analytics", "advertising"}), secure=True)
    csp = header(allowed, b"content-security-policy")
    assert csp is not None
    assert {"connect.facebook.net", "*.facebook.com/tr", "*.doubleclick.net"} <= sources_of(csp)
    permissions = header(refused, b"permissions-policy")
    assert permissions is not None
    assert [item.strip() for item in permissions.split(",")] == [f"{f}=()" for f in AD_FEATURES]
    assert header(allowed, b"permissions-policy") is None


def test_report_mode_sends_report_only() -> None:
    browser = BrowserPolicy(policy_with_hosts(), "report", REPORT_PATH)
    headers = browser.headers(frozenset(), secure=False)
    assert header(headers, b"content-security-policy") is None
    csp = header(headers, b"content-security-policy-report-only")
    assert csp is not None and f"report-uri {REPORT_PATH}" in csp


def test_report_to_only_on_secure_pages() -> None:
    # Chromium ignores Reporting-Endpoints on plain http and, with report-to in the
    # policy, then sends nothing at all: report-uri alone there.
    browser = BrowserPolicy(policy_with_hosts(), "report", REPORT_PATH)
    plain = browser.headers(frozenset(), secure=False)
    secure = browser.headers(frozenset(), secure=True)
    plain_csp = header(plain, b"content-security-policy-report-only")
    secure_csp = header(secure, b"content-security-policy-report-only")
    assert plain_csp is not None and secure_csp is not None
    assert "report-to" not in plain_csp and header(plain, b"reporting-endpoints") is None
    assert secure_csp.endswith("report-to consent-mw")
    assert header(secure, b"reporting-endpoints") == f'consent-mw="{REPORT_PATH}"'


def test_off_sends_nothing() -> None:
    browser = BrowserPolicy(policy_with_hosts(), "off", REPORT_PATH)
    assert browser.headers(frozenset(), secure=True) == []


def test_compiled_once_per_decision() -> None:
    browser = BrowserPolicy(policy_with_hosts(), "enforce", REPORT_PATH)
    first = browser.headers(frozenset({"analytics"}), secure=True)
    assert browser.headers(frozenset({"analytics"}), secure=True) is first
    assert browser.headers(frozenset(), secure=True) is not first


def test_bad_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="csp must be one of off, report, enforce"):
        BrowserPolicy(policy_with_hosts(), "on", REPORT_PATH)  # type: ignore[arg-type]


# -- reading reports -------------------------------------------------------------------

SITE = "shop.example:8000"


def legacy(
    blocked: Any, directive: Any = "img-src", page: Any = "http://shop.example:8000/a?q=1"
) -> bytes:
    return json.dumps(
        {
            "csp-report": {
                "document-uri": page,
                "blocked-uri": blocked,
                "effective-directive": directive,
                "violated-directive": directive,
                "original-policy": "default-src 'self'",
                "disposition": "enforce",
            }
        }
    ).encode()


def reporting(*bodies: dict[str, Any]) -> bytes:
    return json.dumps(
        [{"type": "csp-violation", "age": 1, "url": "https://x", "body": body} for body in bodies]
    ).encode()


def test_reads_the_report_uri_format() -> None:
    found = read_reports("application/csp-report", legacy("https://www.facebook.com/tr?id=1"), SITE)
    assert found == [Violation("www.facebook.com", "img-src", "/a")]


def test_reads_the_reporting_api_format() -> None:
    body = reporting(
        {
            "documentURL": "https://shop.example/cart",
            "blockedURL": "https://cdn.segment.com/analytics.js/v1/k/analytics.min.js",
            "effectiveDirective": "script-src-elem",
            "disposition": "report",
        },
        {
            "documentURL": "https://shop.example/",
            "blockedURL": "inline",
            "effectiveDirective": "script-src-elem",
        },
    )
    found = read_reports("application/reports+json", body, "shop.example")
    assert found == [Violation("cdn.segment.com", "script-src-elem", "/cart")]


@pytest.mark.parametrize(
    "body",
    [
        legacy("inline"),
        legacy("eval"),
        legacy("data"),
        legacy("blob:https://shop.example/x"),
        legacy(None),
        legacy(["x"]),
        legacy("https://t.example/", directive="sandbox"),
        legacy("https://t.example/", directive=7),
        legacy("https://t.example/", page="https://other.example/"),  # another site's page
        legacy("http://shop.example:8000/own.js"),  # the site itself
        legacy("javascript:alert(1)"),
        legacy("https://" + "a" * 300 + ".example/"),
        legacy("https://exa mple.com/"),
        legacy("https://[::1/"),
        reporting({"documentURL": "http://shop.example:8000/"}),
        json.dumps([{"type": "deprecation", "body": {}}, 3, None, "x"]).encode(),
    ],
)
def test_implausible_reports_are_left_out(body: bytes) -> None:
    assert read_reports("application/csp-report", body, SITE) == []


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("text/plain", legacy("https://t.example/"), 415),
        (None, legacy("https://t.example/"), 415),
        ("application/x-www-form-urlencoded", b"a=b", 415),
        ("application/csp-report", b"{not json", 400),
        ("application/csp-report", b"\xff\xfe", 400),
        ("application/csp-report", b"42", 400),
        ("application/csp-report", b'{"csp-report": 1}', 400),
        ("application/reports+json", json.dumps([{}] * (MAX_REPORTS + 1)).encode(), 400),
    ],
)
def test_requests_that_are_no_reports_are_refused(
    content_type: str | None, body: bytes, status: int
) -> None:
    with pytest.raises(ReportError) as raised:
        read_reports(content_type, body, SITE)
    assert raised.value.status == status


def test_ipv6_site() -> None:
    body = legacy("https://t.example/p", page="http://[::1]:8000/x")
    assert read_reports("application/csp-report; charset=utf-8", body, "[::1]:8000") == [
        Violation("t.example", "img-src", "/x")
    ]


# -- the inventory ---------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_inventory_writes_a_trickle_and_sums_it_back() -> None:
    events: list[Event] = []
    clock = Clock()
    audit = HostAudit(events.append, Policy.preset("gdpr").matcher, clock=clock)
    for _ in range(50):
        audit.notice("www.facebook.com", "img-src", "/a")
        clock.now += 1
    audit.notice("cdn.segment.com", "script-src-elem", "/a")  # known from the shipped registry
    audit.notice("widgets.example-vendor.test", "script-src-elem", "/a")
    # One write on first sight, one a minute later with the count since.
    assert len([e for e in events if e.device["host"] == "www.facebook.com"]) == 1
    clock.now += 60
    audit.notice("www.facebook.com", "img-src", "/a")
    audit.flush()
    assert all(e.kind == HOST_AUDIT_KIND for e in events)
    rows = summarise_hosts(events)
    assert [(r["host"], r["count"], r["category"]) for r in rows] == [
        ("www.facebook.com", 51, "advertising"),
        ("cdn.segment.com", 1, "analytics"),
        ("widgets.example-vendor.test", 1, None),
    ]
    facebook = rows[0]
    assert facebook["first_seen"] == 1_000_000.0
    assert facebook["last_seen"] == clock.now
    assert facebook["directive"] == "img-src" and facebook["path"] == "/a"


def test_inventory_memory_is_bounded() -> None:
    events: list[Event] = []
    audit = HostAudit(events.append, Policy.preset("gdpr").matcher)
    for n in range(10_050):
        audit.notice(f"h{n}.example", "img-src", "/")
    assert len(events) == 10_000


def test_the_report_limiter_keeps_a_bounded_number_of_clients() -> None:
    from consent_mw.web.csp_reports import ReportLimiter

    limiter = ReportLimiter(burst=2, per_minute=0, clients=100)
    assert [limiter.allow("198.51.100.1") for _ in range(3)] == [True, True, False]
    for n in range(1000):
        assert limiter.allow(f"10.0.{n // 256}.{n % 256}")
    assert len(limiter._buckets) == 100
    # The flooding client was forgotten long ago: it starts with a full bucket again.
    assert limiter.allow("198.51.100.1")
