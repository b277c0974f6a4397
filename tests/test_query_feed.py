"""The advertising team's feed through the query surface: Google Ads / GA4 consent
fields, point-in-time answers and the change feed, over HTTP (every backend), Python
and the CLI; every bad input a JSON 4xx."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from consent_mw import ConfigError, MemoryStore, SQLiteStore
from consent_mw.cli import main
from consent_mw.query import QueryService, create_app
from consent_mw.query.adfeed import AdsFeed
from consent_mw.query.feed_commands import parse_time
from consent_mw.query.platforms import platform_consent
from consent_mw.stores.base import BaseStore
from support.query import ADMIN_TOKEN, NOW, READ_TOKEN, TOKEN_LINES, gdpr_policy, make_record
from support.query import ledger_fixture as ledger_fixture  # noqa: F401  (fixture)
from support.redis_servers import (  # noqa: F401  (session fixtures)
    redis_cluster_nodes_fixture,
    redis_standalone_fixture,
)

Ledger = Callable[..., BaseStore]
READ = {"authorization": f"Bearer {READ_TOKEN}"}
CLICK = NOW + 50  # when the click happened: between "granted" and "withdrawn"


def seed(store: BaseStore) -> None:
    store.append(make_record("granted-then-withdrawn", at=NOW, advertising=True))
    store.append(
        make_record("granted-then-withdrawn", at=NOW + 100, advertising=False, action="withdraw")
    )
    store.append(make_record("denied", at=NOW, advertising=False))
    store.append(make_record("late", at=NOW + 200, advertising=True))


@pytest.fixture
def api(ledger: Ledger) -> Iterator[TestClient]:
    store = ledger()
    seed(store)
    app = create_app(store, policy=gdpr_policy(), tokens=TOKEN_LINES, max_wait=0.5)
    with TestClient(app) as client:
        client.backend = ledger.backend  # type: ignore[attr-defined]
        yield client


# -- the platforms' terms ----------------------------------------------------------------


def test_platform_fields_follow_the_advertising_decision() -> None:
    granted = make_record("x", advertising=True)
    assert platform_consent(granted, True) == {
        "google_ads_click_conversion": {"consent": {"ad_user_data": "GRANTED"}},
        "google_ads_customer_match": {
            "consent": {"ad_user_data": "GRANTED", "ad_personalization": "GRANTED"}
        },
        "ga4_measurement_protocol": {
            "consent": {"ad_user_data": "GRANTED", "ad_personalization": "GRANTED"}
        },
    }
    # the policy's judgement wins over the recorded choice (expired, GPC, old version)
    assert platform_consent(granted, False)["google_ads_customer_match"]["consent"] == {
        "ad_user_data": "DENIED",
        "ad_personalization": "DENIED",
    }
    # no policy to judge by: the recorded choice decides
    assert (
        platform_consent(granted, None)["ga4_measurement_protocol"]["consent"]["ad_user_data"]
        == "GRANTED"
    )
    nothing = platform_consent(None, None)
    assert nothing["google_ads_click_conversion"]["consent"]["ad_user_data"] == "UNSPECIFIED"
    assert nothing["ga4_measurement_protocol"]["consent"]["ad_personalization"] == "DENIED"


# -- HTTP ------------------------------------------------------------------------------------


def test_was_the_click_consented_when_it_happened(api: TestClient) -> None:
    then = api.get(
        "/subjects/granted-then-withdrawn/as-of", params={"at": CLICK}, headers=READ
    ).json()
    assert then["found"] is True and then["at"] == CLICK
    assert then["state"]["choices"]["advertising"] is True
    assert then["platforms"]["google_ads_click_conversion"]["consent"]["ad_user_data"] == "GRANTED"
    now = api.post("/platforms", json={"ids": ["granted-then-withdrawn"]}, headers=READ).json()
    assert now["at"] is None
    assert now["results"][0]["platforms"]["google_ads_click_conversion"] == {
        "consent": {"ad_user_data": "DENIED"}
    }
    before = api.get("/subjects/late/as-of", params={"at": CLICK}, headers=READ).json()
    assert before["found"] is False and before["state"] is None
    assert before["platforms"]["google_ads_customer_match"]["consent"]["ad_user_data"] == (
        "UNSPECIFIED"
    )


def test_platforms_in_bulk_at_a_time(api: TestClient) -> None:
    body = {"ids": ["granted-then-withdrawn", "denied", "late", "nobody"], "at": CLICK}
    answer = api.post("/platforms", json=body, headers=READ).json()
    status = [
        r["platforms"]["google_ads_customer_match"]["consent"]["ad_user_data"]
        for r in answer["results"]
    ]
    assert status == ["GRANTED", "DENIED", "UNSPECIFIED", "UNSPECIFIED"]
    assert (answer["found"], answer["missing"]) == (2, 2)


@pytest.mark.parametrize(
    ("route", "kwargs", "status", "code"),
    [
        ("/subjects/denied/as-of", {}, 400, "bad_parameter"),
        ("/subjects/denied/as-of", {"params": {"at": "yesterday"}}, 400, "bad_parameter"),
        ("/subjects/denied/as-of", {"params": {"at": "nan"}}, 400, "bad_parameter"),
        ("/subjects/denied/as-of", {"params": {"at": "-5"}}, 400, "bad_parameter"),
        ("/subjects/denied/as-of", {"params": {"at": "1", "x": "1"}}, 400, "unknown_parameter"),
        ("/changes", {"params": {"cursor": "not-a-cursor"}}, 400, "bad_cursor"),
        ("/changes", {"params": {"limit": "0"}}, 400, "bad_parameter"),
        ("/changes", {"params": {"limit": "5000"}}, 400, "bad_parameter"),
        ("/changes", {"params": {"wait": "31"}}, 400, "bad_parameter"),
        ("/changes", {"params": {"wait": "inf"}}, 400, "bad_parameter"),
    ],
)
def test_bad_feed_queries_are_json_400s(
    api: TestClient, route: str, kwargs: dict[str, Any], status: int, code: str
) -> None:
    cluster = api.backend == "redis-cluster"  # type: ignore[attr-defined]
    if cluster and code == "bad_cursor":
        return  # a cluster keeps no feed: 501 comes first (tested below)
    response = api.get(route, headers=READ, **kwargs)
    assert response.status_code == status, response.text
    assert response.json()["error"] == code


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"ids": "denied"}, 400, "bad_body"),
        ({"ids": ["denied"], "at": "then"}, 400, "bad_parameter"),
        ({"ids": ["denied"], "at": True}, 400, "bad_parameter"),
        ({"ids": ["denied"], "at": 1e13}, 400, "bad_parameter"),
        ({"ids": ["denied"], "extra": 1}, 400, "bad_body"),
        ({"ids": [""]}, 400, "bad_id"),
        ({"ids": [f"s{i}" for i in range(1001)]}, 413, "too_many_ids"),
    ],
)
def test_bad_platform_bodies_are_json_4xx(
    api: TestClient, body: dict[str, Any], status: int, code: str
) -> None:
    response = api.post("/platforms", json=body, headers=READ)
    assert response.status_code == status, response.text
    assert response.json()["error"] == code


def test_the_change_feed_over_http(api: TestClient) -> None:
    if api.backend == "redis-cluster":  # type: ignore[attr-defined]
        response = api.get("/changes", headers=READ)
        assert response.status_code == 501 and response.json()["error"] == "feed_unavailable"
        return
    assert api.get("/changes", headers={}).status_code == 401
    first = api.get("/changes", params={"limit": 3}, headers=READ).json()
    assert [c["record"]["subject_id"] for c in first["changes"]] == [
        "granted-then-withdrawn",
        "granted-then-withdrawn",
        "denied",
    ]
    withdrawal = first["changes"][1]
    assert withdrawal["record"]["action"] == "withdraw"
    assert withdrawal["platforms"]["google_ads_customer_match"]["consent"] == {
        "ad_user_data": "DENIED",
        "ad_personalization": "DENIED",
    }
    assert "ip" not in withdrawal["record"] and "user_agent" not in withdrawal["record"]
    rest = api.get("/changes", params={"cursor": first["next_cursor"]}, headers=READ).json()
    assert [c["record"]["subject_id"] for c in rest["changes"]] == ["late"]
    # nothing new: a long-poll answers empty with the same cursor once the wait is over
    empty = api.get(
        "/changes", params={"cursor": rest["next_cursor"], "wait": "0.2"}, headers=READ
    ).json()
    assert empty == {"changes": [], "next_cursor": rest["next_cursor"]}


def test_a_long_poll_returns_the_change_that_arrives_while_it_waits(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "ledger.sqlite3")
    app = create_app(store, tokens=TOKEN_LINES)
    arrived = threading.Event()
    service = app.state.query_service
    original = service.store.achanges
    calls = 0

    async def changes(*args: Any, **kwargs: Any) -> Any:
        # the second poll of the store finds the change written after the first one
        nonlocal calls
        calls += 1
        if calls == 2:
            store.append(make_record("arrives", at=NOW, advertising=False))
            arrived.set()
        return await original(*args, **kwargs)

    service.store.achanges = changes  # type: ignore[method-assign]
    with TestClient(app) as client:
        answer = client.get("/changes", params={"wait": "30"}, headers=READ).json()
    assert arrived.is_set()
    assert [c["record"]["subject_id"] for c in answer["changes"]] == ["arrives"]
    # one access-log entry for the request, however many polls it took
    log = store.access_log()
    assert [e.action for e in log].count("changes") == 1
    store.close()


def test_create_app_refuses_a_bad_max_wait() -> None:
    with pytest.raises(ConfigError, match="max_wait"):
        create_app(MemoryStore(), tokens=TOKEN_LINES, max_wait=-1)


# -- Python --------------------------------------------------------------------------------


def test_the_python_face_sync_and_async() -> None:
    store = MemoryStore()
    seed(store)
    feed = AdsFeed(QueryService(store, policy=gdpr_policy()))
    assert feed.as_of(["granted-then-withdrawn"], CLICK)["results"][0]["found"] is True
    answer = asyncio.run(feed.aas_of(["granted-then-withdrawn"], NOW + 150))
    assert answer["results"][0]["platforms"]["ga4_measurement_protocol"]["consent"] == {
        "ad_user_data": "DENIED",
        "ad_personalization": "DENIED",
    }
    assert feed.end() == "4" and asyncio.run(feed.aend()) == "4"
    page = feed.changes("2", limit=10)
    assert [c["cursor"] for c in page["changes"]] == ["3", "4"]
    assert asyncio.run(feed.achanges("3"))["changes"][0]["record"]["subject_id"] == "late"
    assert asyncio.run(feed.aplatforms(["denied"]))["found"] == 1
    actions = [e.action for e in store.access_log()]
    assert {"as_of", "changes", "feed_end", "platforms"} <= set(actions)


# -- CLI ----------------------------------------------------------------------------------


@pytest.fixture
def ledger_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    store = SQLiteStore(tmp_path / "ledger.sqlite3")
    seed(store)
    store.close()
    monkeypatch.setenv("CONSENT_MW_STORE", url)
    monkeypatch.delenv("CONSENT_MW_POLICY", raising=False)
    return url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_as_of_and_platforms(ledger_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "as-of", "--at", str(CLICK), "granted-then-withdrawn", "late")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["found"] for r in rows] == [True, False]
    click = rows[0]["platforms"]["google_ads_click_conversion"]["consent"]["ad_user_data"]
    assert click == "GRANTED"
    code, out, _ = run(capsys, "platforms", "granted-then-withdrawn")
    assert json.loads(out)["platforms"]["google_ads_click_conversion"]["consent"] == {
        "ad_user_data": "DENIED"
    }


def test_cli_watch_once_resumes_from_a_cursor(
    ledger_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "watch", "--from-start", "--once", "--limit", "3")
    assert code == 0 and len(out.splitlines()) == 3
    cursor = err.strip().rsplit(" ", 1)[-1]
    code, out, _ = run(capsys, "watch", "--cursor", cursor, "--once")
    assert [json.loads(line)["record"]["subject_id"] for line in out.splitlines()] == ["late"]


@pytest.mark.parametrize(
    "argv",
    [
        ["as-of", "--at", "yesterday", "x"],
        ["as-of", "--at", "1"],
        ["watch", "--cursor", "zz", "--once"],
        ["watch", "--once", "--wait", "99"],
    ],
)
def test_cli_bad_usage_exits_2(
    ledger_url: str, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2 and err.startswith("consent-mw: ")


def test_parse_time_takes_iso_and_epoch() -> None:
    assert parse_time("1790000000") == 1_790_000_000.0
    assert parse_time("2026-09-21T13:46:40Z") == parse_time("2026-09-21T13:46:40")


def test_admin_token_reads_too(api: TestClient) -> None:
    response = api.post(
        "/platforms", json={"ids": ["denied"]}, headers={"authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert response.status_code == 200


def test_cli_watch_follows_new_changes_until_interrupted(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    path = tmp_path / "ledger.sqlite3"
    store = SQLiteStore(path)
    seed(store)
    env = {**os.environ, "CONSENT_MW_STORE": f"sqlite:///{path}", "PYTHONUNBUFFERED": "1"}
    env.pop("CONSENT_MW_POLICY", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "consent_mw.cli", "watch", "--from-start", "--wait", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    watchdog = threading.Timer(120, process.kill)  # a hung watch fails the test, not CI
    watchdog.start()
    try:
        assert process.stdout is not None
        seen = [json.loads(process.stdout.readline())["record"]["subject_id"] for _ in range(4)]
        assert seen[-1] == "late"
        store.append(make_record("while-watching", at=NOW + 300, advertising=False))
        arrived = json.loads(process.stdout.readline())
        assert arrived["record"]["subject_id"] == "while-watching"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate()
        assert process.returncode == 0
        assert err.strip() == f"next cursor: {arrived['cursor']}"
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
        store.close()


def test_a_past_state_under_an_older_policy_version_counts_then_not_now() -> None:
    store = MemoryStore()
    store.append(make_record("old-version", version="2026-10", at=NOW, advertising=True))
    feed = AdsFeed(QueryService(store, policy=gdpr_policy(version="2026-11")))
    then = feed.as_of(["old-version"], NOW + 1)["results"][0]
    assert then["state"] is not None and then["state"]["personalised_ads"] is True
    assert then["platforms"]["google_ads_click_conversion"]["consent"]["ad_user_data"] == "GRANTED"
    # now the banner asks again under the new version: advertising is off until it answers
    now = feed.platforms(["old-version"])["results"][0]
    assert now["state"] is not None and now["state"]["prompt_reason"] == "policy_changed"
    assert now["platforms"]["google_ads_click_conversion"]["consent"]["ad_user_data"] == "DENIED"
    [change] = feed.changes()["changes"]
    assert change["personalised_ads"] is True
