"""``consent-mw registry``: a cookie or host looked up, vendors listed, bad input refused,
and the registry's version in the audit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from consent_mw.cli import main
from consent_mw.policy.registry import registry


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["registry", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_cookie_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "cookie", "_pk_id.1.ab12")
    assert (code, out) == (0, "_pk_id.1.ab12: analytics (Piwik)\n")
    code, out, _ = run(capsys, "cookie", "_pk_id.1.ab12", "--json")
    assert json.loads(out) == {"query": "_pk_id.1.ab12", "category": "analytics", "owner": "Piwik"}


def test_a_host_or_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "host", "static.criteo.net")[:2] == (
        0,
        "static.criteo.net: advertising (Criteo)\n",
    )
    code, out, _ = run(capsys, "host", "https://cdn.mobon.net/js/x.js", "--json")
    assert code == 0
    assert json.loads(out)["owner"] == "Mobon (Enliple)"


def test_unknown_names_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "cookie", "sessionid")
    assert (code, out) == (1, "")
    assert "not in the registry" in err
    code, out, _ = run(capsys, "host", "cdn.jsdelivr.net", "--json")
    assert code == 1
    assert json.loads(out) == {"query": "cdn.jsdelivr.net", "category": None, "owner": None}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["cookie"], "is not a cookie name"),
        (["cookie", "a;b"], "is not a cookie name"),
        (["cookie", "two words"], "is not a cookie name"),
        (["host"], "is not a host or URL"),
        (["host", "localhost"], "is not a host or URL"),
        (["host", "https://[::1"], "is not a host or URL"),
    ],
)
def test_bad_input_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert message in err


def test_a_missing_policy_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "cookie", "_ga", "--policy", str(tmp_path / "nope.toml"))
    assert code == 2
    assert "cannot read" in err


def test_the_policy_replaces_a_vendor(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    base = Path(__file__).resolve().parent.parent / "src/consent_mw/demo/policy.toml"
    policy = tmp_path / "policy.toml"
    policy.write_text(
        base.read_text(encoding="utf-8")
        + '\n[[trackers]]\nowner = "Criteo"\ncategory = "analytics"\nhosts = ["criteo.net"]\n',
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "host", "static.criteo.net", "--policy", str(policy))
    assert (code, out) == (0, "static.criteo.net: analytics (Criteo)\n")
    code, out, _ = run(capsys, "list", "--owner", "criteo", "--json", "--policy", str(policy))
    assert [(r["owner"], r["from"]) for r in json.loads(out)] == [("Criteo", "policy")]


def test_list_and_info(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list", "--category", "advertising", "--json")
    rows = json.loads(out)
    assert code == 0
    assert {r["category"] for r in rows} == {"advertising"}
    assert {"Meta", "Criteo", "Dable"} <= {r["owner"] for r in rows}
    code, out, _ = run(capsys, "list", "--owner", "dable")
    assert code == 0
    assert out.startswith("Dable ")
    code, out, _ = run(capsys, "info", "--json")
    info = json.loads(out)
    assert info["version"] == registry().version
    assert [s["name"] for s in info["sources"]] == [
        "Open Cookie Database",
        "EasyPrivacy",
        "EasyList",
        "List-KR",
    ]


def test_the_audit_names_the_registry(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["audit", "--store", f"sqlite:///{tmp_path / 'ledger.sqlite3'}"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith(f"Tracker registry {registry().version}: ")
    assert "Open Cookie Database 0ee5a17" in out.splitlines()[0]
