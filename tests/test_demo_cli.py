"""The demo site and the consent-mw command."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from consent_mw import MemoryStore, SQLiteStore
from consent_mw.cli import main
from consent_mw.demo import POLICY_PATH, create_app


def set_cookie_names(response) -> set[str]:
    return {v.split("=", 1)[0].strip() for v in response.headers.get_list("set-cookie")}


def test_demo_strips_analytics_cookie_before_consent_and_keeps_it_after():
    store = MemoryStore()
    client = TestClient(create_app(store=store, secret_key="demo-test-secret-0123456789"))
    before = client.get("/")
    assert before.status_code == 200
    assert "session" in set_cookie_names(before)
    assert not {"_ga", "_fbp", "tb_recent"} & set_cookie_names(before)

    saved = client.post("/_consent", json={"choices": {"analytics": True}})
    assert saved.status_code == 200
    after = client.get("/")
    assert "_ga" in set_cookie_names(after)
    assert "_fbp" not in set_cookie_names(after)
    (record,) = store.all_records()
    assert record.choices["analytics"] is True and record.policy_version == "2026-11"


def test_demo_whoami_reports_what_the_app_may_see():
    client = TestClient(create_app(store=MemoryStore(), secret_key="demo-test-secret-0123456789"))
    seen = client.get("/api/whoami?gclid=abc&page=2", headers={"cookie": "_ga=GA1.1.1.1"}).json()
    assert seen["allowed"] == ["necessary"]
    assert "_ga" not in seen["cookies_seen_by_app"]
    assert seen["query_seen_by_app"] == "page=2"


def test_policy_check_accepts_the_demo_policy(capsys):
    assert main(["policy", "check", POLICY_PATH]) == 0
    assert "is valid" in capsys.readouterr().out


def test_policy_check_names_the_bad_key(tmp_path, capsys):
    bad = tmp_path / "policy.toml"
    bad.write_text('version = "1"\n[[categories]]\nid = "Necessary!"\n')
    assert main(["policy", "check", str(bad)]) == 1
    assert "categories[0].id" in capsys.readouterr().err


def test_history_prints_records_and_fails_for_unknown_subject(tmp_path, capsys):
    path = tmp_path / "ledger.sqlite3"
    client = TestClient(create_app(store=SQLiteStore(path), secret_key="demo-test-secret-0123"))
    subject = client.post("/_consent", json={"action": "reject_all"}).json()["state"]["consent_id"]
    assert main(["history", subject, "--store", f"sqlite:///{path}"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["action"] == "reject_all"
    assert main(["history", "nobody-at-all-here", "--store", f"sqlite:///{path}"]) == 1


def test_cli_reports_a_bad_store_url_as_usage_error(capsys):
    assert main(["history", "x", "--store", "nosuch"]) == 2
    assert "no scheme" in capsys.readouterr().err


def test_cli_usage_error_exits_2():
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2
