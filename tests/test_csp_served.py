"""The browser policy through both adapters: which responses carry it, how it varies by
decision, the report endpoint and its refusals, and the inventory the reports feed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from consent_mw import MemoryStore, Policy
from consent_mw.core.host_audit import HOST_AUDIT_KIND, summarise_hosts
from consent_mw.query.service import QueryService
from support.harness import CLIENT_IP, HOST, consent_token
from support.html_apps import AppRequest, Harness, Reply, build, html

REPORT = "/_consent/csp-report"


def app(request: AppRequest) -> Reply:
    if request.path == "/data":
        return Reply(chunks=(b"{}",), headers=[("Content-Type", "application/json")])
    if request.path == "/own-csp":
        return html(
            headers=[("Content-Security-Policy", "script-src 'nonce-abc' 'strict-dynamic'")]
        )
    return html(b"<!doctype html><title>t</title><p>hi</p>")


@pytest.fixture(params=["asgi", "wsgi"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def harness(kind: str, store: MemoryStore | None = None, **options: Any) -> Harness:
    return build(kind, app, store=store or MemoryStore(), **options)


def csp_of(result: Any, name: str = "content-security-policy") -> list[str]:
    return result.headers_named(name)


def test_off_by_default(kind: str) -> None:
    page = harness(kind).get("/")
    assert csp_of(page) == [] and csp_of(page, "content-security-policy-report-only") == []
    assert page.header("permissions-policy") is None
    assert (
        harness(kind)
        .request("POST", REPORT, body=b"{}", content_type="application/csp-report")
        .status
        == 404
    )


def test_enforce_on_html_only_and_per_decision(kind: str) -> None:
    client = harness(kind, csp="enforce")
    refused = client.get("/")
    assert len(csp_of(refused)) == 1
    assert "googletagmanager.com" not in csp_of(refused)[0]
    assert refused.header("permissions-policy") is not None
    # Consent-dependent: never shared by a cache between visitors.
    assert "cookie" in (refused.header("vary") or "").lower()
    assert "private" in (refused.header("cache-control") or "")
    token = consent_token(Policy.preset("gdpr"), {"analytics": True, "advertising": True})
    allowed = client.get("/", cookies={"consent_mw": token})
    assert "googletagmanager.com" in csp_of(allowed)[0]
    assert "connect.facebook.net" in csp_of(allowed)[0]
    assert allowed.header("permissions-policy") is None
    data = client.get("/data")
    assert csp_of(data) == [] and data.header("permissions-policy") is None


def test_report_mode_is_report_only(kind: str) -> None:
    page = harness(kind, csp="report").get("/")
    assert csp_of(page) == []
    assert len(csp_of(page, "content-security-policy-report-only")) == 1


def test_the_apps_own_policy_is_kept_beside_ours(kind: str) -> None:
    page = harness(kind, csp="enforce").get("/own-csp")
    policies = csp_of(page)
    assert "script-src 'nonce-abc' 'strict-dynamic'" in policies
    assert len(policies) == 2


def test_secure_pages_name_a_reporting_endpoint(kind: str) -> None:
    page = harness(kind, csp="report").get("/", scheme="https")
    assert page.header("reporting-endpoints") == f'consent-mw="{REPORT}"'
    assert csp_of(page, "content-security-policy-report-only")[0].endswith("report-to consent-mw")
    assert harness(kind, csp="report").get("/").header("reporting-endpoints") is None


def test_state_names_the_mode(kind: str) -> None:
    assert harness(kind, csp="enforce").get("/_consent").body["state"]["csp"] == "enforce"
    assert harness(kind).get("/_consent").body["state"]["csp"] == "off"


def legacy_report(
    blocked: str, directive: str = "img-src", page: str = f"http://{HOST}/shop"
) -> bytes:
    return json.dumps(
        {
            "csp-report": {
                "document-uri": page,
                "blocked-uri": blocked,
                "effective-directive": directive,
            }
        }
    ).encode()


def test_reports_feed_the_inventory(kind: str) -> None:
    store = MemoryStore()
    client = harness(kind, store, csp="report")
    for _ in range(3):
        sent = client.request(
            "POST",
            REPORT,
            body=legacy_report("https://www.facebook.com/tr?id=1&ev=PageView"),
            content_type="application/csp-report",
        )
        assert sent.status == 204 and sent.raw == b""
    batch = json.dumps(
        [
            {
                "type": "csp-violation",
                "url": f"https://{HOST}/cart",
                "body": {
                    "documentURL": f"https://{HOST}/cart",
                    "blockedURL": "https://cdn.segment.com/analytics.js",
                    "effectiveDirective": "script-src-elem",
                },
            }
        ]
    ).encode()
    sent = client.request("POST", REPORT, body=batch, content_type="application/reports+json")
    assert sent.status == 204
    client.middleware.recorder.close()
    events = [e for e in store.events(limit=100) if e.kind == HOST_AUDIT_KIND]
    assert events, "reports reached the ledger"
    rows = {(r["host"], r["path"]): r for r in summarise_hosts(events)}
    assert rows[("www.facebook.com", "/shop")]["category"] == "advertising"
    assert rows[("cdn.segment.com", "/cart")]["directive"] == "script-src-elem"
    # The query surface shows the same inventory.
    inventory = QueryService(store).inventory()
    assert {(r["host"], r["path"]) for r in inventory} == set(rows)
    # Nothing but the three facts is kept: no query string, no sample.
    assert all("id=1" not in json.dumps(e.device) for e in events)


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("text/plain", legacy_report("https://t.example/"), 415),
        ("application/csp-report", b"{nope", 400),
        ("application/csp-report", b"[1, 2", 400),
        ("application/reports+json", json.dumps([{}] * 101).encode(), 400),
        ("application/csp-report", b"x" * 200_000, 413),
    ],
)
def test_bad_reports_are_refused_and_not_echoed(
    kind: str, content_type: str, body: bytes, status: int
) -> None:
    store = MemoryStore()
    client = harness(kind, store, csp="enforce")
    answer = client.request("POST", REPORT, body=body, content_type=content_type)
    assert answer.status == status
    assert (answer.header("content-type") or "").startswith("application/json")
    assert b"nope" not in answer.raw and b"xxxx" not in answer.raw
    client.middleware.recorder.close()
    assert not [e for e in store.events(limit=100) if e.kind == HOST_AUDIT_KIND]


def test_a_flood_gets_429(kind: str) -> None:
    client = harness(kind, csp="enforce")
    body = legacy_report("https://t.example/x")
    statuses = [
        client.request("POST", REPORT, body=body, content_type="application/csp-report").status
        for _ in range(40)
    ]
    assert statuses[:30] == [204] * 30
    assert set(statuses[30:]) == {429}
    # Other methods: 405 with Allow.
    assert client.get(REPORT).status == 405


def test_reports_from_one_client_do_not_limit_another(kind: str) -> None:
    client = harness(kind, csp="enforce", trust_forwarded=True)
    body = legacy_report("https://t.example/x")

    def send(ip: str) -> int:
        return client.request(
            "POST",
            REPORT,
            body=body,
            content_type="application/csp-report",
            headers={"x-forwarded-for": ip},
        ).status

    assert [send("198.51.100.1") for _ in range(31)][-1] == 429
    assert send(CLIENT_IP) == 204


def test_bad_csp_option_fails_at_start_up(kind: str) -> None:
    from consent_mw.exceptions import ConfigError

    with pytest.raises(ConfigError, match="csp must be 'off', 'report' or 'enforce'"):
        harness(kind, csp="strict")


def test_the_policy_file_sets_the_mode_and_the_option_wins(kind: str) -> None:
    from consent_mw.policy.presets import preset_dict

    policy = {**preset_dict("gdpr"), "csp": "enforce"}
    assert len(csp_of(harness(kind, policy=policy).get("/"))) == 1
    page = harness(kind, policy=policy, csp="report").get("/")
    assert csp_of(page) == []
    assert len(csp_of(page, "content-security-policy-report-only")) == 1
    assert csp_of(harness(kind, policy=policy, csp="off").get("/")) == []


def test_a_workers_script_gets_the_policy_too(kind: str) -> None:
    client = harness(kind, csp="enforce")
    script = client.get("/data", headers={"sec-fetch-dest": "worker"})
    assert len(csp_of(script)) == 1
    assert "private" in (script.header("cache-control") or "")
    assert csp_of(client.get("/data", headers={"sec-fetch-dest": "script"})) == []


def test_a_large_reporting_batch_is_taken_beyond_max_body_size(kind: str) -> None:
    # A Reporting API batch repeats the whole policy in every report: 30 reports are
    # well over the default max_body_size (8 KiB), within the report limit (64 KiB).
    store = MemoryStore()
    client = harness(kind, store, csp="report")
    report = {
        "type": "csp-violation",
        "url": f"https://{HOST}/p",
        "body": {
            "documentURL": f"https://{HOST}/p",
            "blockedURL": "https://cdn.segment.com/a.js",
            "effectiveDirective": "script-src-elem",
            "originalPolicy": "default-src 'self' " + "x.example " * 60,
        },
    }
    body = json.dumps([report] * 30).encode()
    assert 8192 < len(body) < 64 * 1024
    sent = client.request("POST", REPORT, body=body, content_type="application/reports+json")
    assert sent.status == 204
    # Other endpoints keep max_body_size.
    big = client.request(
        "POST",
        "/_consent",
        body=b"{" + b" " * 9000 + b"}",
        content_type="application/json",
        headers={"origin": f"http://{HOST}"},
    )
    assert big.status == 413
