"""What the release before per-service consent wrote reads as it did: its consent
cookies (format 1) and its ledger (the SQLite file, and the records as the Redis and
Django stores keep them). The fixtures in ``tests/fixtures/v1`` were written by that
release's middleware and are never regenerated."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from consent_mw import Consent, MemoryStore, Policy
from consent_mw.core.consent import decide
from consent_mw.core.cookies import ConsentCookieCodec
from consent_mw.stores.records import Record
from consent_mw.stores.sqlite import SQLiteStore
from support.harness import ClientFactory

V1 = Path(__file__).parent / "fixtures" / "v1"
FIXTURE = json.loads((V1 / "cookies.json").read_text())
POLICY = Policy.from_toml(V1 / "policy.toml")
SERVICES_POLICY = Policy.from_toml(Path(__file__).parents[1] / "examples" / "policy.toml")
RECORDS = [Record.from_json(line) for line in (V1 / "records.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("entry", FIXTURE["cookies"], ids=lambda e: json.dumps(e["posted"]))
@pytest.mark.parametrize("policy", [POLICY, SERVICES_POLICY], ids=["same-policy", "with-services"])
def test_format_1_cookies_read_as_before(entry: dict[str, Any], policy: Policy) -> None:
    codec = ConsentCookieCodec(FIXTURE["secret"])
    expected = entry["consent"]
    consent = codec.loads(entry["cookie"], now=expected["updated_at"] + 60)
    assert consent == Consent(**expected)
    assert consent.services == {}
    gpc = entry["headers"].get("sec-gpc") == "1"
    decision = decide(policy, consent, gpc=gpc, now=expected["updated_at"] + 60)
    assert not decision.needs_prompt
    for category, granted in expected["choices"].items():
        assert decision.allows(category) is granted
        # a whole category allows each of its services
        assert decision.allows(category, service="Meta") is granted
    assert decision.choices() == expected["choices"]


def test_a_format_1_cookie_is_upgraded_when_a_service_is_chosen(client: ClientFactory) -> None:
    entry = FIXTURE["cookies"][2]  # analytics yes, advertising no
    site = client(policy=SERVICES_POLICY, secret_key=FIXTURE["secret"])
    body = {"choices": {"analytics": True, "advertising": {"Meta": True}}}
    result = site.request(
        "POST",
        "/_consent",
        json=body,
        cookies={"consent_mw": entry["cookie"]},
        headers={"origin": "http://testserver"},
    )
    assert result.status == 200, result.body
    state = result.body["state"]
    assert state["consent_id"] == entry["consent"]["id"]  # the same subject
    assert state["choices"]["advertising"] == {"Meta": True}


def test_the_sqlite_ledger_reads_as_before(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    shutil.copy(V1 / "ledger.sqlite3", path)
    store = SQLiteStore(str(path))
    try:
        by_subject: dict[str, list[Record]] = {}
        for record in RECORDS:
            by_subject.setdefault(record.subject_id, []).append(record)
        for subject, records in by_subject.items():
            assert store.history(subject) == records
            current = store.current(subject)
            assert current is not None and current.services == {}
        before = store.counts()
        assert before == store.recount()
        # a new per-service choice on an old subject moves the counters exactly
        old = RECORDS[0]
        new = Record(
            **{
                **old.__dict__,
                "record_id": "f" * 28,
                "time": old.time + 1,
                "choices": {**old.choices, "advertising": False},
                "services": {"advertising": {"Meta": True}},
            }
        )
        store.append(new)
        assert store.counts() == store.recount()
        assert store.counts()[(old.policy_version, "advertising/Meta", True)] == 1
    finally:
        store.close()


def test_old_records_as_json_read_and_count_as_before() -> None:
    texts = (V1 / "records.jsonl").read_bytes().splitlines()
    assert Record.many_from_json(texts) == RECORDS
    store = MemoryStore()
    for record in sorted(RECORDS, key=lambda r: (r.time, r.record_id)):
        store.append(record)
    counts = store.counts()
    assert counts == store.recount()
    assert all("/" not in category for _, category, _ in counts)
    for record in RECORDS:
        assert record.choice("advertising") in (True, False)
