"""The query subcommands of ``consent-mw``: output, exit codes, stdin, the progress bar
(only on a terminal), the access log, tokens; against SQLite and Redis."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from consent_mw.cli import main
from consent_mw.query import TokenRing
from consent_mw.stores.base import BaseStore
from support.query import NOW, make_record
from support.redis_servers import (  # noqa: F401  (session fixtures)
    RedisServer,
    free_port,
    redis_standalone_fixture,
)

POLICY = Path(__file__).parent / "query_policy.toml"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def seed(store: BaseStore, n: int = 30) -> None:
    for i in range(n):
        store.append(make_record(f"s{i:03d}", at=NOW + i, advertising=i % 2 == 0))
    store.link_user("s001", "user-1")
    store.close()


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A seeded ledger's URL, also in $CONSENT_MW_STORE; no policy in the environment."""
    from consent_mw import store_from_url

    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_standalone")
        url = f"{server.url}?prefix=cli{time.time_ns()}"
    else:
        url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    seed(store_from_url(url))
    monkeypatch.setenv("CONSENT_MW_STORE", url)
    monkeypatch.delenv("CONSENT_MW_POLICY", raising=False)
    return url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- query --------------------------------------------------------------------------------


def test_query_prints_a_readable_answer(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "query", "s002", "--policy", str(POLICY))
    assert code == 0
    assert "consent id        s002" in out
    assert "personalised ads  yes" in out
    code, out, _ = run(capsys, "query", "s003")
    assert "personalised ads  unknown (pass --policy)" in out


def test_query_json_and_by_user(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "query", "user-1", "--user", "--json", "--policy", str(POLICY))
    answer = json.loads(out)
    assert code == 0 and answer["state"]["subject_id"] == "s001"
    assert answer["state"]["personalised_ads"] is False


