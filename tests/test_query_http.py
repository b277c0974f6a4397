"""The query API over HTTP (Starlette TestClient): answers, pages, streams, every error as
JSON, tokens and scopes, the access log; over memory, SQLite, Redis and Redis Cluster."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from consent_mw import ConfigError, MemoryStore
from consent_mw.query import create_app
from consent_mw.query.app import TOKENS_ENV
from consent_mw.stores import RedisStore
from consent_mw.stores.base import BaseStore
from support.query import ADMIN_TOKEN, NOW, READ_TOKEN, TOKEN_LINES, gdpr_policy, make_record
from support.query import ledger_fixture as ledger_fixture  # noqa: F401  (fixture)
from support.redis_servers import (  # noqa: F401  (session fixtures)
    free_port,
    redis_cluster_nodes_fixture,
    redis_standalone_fixture,
)

Ledger = Callable[..., BaseStore]
READ = {"authorization": f"Bearer {READ_TOKEN}"}
ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}


def seed(store: BaseStore, n: int = 40) -> None:
    for i in range(n):
        store.append(
            make_record(f"s{i:03d}", at=NOW + i, advertising=i % 2 == 0, analytics=i % 3 == 0)
        )
    store.append(make_record("s000", at=NOW + 100, advertising=True, analytics=True))
    store.link_user("s001", "user-1")
    store.link_user("s002", "user-1")


@pytest.fixture
def api(ledger: Ledger) -> Iterator[TestClient]:
    store = ledger()
    seed(store)
    with TestClient(create_app(store, policy=gdpr_policy(), tokens=TOKEN_LINES)) as client:
        yield client


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["error"] == code and body["detail"]
    return body


# -- answers -------------------------------------------------------------------------------


def test_subject_and_user(api: TestClient) -> None:
    answer = api.get("/subjects/s000", headers=READ).json()
    assert answer["state"]["personalised_ads"] is True
    assert answer["state"]["time"] == NOW + 100
    user = api.get("/subjects/user-1", params={"by": "user"}, headers=READ).json()
    assert user["state"]["subject_id"] == "s002" and user["linked_subjects"] == ["s002", "s001"]


def test_history_pages_follow_next_cursor(api: TestClient) -> None:
    first = api.get("/subjects/s000/history", params={"limit": 1}, headers=READ).json()
    assert [r["time"] for r in first["records"]] == [NOW + 100]
    second = api.get(
        "/subjects/s000/history", params={"limit": 1, "cursor": first["next_cursor"]}, headers=READ
    ).json()
    assert [r["time"] for r in second["records"]] == [NOW] and second["next_cursor"] is None


def test_lookup(api: TestClient) -> None:
    response = api.post("/lookup", json={"ids": ["s001", "nobody", "s002"]}, headers=READ)
    assert response.status_code == 200
    answer = response.json()
    assert [(r["id"], r["found"]) for r in answer["results"]] == [
        ("s001", True),
        ("nobody", False),
        ("s002", True),
    ]
    assert api.post("/lookup", json={"ids": []}, headers=READ).json()["results"] == []


def test_stats(api: TestClient) -> None:
    stats = api.get("/stats", headers=READ).json()
    assert stats["subjects"] == 40
    (version,) = stats["policy_versions"]
    assert version["categories"]["advertising"] == {"granted": 20, "denied": 20}
    assert (
        api.get("/stats", params={"policy_version": "nope"}, headers=READ).json()["policy_versions"]
        == []
    )


def test_export_streams_jsonl_and_csv(api: TestClient) -> None:
    with api.stream("GET", "/export", params={"category": "advertising"}, headers=READ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/x-ndjson"
        assert "x-next-cursor" not in r.headers
        lines = [json.loads(line) for line in r.iter_lines() if line]
    assert sorted(row["subject_id"] for row in lines) == [f"s{i:03d}" for i in range(40)]
    response = api.get(
        "/export",
        params={"format": "csv", "category": "advertising", "granted": "false"},
        headers=READ,
    )
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="consent-export.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 20
    assert {r["choice:advertising"] for r in rows} == {"false"}
    assert {r["personalised_ads"] for r in rows} == {"false"}


def test_export_pages_by_cursor(api: TestClient) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 7, "regime": "gdpr"}
    for _ in range(50):
        response = api.get("/export", params=params, headers=READ)
        assert response.status_code == 200
        seen += [json.loads(line)["subject_id"] for line in response.text.splitlines()]
        following = response.headers.get("x-next-cursor")
        if following is None:
            assert "link" not in response.headers
            break
        assert response.headers["link"].endswith('>; rel="next"')
        assert "cursor=" in response.headers["link"]
        params["cursor"] = following
    assert sorted(seen) == [f"s{i:03d}" for i in range(40)]
    other = api.get("/export", params={"cursor": params["cursor"], "regime": "pipa"}, headers=READ)
    assert_error(other, 400, "bad_cursor")


def test_admin_routes(api: TestClient) -> None:
    assert api.post("/purge", headers=ADMIN).json() == {"purged": 0}
    assert api.delete("/subjects/s003", headers=ADMIN).json() == {"id": "s003", "removed": 1}
    assert_error(api.get("/subjects/s003", headers=READ), 404, "unknown_subject")
    entries = api.get("/access-log", params={"limit": 3}, headers=ADMIN).json()["entries"]
    assert [e["action"] for e in entries] == ["access_log", "subject", "delete"]
    assert entries[0]["actor"] == "privacy-ops" and entries[0]["scope"] == "admin"


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/subjects/s000"),
        ("GET", "/subjects/s000/history"),
        ("POST", "/lookup"),
        ("GET", "/stats"),
        ("GET", "/export"),
        ("GET", "/access-log"),
        ("POST", "/purge"),
        ("DELETE", "/subjects/s000"),
    ],
)
def test_every_route_needs_a_known_token(api: TestClient, method: str, path: str) -> None:
    for headers in (
        {},
        {"authorization": READ_TOKEN},  # no scheme
        {"authorization": f"Basic {READ_TOKEN}"},
        {"authorization": "Bearer "},
    ):
        response = api.request(method, path, headers=headers, json={"ids": []})
        assert_error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == 'Bearer realm="consent-mw"'
    wrong = api.request(
        method, path, headers={"authorization": "Bearer cmwq_guess"}, json={"ids": []}
    )
    assert_error(wrong, 401, "invalid_token")
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/access-log"), ("POST", "/purge"), ("DELETE", "/subjects/s000")],
)
def test_admin_routes_refuse_a_read_token(api: TestClient, method: str, path: str) -> None:
    response = api.request(method, path, headers=READ)
    assert_error(response, 403, "insufficient_scope")
    assert 'scope="admin"' in response.headers["www-authenticate"]


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/export", {"category": "Bad Category!"}, "bad_filter"),
        ("/export", {"granted": "maybe", "category": "advertising"}, "bad_filter"),
        ("/export", {"granted": "true"}, "bad_filter"),
        ("/export", {"regime": "mars"}, "bad_filter"),
        ("/export", {"country": "KOR"}, "bad_filter"),
        ("/export", {"source": "telepathy"}, "bad_filter"),
        ("/export", {"since": "yesterday"}, "bad_filter"),
        ("/export", {"since": "2026-11-02", "until": "2026-11-01"}, "bad_filter"),
        ("/export", {"format": "xml"}, "bad_parameter"),
        ("/export", {"limit": "0"}, "bad_parameter"),
        ("/export", {"limit": "-3"}, "bad_parameter"),
        ("/export", {"limit": "100001"}, "bad_parameter"),
        ("/export", {"cursor": "not-a-cursor"}, "bad_cursor"),
        ("/export", {"colour": "blue"}, "unknown_parameter"),
        ("/export", [("regime", "gdpr"), ("regime", "pipa")], "bad_parameter"),
        ("/subjects/s000", {"by": "device"}, "bad_parameter"),
        ("/subjects/s000", {"limit": "3"}, "unknown_parameter"),
        ("/subjects/s000/history", {"limit": "x"}, "bad_parameter"),
        ("/subjects/s000/history", {"limit": "²"}, "bad_parameter"),  # isdigit() is True
        ("/export", {"limit": "²"}, "bad_parameter"),
        ("/subjects/s000/history", {"limit": "1001"}, "bad_parameter"),
        ("/subjects/s000/history", {"cursor": "Zm9v"}, "bad_cursor"),
        ("/stats", {"policy_version": " "}, "bad_filter"),
        ("/stats", {"regime": "gdpr"}, "unknown_parameter"),
    ],
)
def test_bad_parameters_are_400(
    api: TestClient, path: str, params: dict[str, str] | list[tuple[str, str]], code: str
) -> None:
    assert_error(api.get(path, params=params, headers=READ), 400, code)


def test_unknown_ids_and_routes_are_404(api: TestClient) -> None:
    assert_error(api.get("/subjects/nobody", headers=READ), 404, "unknown_subject")
    assert_error(api.get("/subjects/nobody/history", headers=READ), 404, "unknown_subject")
    assert_error(
        api.get("/subjects/ghost", params={"by": "user"}, headers=READ), 404, "unknown_subject"
    )
    assert_error(api.delete("/subjects/nobody", headers=ADMIN), 404, "unknown_subject")
    assert_error(api.get("/no/such/route", headers=READ), 404, "not_found")
    response = api.put("/stats", headers=READ)
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


def test_lookup_body_errors(api: TestClient) -> None:
    assert_error(
        api.post("/lookup", json={"ids": [f"i{n}" for n in range(1001)]}, headers=READ),
        413,
        "too_many_ids",
    )
    assert_error(
        api.post(
            "/lookup", content=b'{"ids": [', headers={**READ, "content-type": "application/json"}
        ),
        400,
        "bad_json",
    )
    assert_error(
        api.post(
            "/lookup", content=b"\xff\xfe", headers={**READ, "content-type": "application/json"}
        ),
        400,
        "bad_json",
    )
    for body in ([], {"ids": "s000"}, {"ids": ["s000"], "more": 1}, {"id": ["s000"]}):
        assert_error(api.post("/lookup", json=body, headers=READ), 400, "bad_body")
    for ids in ([""], [7], ["x" * 257]):
        assert_error(api.post("/lookup", json={"ids": ids}, headers=READ), 400, "bad_id")
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = dict(READ)
        if content_type:
            headers["content-type"] = content_type
        response = api.post("/lookup", content=b'{"ids": []}', headers=headers)
        assert_error(response, 415, "unsupported_media_type")
    huge = json.dumps({"ids": ["x" * 200] * 6000}).encode()
    assert_error(
        api.post("/lookup", content=huge, headers={**READ, "content-type": "application/json"}),
        413,
        "body_too_large",
    )


def test_a_chunked_body_over_the_limit_is_413(api: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"ids": ['
        for _ in range(3000):
            yield b'"' + b"y" * 400 + b'",'
        yield b'"z"]}'

    response = api.post(
        "/lookup", content=chunks(), headers={**READ, "content-type": "application/json"}
    )
    assert_error(response, 413, "body_too_large")


def test_an_unavailable_ledger_is_503() -> None:
    store = RedisStore(
        f"redis://127.0.0.1:{free_port()}/0", timeout=0.5, connect_timeout=0.5, retries=0
    )
    client = TestClient(create_app(store, tokens=TOKEN_LINES))
    for method, path in [
        ("GET", "/subjects/s"),
        ("GET", "/stats"),
        ("GET", "/export"),
        ("POST", "/lookup"),
    ]:
        response = client.request(method, path, headers=READ, json={"ids": ["s"]})
        assert_error(response, 503, "ledger_unavailable")
        assert response.headers["retry-after"] == "5"


# -- configuration, mounting, the access log ------------------------------------------------


def test_tokens_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKENS_ENV, "\n".join(TOKEN_LINES))
    client = TestClient(create_app(MemoryStore()))
    assert client.get("/stats", headers=READ).status_code == 200
    monkeypatch.delenv(TOKENS_ENV)
    with pytest.raises(ConfigError):
        create_app(MemoryStore())


def test_mounted_under_a_prefix() -> None:
    store = MemoryStore()
    seed(store, 3)
    query = create_app(store, tokens=TOKEN_LINES)
    client = TestClient(Starlette(routes=[Mount("/consent-query", app=query)]))
    assert client.get("/consent-query/subjects/s001", headers=READ).status_code == 200
    document = client.get("/consent-query/openapi.json").json()
    assert document["servers"] == [{"url": "/consent-query"}]
    response = client.get("/consent-query/export", params={"limit": 1}, headers=READ)
    assert response.headers["link"].startswith("<http://testserver/consent-query/export?")
    assert client.get("/consent-query/nothing", headers=READ).json()["error"] == "not_found"


HISTORY_PARAMS = {"id": "s001", "by": "consent", "limit": 100, "cursor": False}


def test_the_access_log_names_the_token_never_shows_it(ledger: Ledger) -> None:
    store = ledger()
    seed(store)
    client = TestClient(create_app(store, policy=gdpr_policy(), tokens=TOKEN_LINES))
    client.get("/subjects/s001", headers=READ)
    client.post("/lookup", json={"ids": ["s001", "s002"]}, headers=READ)
    client.get("/subjects/s001/history", headers=READ)
    client.get("/stats", headers=READ)
    client.get("/export", params={"regime": "gdpr", "limit": 2}, headers=READ)
    client.get("/subjects/nobody", headers=READ)
    client.post("/purge", headers=ADMIN)
    client.get("/stats", headers={"authorization": "Bearer cmwq_wrong"})  # not a query: refused
    entries = client.get("/access-log", headers=ADMIN).json()["entries"]
    seen = [(e["actor"], e["route"], e["action"], e["params"]) for e in reversed(entries)]
    assert seen == [
        ("ads-team", "GET /subjects/{id}", "subject", {"id": "s001", "by": "consent"}),
        ("ads-team", "POST /lookup", "lookup", {"ids": ["s001", "s002"]}),
        ("ads-team", "GET /subjects/{id}/history", "history", HISTORY_PARAMS),
        ("ads-team", "GET /stats", "stats", {}),
        ("ads-team", "GET /export", "export", {"regime": "gdpr", "resumed": False, "limit": 2}),
        ("ads-team", "GET /subjects/{id}", "subject", {"id": "nobody", "by": "consent"}),
        ("privacy-ops", "POST /purge", "purge", {}),
        ("privacy-ops", "GET /access-log", "access_log", {"limit": 100}),
    ]  # fmt: skip
    assert {e["via"] for e in entries} == {"http"}
    assert {e["token_id"] for e in entries} == {line.split(":")[3][:12] for line in TOKEN_LINES}
    text = json.dumps(entries) + json.dumps([e.to_dict() for e in store.access_log(100)])
    assert READ_TOKEN not in text and ADMIN_TOKEN not in text


def _forge(cursor: str, position: Any) -> str:
    """``cursor`` with its position replaced (what a client can always do)."""
    kind, fingerprint, _ = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    text = json.dumps([kind, fingerprint, position], ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "position",
    ["²", "99999999999999999999", "²:0", "0:" + "9" * 30, "5000:0", "-1", 7, ["x"]],
)
def test_forged_cursor_positions_are_never_a_500(api: TestClient, position: Any) -> None:
    history = api.get("/subjects/s000/history", params={"limit": "1"}, headers=READ).json()
    forged = _forge(history["next_cursor"], position)
    response = api.get("/subjects/s000/history", params={"cursor": forged}, headers=READ)
    assert_error(response, 400, "bad_cursor")
    # An export position is the last subject id on memory and SQLite (any text resumes
    # after it: a 200) and a SCAN position on Redis: a 400 unless it is one.
    real = api.get("/export", params={"limit": "2"}, headers=READ).headers["x-next-cursor"]
    response = api.get("/export", params={"cursor": _forge(real, position)}, headers=READ)
    if response.status_code != 200:
        assert_error(response, 400, "bad_cursor")


def test_nesting_and_lone_surrogates_are_400(api: TestClient) -> None:
    as_json = {**READ, "content-type": "application/json"}
    deep = api.post("/lookup", content=b"[" * 100_000, headers=as_json)
    assert_error(deep, 400, "bad_json")
    cursor = base64.urlsafe_b64encode(b"[" * 1500).decode().rstrip("=")
    assert_error(api.get("/export", params={"cursor": cursor}, headers=READ), 400, "bad_cursor")
    lone = api.post("/lookup", content=b'{"ids": ["ok", "\\ud800"]}', headers=as_json)
    assert_error(lone, 400, "bad_id")


def test_csv_cells_never_start_a_formula(ledger: Ledger) -> None:
    store = ledger()
    store.append(make_record("-plain_Token1", at=NOW, user_id='=HYPERLINK("http://x")'))
    store.append(make_record("s-ok", at=NOW + 1, user_id="@SUM(1+1)"))
    client = TestClient(create_app(store, policy=gdpr_policy(), tokens=TOKEN_LINES))
    text = client.get("/export", params={"format": "csv"}, headers=READ).text
    rows = {row["subject_id"]: row for row in csv.DictReader(io.StringIO(text))}
    assert rows["-plain_Token1"]["user_id"] == '\'=HYPERLINK("http://x")'
    assert rows["s-ok"]["user_id"] == "'@SUM(1+1)"
