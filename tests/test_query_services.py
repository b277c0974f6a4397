"""Filtering and counting by service on the query surface: Python, HTTP and the CLI,
over every ledger backend ("how many visitors allow Meta")."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from consent_mw import MemoryStore
from consent_mw.cli import main
from consent_mw.query import Caller, Filters, QueryService, create_app
from consent_mw.query.adfeed import AdsFeed
from consent_mw.query.errors import BadQuery
from consent_mw.stores.base import BaseStore
from support.query import NOW, READ_TOKEN, TOKEN_LINES, make_record
from support.query import ledger_fixture as ledger_fixture  # noqa: F401  (fixture)
from support.redis_servers import (  # noqa: F401  (session fixtures)
    redis_cluster_nodes_fixture,
    redis_standalone_fixture,
)
from support.services import GOOGLE_AND_META, gdpr_with_ad_services

POLICY = gdpr_with_ad_services("Meta", "TikTok", "Kakao")
READ = {"authorization": f"Bearer {READ_TOKEN}"}


def seed(store: BaseStore) -> None:
    """10 allow advertising whole, 4 allow Meta alone, 3 Meta no and TikTok yes, 5 refuse."""
    n = 0
    for count, advertising, services in (
        (10, True, {}),
        (4, False, {"advertising": {"Meta": True}}),
        (3, False, {"advertising": {"Meta": False, "TikTok": True}}),
        (5, False, {}),
    ):
        for _ in range(count):
            n += 1
            record = make_record(f"s{n:03d}", at=NOW + n, advertising=advertising)
            store.append(replace(record, services=services))


@pytest.fixture
def ledger_seeded(ledger: Callable[..., BaseStore]) -> BaseStore:
    store = ledger()
    seed(store)
    return store


def test_python_counts_and_filters(ledger_seeded: BaseStore) -> None:
    service = QueryService(ledger_seeded, policy=POLICY, caller=Caller("t"), clock=lambda: NOW)
    assert service.allowing("advertising", "Meta") == 14
    assert service.allowing("advertising", "TikTok") == 13
    assert service.allowing("advertising", "Kakao") == 10  # listed, never chosen alone
    (table,) = service.stats()["policy_versions"]
    assert table["subjects"] == 22
    assert table["categories"]["advertising"] == {"granted": 10, "denied": 12}
    assert table["services"]["advertising"]["Meta"] == {"granted": 4, "denied": 3, "allowed": 14}
    assert table["services"]["advertising"]["Kakao"] == {"granted": 0, "denied": 0, "allowed": 10}
    rows = list(service.export(Filters(category="advertising", service="Meta")))
    assert len(rows) == 14
    refusing = list(service.export(Filters(category="advertising", service="Meta", granted=False)))
    assert len(refusing) == 8
    assert {tuple(r["services"].get("advertising", {}).items()) for r in refusing} == {
        (),
        (("Meta", False), ("TikTok", True)),
    }


def test_service_filter_needs_a_category() -> None:
    with pytest.raises(BadQuery, match="service needs category"):
        Filters.from_params({"service": "Meta"})
    with pytest.raises(BadQuery, match="service"):
        Filters.from_params({"category": "advertising", "service": 'Me"ta'})


@pytest.fixture
def api(ledger_seeded: BaseStore) -> Iterator[TestClient]:
    with TestClient(create_app(ledger_seeded, policy=POLICY, tokens=TOKEN_LINES)) as client:
        yield client


def test_http_stats_and_export_by_service(api: TestClient) -> None:
    stats = api.get("/stats", headers=READ).json()
    meta = stats["policy_versions"][0]["services"]["advertising"]["Meta"]
    assert meta == {"granted": 4, "denied": 3, "allowed": 14}
    params = {"category": "advertising", "service": "TikTok"}
    with api.stream("GET", "/export", params=params, headers=READ) as response:
        assert response.status_code == 200
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert len(lines) == 13
    bad = api.get("/export", params={"service": "Meta"}, headers=READ)
    assert bad.status_code == 400 and bad.json()["error"] == "bad_filter"


def test_cli_stats_and_export_by_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from consent_mw import store_from_url

    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    store = store_from_url(url)
    seed(store)
    store.close()
    monkeypatch.setenv("CONSENT_MW_STORE", url)
    monkeypatch.delenv("CONSENT_MW_POLICY", raising=False)
    assert main(["stats"]) == 0
    out = capsys.readouterr().out
    assert "advertising/Meta: allowed 14 (on its own: granted 4, denied 3)" in out
    assert main(["export", "--category", "advertising", "--service", "Meta"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 14
    assert main(["export", "--service", "Meta"]) == 2
    assert "service needs category" in capsys.readouterr().err


def test_google_platform_fields_follow_a_per_service_grant_of_google() -> None:
    # Consent Mode on the page grants Google's ad types when Google's service is allowed
    # alone; the uploads the ad team sends must say the same, and nothing for Meta alone.
    policy = gdpr_with_ad_services(*GOOGLE_AND_META)
    store = MemoryStore()
    for subject, services in (("google", {"Google": True}), ("meta", {"Meta": True})):
        record = make_record(subject, at=NOW, advertising=False, version="2026-11")
        store.append(replace(record, services={"advertising": services}))
    feed = AdsFeed(QueryService(store, policy=policy, clock=lambda: NOW + 1))
    answers = {r["id"]: r for r in feed.platforms(["google", "meta"])["results"]}
    for subject, want in (("google", "GRANTED"), ("meta", "DENIED")):
        answer = answers[subject]
        assert answer["state"] is not None and answer["state"]["personalised_ads"] is False
        assert answer["platforms"]["google_ads_customer_match"]["consent"] == {
            "ad_user_data": want,
            "ad_personalization": want,
        }
    change = feed.changes("0", limit=10)["changes"][0]
    assert change["platforms"]["ga4_measurement_protocol"]["consent"]["ad_user_data"] == "GRANTED"