def test_query_exit_codes(
    store_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(capsys, "query", "nobody")[0] == 1
    assert run(capsys, "query", "x" * 300)[0] == 2
    assert run(capsys, "query", "s001", "--store", "nosuch")[0] == 2
    assert run(capsys, "query", "s001", "--policy", "/no/such/policy.toml")[0] == 2
    code, _, err = run(capsys, "query", "s001", "--store", f"redis://127.0.0.1:{free_port()}/0")
    assert code == 3 and "not available" in err
    monkeypatch.delenv("CONSENT_MW_STORE")
    code, _, err = run(capsys, "query", "s001")
    assert code == 2 and "CONSENT_MW_STORE" in err
    with pytest.raises(SystemExit) as usage:
        main(["query"])
    assert usage.value.code == 2


def test_history_reads_the_store_from_the_environment(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "history", "s001")
    assert code == 0 and json.loads(out)["subject_id"] == "s001"


# -- lookup -------------------------------------------------------------------------------


def test_lookup_from_a_file(
    store_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("# who\ns001\n\ns002\n")
    code, out, _ = run(capsys, "lookup", str(ids))
    assert code == 0
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["s001", "s002"]
    assert run(capsys, "lookup", str(tmp_path / "missing.txt"))[0] == 2


def test_lookup_from_stdin_more_than_one_batch(
    store_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [f"s{i:03d}" for i in range(30)] + [f"missing-{i}" for i in range(1470)]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(ids) + "\n"))
    code, out, err = run(capsys, "lookup")
    results = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and "1470 of the ids" in err  # some have no state: exit 1, all printed
    assert [r["id"] for r in results] == ids
    assert sum(r["found"] for r in results) == 30
    monkeypatch.setattr(sys, "stdin", io.StringIO("s001\n"))
    assert run(capsys, "lookup", "-")[0] == 0
    monkeypatch.setattr(sys, "stdin", FakeTerminal())
    code, _, err = run(capsys, "lookup")
    assert code == 2 and "pipe them in" in err


# -- stats --------------------------------------------------------------------------------


def test_stats_table_and_json(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "stats", "--policy", str(POLICY))
    assert code == 0
    assert "policy 2026-11 (current): 30 subjects" in out
    assert "advertising" in out and "50.0" in out
    code, out, _ = run(capsys, "stats", "--json", "--policy-version", "2026-11")
    stats = json.loads(out)
    assert stats["subjects"] == 30
    assert stats["policy_versions"][0]["categories"]["advertising"] == {"granted": 15, "denied": 15}


# -- export -------------------------------------------------------------------------------


def test_export_jsonl_to_stdout_and_csv_to_a_file(
    store_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(capsys, "export", "--category", "advertising", "--granted", "true")
    assert code == 0 and err == ""  # not a terminal: no progress bar
    assert sorted(json.loads(line)["subject_id"] for line in out.splitlines()) == [
        f"s{i:03d}" for i in range(0, 30, 2)
    ]
    target = tmp_path / "out.csv"
    code, out, _ = run(
        capsys, "export", "--format", "csv", "-o", str(target), "--policy", str(POLICY)
    )
    assert code == 0 and out == ""
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert len(rows) == 30 and rows[0]["personalised_ads"] in ("true", "false")
    assert run(capsys, "export", "--granted", "perhaps", "--category", "advertising")[0] == 2
    assert run(capsys, "export", "--regime", "mars")[0] == 2
    assert run(capsys, "export", "--cursor", "nonsense")[0] == 2
    # an output that cannot be opened is exit 4, like one that fails while written
    assert run(capsys, "export", "-o", str(tmp_path / "no" / "such" / "dir.jsonl"))[0] == 4


def test_export_pages_by_cursor(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[str] = []
    args = ["export", "--limit", "8"]
    for _ in range(20):
        code, out, err = run(capsys, *args)
        assert code == 0
        seen += [json.loads(line)["subject_id"] for line in out.splitlines()]
        if "--cursor" not in err:
            break
        args = ["export", "--limit", "8", "--cursor", err.split("--cursor ")[1].strip()]
    assert sorted(seen) == [f"s{i:03d}" for i in range(30)]


def test_the_progress_bar_only_on_a_terminal(
    store_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    target = str(tmp_path / "out.jsonl")
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["export", "-o", target]) == 0
    assert "100%" in terminal.getvalue() and "30 rows" in terminal.getvalue()
    quiet = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    assert main(["export", "-o", target, "--no-progress"]) == 0
    assert quiet.getvalue() == ""
    piped = io.StringIO()  # stderr piped or redirected: no bar
    monkeypatch.setattr(sys, "stderr", piped)
    assert main(["export", "-o", target]) == 0
    assert piped.getvalue() == ""
    # rows to the same terminal: no bar drawn over them
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(_TerminalBytes(), encoding="utf-8"))
    same = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", same)
    assert main(["export"]) == 0
    assert same.getvalue() == ""


class _TerminalBytes(io.BytesIO):
    def isatty(self) -> bool:
        return True


def _cli(*args: str, env: dict[str, str], **options: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "consent_mw.cli", *args],
        env={**os.environ, **env},
        **options,
    )


def test_progress_on_a_real_terminal_and_not_through_a_pipe(store_url: str, tmp_path: Path) -> None:
    env = {"CONSENT_MW_STORE": store_url}
    leader, follower = pty.openpty()
    try:
        process = _cli("export", "-o", str(tmp_path / "a.jsonl"), env=env, stderr=follower)
        assert process.wait(timeout=60) == 0
        os.close(follower)
        shown = b""
        while select.select([leader], [], [], 0.5)[0]:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
    assert b"100%" in shown and b"rows/s" in shown
    piped = _cli("export", "-o", str(tmp_path / "b.jsonl"), env=env, stderr=subprocess.PIPE)
    _, err = piped.communicate(timeout=60)
    assert piped.returncode == 0 and err == b""


def test_a_reader_that_goes_away_is_exit_4(tmp_path: Path) -> None:
    from consent_mw import SQLiteStore

    store = SQLiteStore(tmp_path / "big.sqlite3")
    for i in range(20_000):
        store.append(make_record(f"b{i:05d}"))
    store.close()
    process = _cli(
        "export",
        env={"CONSENT_MW_STORE": f"sqlite:///{tmp_path / 'big.sqlite3'}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    with process, process.stderr:
        assert json.loads(process.stdout.readline())["subject_id"] == "b00000"
        process.stdout.close()  # like `| head -1`
        assert process.wait(timeout=60) == 4
        assert b"Traceback" not in process.stderr.read()


# -- admin --------------------------------------------------------------------------------


def test_purge_and_the_access_log(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "purge")
    assert code == 0 and out == "purged 0 expired events\n"
    run(capsys, "query", "s001")
    run(capsys, "export", "--regime", "gdpr", "--limit", "2")
    code, out, _ = run(capsys, "access-log", "--limit", "4")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 4
    assert "via cli: access_log" in lines[0]
    assert 'export {"limit": 2, "regime": "gdpr", "resumed": false}' in lines[1]
    assert 'subject {"by": "consent", "id": "s001"}' in lines[2]
    code, out, _ = run(capsys, "access-log", "--json", "--limit", "50")
    entries = [json.loads(line) for line in out.splitlines()]
    assert {e["via"] for e in entries} == {"cli"}
    assert all(e["actor"].startswith("cli:") for e in entries)
    assert [e["action"] for e in entries[-1:]] == ["purge"]


def test_token_create_prints_the_token_once_and_the_line_to_configure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "token", "create", "--scope", "admin", "--name", "privacy-ops")
    assert code == 0
    lines = [line.strip() for line in out.splitlines()]
    token, config = lines[1], lines[3]
    assert token.startswith("cmwq_") and len(token) > 40
    assert config.startswith("privacy-ops:admin:sha256:") and token not in config
    spec = TokenRing([config]).verify(token)
    assert spec is not None and spec.scope == "admin"
    code, out, _ = run(capsys, "token", "create", "--scope", "read")
    other = out.splitlines()[3].strip()
    assert other.startswith("read-") and other.split(":")[1] == "read"
    assert out.splitlines()[1].strip() != token  # a new token every time
    with pytest.raises(SystemExit) as usage:
        main(["token", "create", "--scope", "root"])
    assert usage.value.code == 2


ExitCheck = Callable[[], None]
