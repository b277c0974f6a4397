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


def test_demo_with_an_enforced_csp_widens_it_after_consent():
    app = create_app(store=MemoryStore(), secret_key="demo-test-secret-0123456789", csp="enforce")
    client = TestClient(app)
    before = client.get("/").headers["content-security-policy"]
    assert "googletagmanager.com" not in before and "connect.facebook.net" not in before
    assert client.post("/_consent", json={"choices": {"analytics": True}}).status_code == 200
    after = client.get("/").headers["content-security-policy"]
    assert "googletagmanager.com" in after and "connect.facebook.net" not in after


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
    # `--` first: a consent id may begin with "-" (URL-safe base64), as argparse reads options
    assert main(["history", "--store", f"sqlite:///{path}", "--", subject]) == 0
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


def test_policy_render_writes_the_notice(tmp_path, capsys):
    assert main(["policy", "render", POLICY_PATH, "--locale", "en"]) == 0
    assert "## Contents" in capsys.readouterr().out
    out = tmp_path / "notice.html"
    assert main(["policy", "render", POLICY_PATH, "--format", "html", "--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")


def _shifted(tmp_path, old_text: str, *, effective: str, purpose: bool):
    text = old_text.replace('version = "2026-11"', 'version = "2026-12"')
    text = text.replace("announced = 2026-11-01", "announced = 2026-11-20")
    text = text.replace("effective = 2026-11-08", f"effective = {effective}")
    if purpose:
        text = text.replace("Usage statistics that", "Usage statistics and heatmaps that")
        text = text.replace('"Access frequency, usage', '"Access frequency, heatmaps, usage')
    new = tmp_path / "new.toml"
    new.write_text(text, encoding="utf-8")
    return new


@pytest.mark.parametrize(
    ("effective", "purpose", "code", "major"),
    [
        ("2026-12-01", True, 1, True),  # major, 11 days: too soon
        ("2026-12-20", True, 0, True),  # major, 30 days
        ("2026-11-27", False, 0, False),  # minor, 7 days
        ("2026-11-26", False, 1, False),  # minor, 6 days: too soon
    ],
)
def test_policy_diff_reports_major_changes_and_checks_the_schedule(
    tmp_path, capsys, effective, purpose, code, major
):
    with open(POLICY_PATH, encoding="utf-8") as file:
        new = _shifted(tmp_path, file.read(), effective=effective, purpose=purpose)
    assert main(["policy", "diff", POLICY_PATH, str(new), "--check"]) == code
    out = capsys.readouterr().out
    assert ("[major]" in out) is major


def test_audit_lists_undeclared_cookies(tmp_path, capsys):
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from consent_mw import ConsentMiddleware

    async def page(request):
        response = PlainTextResponse("x")
        response.set_cookie("mystery_pref", "1", httponly=True)
        return response

    path = tmp_path / "ledger.sqlite3"
    app = ConsentMiddleware(
        Starlette(routes=[Route("/shop", page)]),
        policy="gdpr",
        secret_key="audit-test-secret-0123456789",
        store=f"sqlite:///{path}",
    )
    client = TestClient(app)
    client.get("/shop")
    client.get("/shop")
    app.recorder.flush()
    assert main(["audit", "--store", f"sqlite:///{path}"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len([line for line in lines if line.startswith("mystery_pref")]) == 1
    assert lines[0].startswith("Tracker registry ")
    assert "functional" in lines[2] and "/shop" in lines[2] and "HttpOnly" in lines[2]
    assert main(["audit", "--store", f"sqlite:///{path}", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["name"] == "mystery_pref"


def test_the_ad_team_answers_its_four_questions_from_the_demo_ledger(tmp_path, capsys):
    from consent_mw.demo import QUERY_PATH, with_query_api
    from consent_mw.query import hash_token

    token = "cmwq_demo-test-token-0123456789abcdef"
    path = tmp_path / "ledger.sqlite3"
    site = create_app(store=SQLiteStore(path), secret_key="demo-test-secret-0123")
    app = with_query_api(site, [f"ads:read:sha256:{hash_token(token)}"])
    with TestClient(app) as visitor_a, TestClient(app) as visitor_b:
        a = visitor_a.post("/_consent", json={"action": "accept_all"}).json()["state"]
        b = visitor_b.post("/_consent", json={"choices": {"analytics": True}}).json()["state"]
        assert visitor_a.post("/login", data={"user": "member-7"}).status_code in (200, 303)
        site.recorder.flush()  # the sign-in link is written after the response, in a batch
        # the site still works beside the API, and the API needs its token
        assert visitor_a.get("/").status_code == 200
        assert visitor_a.get(f"{QUERY_PATH}/stats").status_code == 401

        auth = {"Authorization": f"Bearer {token}"}
        api = visitor_a
        # may we personalise ads for this user or device?
        by_device = api.get(f"{QUERY_PATH}/subjects/{a['consent_id']}", headers=auth).json()
        assert by_device["state"]["personalised_ads"] is True
        by_user = api.get(f"{QUERY_PATH}/subjects/member-7?by=user", headers=auth)
        assert by_user.status_code == 200, by_user.text
        looked = api.post(
            f"{QUERY_PATH}/lookup", json={"ids": [a["consent_id"], b["consent_id"]]}, headers=auth
        ).json()
        ads = {item["id"]: item["state"]["personalised_ads"] for item in looked["results"]}
        assert ads == {a["consent_id"]: True, b["consent_id"]: False}
        # who opted out?
        opted_out = api.get(
            f"{QUERY_PATH}/export?category=advertising&granted=false", headers=auth
        ).text.splitlines()
        assert [json.loads(line)["subject_id"] for line in opted_out] == [b["consent_id"]]
        # how many consented, per category and policy version?
        stats = api.get(f"{QUERY_PATH}/stats", headers=auth).json()
        (version,) = stats["policy_versions"]
        assert version["policy_version"] == "2026-11" and version["subjects"] == 2
        assert version["categories"]["advertising"] == {"granted": 1, "denied": 1}
        # what did this subject agree to, and when?
        history = api.get(f"{QUERY_PATH}/subjects/{b['consent_id']}/history", headers=auth)
        assert history.json()["records"][0]["choices"]["analytics"] is True

    # the same from the CLI, against the same ledger
    assert main(["stats", "--store", f"sqlite:///{path}", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["policy_versions"][0]["subjects"] == 2


def test_the_query_api_is_found_under_a_root_path():
    import asyncio

    from consent_mw.demo import with_query_api

    site = create_app(store=MemoryStore(), secret_key="demo-test-secret-0123")
    app = with_query_api(site, [f"ads:read:sha256:{'0' * 64}"])
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    # uvicorn --root-path /app (or a Mount("/app", ...)): path carries the root path
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/app/query-api/stats",
        "root_path": "/app",
        "query_string": b"",
        "headers": [(b"host", b"example.test")],
        "scheme": "http",
        "server": ("example.test", 80),
        "client": ("203.0.113.9", 5000),
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert start["status"] == 401  # the query API's answer (no token), not the site's 404
    assert json.loads(body)["error"] == "unauthorized"
