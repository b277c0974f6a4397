"""The Python API of the query surface (``consent_mw.query.QueryService``) over every store:
answers, personalised_ads under the current policy, pages, filters, the access log."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from consent_mw import MemoryStore, SQLiteStore, StoreUnavailable
from consent_mw.query import (
    BadQuery,
    Caller,
    Filters,
    QueryService,
    TooManyIds,
    UnknownSubject,
)
from consent_mw.query.plans import Op
from consent_mw.stores import AccessEntry
from consent_mw.stores.base import BaseStore
from support.query import NOW, gdpr_policy, make_record
from support.query import ledger_fixture as ledger_fixture  # noqa: F401  (fixture)
from support.redis_servers import (  # noqa: F401  (session fixtures)
    redis_cluster_nodes_fixture,
    redis_standalone_fixture,
)

Ledger = Callable[..., BaseStore]
DAY = 86400.0


def service_over(store: BaseStore, *, at: float = NOW + DAY, **options: Any) -> QueryService:
    options.setdefault("policy", gdpr_policy())
    return QueryService(store, clock=lambda: at, caller=Caller("tester"), **options)


def seed(store: BaseStore) -> None:
    """Twelve subjects across versions, regimes, sources and times; two linked users."""
    rows = [
        ("granted", dict(advertising=True)),
        ("refused", dict(advertising=False)),
        ("gpc-signal", dict(advertising=True, gpc=True, source="gpc")),
        ("gpc-override", dict(advertising=True, gpc=True, gpc_override=True)),
        ("old-version", dict(advertising=True, version="2025-01")),
        ("korean", dict(advertising=True, regime="pipa", country="KR")),
        ("american", dict(advertising=False, regime="ccpa", country="US", action="reject_all")),
        ("early", dict(advertising=True, at=NOW - 100 * DAY)),
        ("form", dict(analytics=True, source="form")),
        ("late", dict(advertising=True, at=NOW + 0.5 * DAY)),
        ("a{b}c", dict(advertising=True)),
        ("한글", dict(advertising=False, analytics=True)),
    ]
    for subject, fields in rows:
        store.append(make_record(subject, **fields))
    store.append(make_record("phone", advertising=False, at=NOW - 10))
    store.append(make_record("laptop", advertising=True, at=NOW))
    store.link_user("phone", "user-7")
    store.link_user("laptop", "user-7")


# -- one subject ---------------------------------------------------------------------------


def test_subject_by_consent_id_answers_personalised_ads(ledger: Ledger) -> None:
    store = ledger()
    seed(store)
    service = service_over(store)
    answer = service.subject("granted")
    assert answer["by"] == "consent" and answer["linked_subjects"] is None
    state = answer["state"]
    assert state["personalised_ads"] is True and state["prompt_reason"] is None
    assert state["choices"] == {"functional": True, "analytics": False, "advertising": True}
    assert "ip" not in state and "user_agent" not in state  # no device data for the ad team
    expected = {
        "refused": (False, None),
        "gpc-signal": (False, None),  # GPC turns advertising off…
        "gpc-override": (True, None),  # … unless the visitor opted in explicitly
        "old-version": (False, "policy_changed"),
        "korean": (True, None),
        "american": (False, None),
        "a{b}c": (True, None),
    }
    for subject, (ads, reason) in expected.items():
        state = service.subject(subject)["state"]
        assert (state["personalised_ads"], state["prompt_reason"]) == (ads, reason), subject


def test_an_expired_choice_no_longer_allows_ads(ledger: Ledger) -> None:
    store = ledger()
    store.append(make_record("s", advertising=True))
    assert service_over(store, at=NOW + 100 * DAY).subject("s")["state"]["personalised_ads"]
    expired = service_over(store, at=NOW + 200 * DAY).subject("s")["state"]
    assert (expired["personalised_ads"], expired["prompt_reason"]) == (False, "expired")


def test_a_compatible_policy_version_still_stands(ledger: Ledger) -> None:
    store = ledger()
    store.append(make_record("s", advertising=True, version="2026-11"))
    newer = gdpr_policy("2026-12", compatible_versions=["2026-11"])
    assert service_over(store, policy=newer).subject("s")["state"]["personalised_ads"] is True


def test_without_a_policy_personalised_ads_is_unknown(ledger: Ledger) -> None:
    store = ledger()
    store.append(make_record("s", advertising=True))
    state = service_over(store, policy=None).subject("s")["state"]
    assert state["personalised_ads"] is None and state["prompt_reason"] is None


def test_subject_by_user_is_their_latest_state(ledger: Ledger) -> None:
    store = ledger()
    seed(store)
    answer = service_over(store).subject("user-7", by="user")
    assert answer["state"]["subject_id"] == "laptop"
    assert answer["state"]["personalised_ads"] is True
    assert answer["linked_subjects"] == ["laptop", "phone"]


@pytest.mark.parametrize(
    ("subject", "by", "error"),
    [
        ("nobody", "consent", UnknownSubject),
        ("nobody", "user", UnknownSubject),
        ("", "consent", BadQuery),
        ("x" * 257, "consent", BadQuery),
        ("granted", "device", BadQuery),
    ],
)
def test_subject_errors(ledger: Ledger, subject: str, by: str, error: type[Exception]) -> None:
    store = ledger()
    seed(store)
    with pytest.raises(error):
        service_over(store).subject(subject, by=by)


# -- lookup ------------------------------------------------------------------------------------


def test_lookup_answers_in_order_once_per_id(ledger: Ledger) -> None:
    store = ledger()
    seed(store)
    answer = service_over(store).lookup(["refused", "nobody", "granted", "refused", "한글"])
    assert [r["id"] for r in answer["results"]] == ["refused", "nobody", "granted", "한글"]
    assert [r["found"] for r in answer["results"]] == [True, False, True, True]
    assert answer["results"][1]["state"] is None
    assert answer["results"][2]["state"]["personalised_ads"] is True  # type: ignore[index]
    assert (answer["found"], answer["missing"]) == (3, 1)


def test_lookup_limits(ledger: Ledger) -> None:
    service = service_over(ledger())
    assert service.lookup([f"id-{i}" for i in range(1000)])["missing"] == 1000
    with pytest.raises(TooManyIds) as too_many:
        service.lookup([f"id-{i}" for i in range(1001)])
    assert too_many.value.status == 413
    for bad in (["ok", ""], ["ok", 7], "one-string"):
        with pytest.raises(BadQuery):
            service.lookup(bad)  # type: ignore[arg-type]


# -- history -----------------------------------------------------------------------------------


def test_history_pages_by_cursor(ledger: Ledger) -> None:
    store = ledger()
    for i in range(25):
        store.append(make_record("h", at=NOW + i, advertising=i % 2 == 0))
    service = service_over(store)
    times: list[float] = []
    cursor = None
    for _ in range(10):
        page = service.history("h", limit=10, cursor=cursor)
        times += [r["time"] for r in page["records"]]
        assert "ip" not in page["records"][0]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert times == [NOW + i for i in range(24, -1, -1)]
    with pytest.raises(UnknownSubject):
        service.history("nobody")
    first = service.history("h", limit=10)
    with pytest.raises(BadQuery):  # a cursor of another subject
        store.append(make_record("other"))
        service.history("other", cursor=first["next_cursor"])
    for bad_cursor in ["garbage!", "eyJ4IjoxfQ", ""]:
        with pytest.raises(BadQuery):
            service.history("h", cursor=bad_cursor)
    for bad_limit in (0, 1001, True):
        with pytest.raises(BadQuery):
            service.history("h", limit=bad_limit)


def test_history_by_user_merges_their_consent_ids(ledger: Ledger) -> None:
    store = ledger()
    for i in range(6):
        store.append(make_record("phone", at=NOW + 2 * i))
        store.append(make_record("laptop", at=NOW + 2 * i + 1))
    store.append(make_record("stranger", at=NOW + 5))
    store.link_user("phone", "u")
    store.link_user("laptop", "u")
    service = service_over(store)
    seen: list[tuple[str, float]] = []
    cursor = None
    for _ in range(10):
        page = service.history("u", by="user", limit=5, cursor=cursor)
        seen += [(r["subject_id"], r["time"]) for r in page["records"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [t for _, t in seen] == [NOW + i for i in range(11, -1, -1)]
    assert {s for s, _ in seen} == {"phone", "laptop"}
    with pytest.raises(UnknownSubject):
        service.history("no-such-user", by="user")


# -- stats -------------------------------------------------------------------------------------


def test_stats_from_the_counters(ledger: Ledger) -> None:
    store = ledger()
    seed(store)
    stats = service_over(store).stats()
    assert stats["subjects"] == 14 and stats["current_policy_version"] == "2026-11"
    versions = {v["policy_version"]: v for v in stats["policy_versions"]}
    assert versions["2025-01"]["current"] is False and versions["2025-01"]["subjects"] == 1
    current = versions["2026-11"]
    assert current["current"] is True and current["subjects"] == 13
    assert current["categories"]["advertising"] == {"granted": 8, "denied": 5}
    only = service_over(store).stats(policy_version="2025-01")
    assert [v["policy_version"] for v in only["policy_versions"]] == ["2025-01"]


# -- export ------------------------------------------------------------------------------------


FILTER_CASES: list[tuple[dict[str, str], set[str]]] = [
    ({"category": "advertising", "granted": "false"},
     {"refused", "american", "한글", "phone", "form"}),
    ({"category": "analytics", "granted": "true"}, {"form", "한글"}),
    ({"policy_version": "2025-01"}, {"old-version"}),
    ({"regime": "pipa"}, {"korean"}),
    ({"country": "us"}, {"american"}),
    ({"source": "gpc"}, {"gpc-signal"}),
    ({"gpc": "true"}, {"gpc-signal", "gpc-override"}),
    ({"action": "reject_all"}, {"american"}),
    ({"since": "2026-09-21T14:30:00+00:00"}, {"late"}),  # NOW = 14:13:20Z; late: +12 h
    ({"until": str(NOW - DAY)}, {"early"}),
    ({"regime": "gdpr", "category": "advertising", "granted": "true", "gpc": "false"},
     {"granted", "old-version", "early", "late", "a{b}c", "laptop"}),
]  # fmt: skip


@pytest.mark.parametrize(("params", "expected"), FILTER_CASES)
def test_export_filters(ledger: Ledger, params: dict[str, str], expected: set[str]) -> None:
    store = ledger()
    seed(store)
    rows = list(service_over(store).export(Filters.from_params(params)))
    assert {r["subject_id"] for r in rows} == expected


def test_export_pages_cover_everything_once(ledger: Ledger) -> None:
    store = ledger()
    for i in range(230):
        store.append(make_record(f"p{i:03d}", advertising=i % 2 == 0))
    service = service_over(store)
    filters = Filters(category="advertising", granted=True)
    seen: list[str] = []
    cursor = None
    pages = 0
    for _ in range(100):
        run = service.export(filters, limit=20, cursor=cursor)
        rows = list(run)
        pages += 1
        keyset = store.scan_current(None, count=1).keyset
        if keyset:
            assert len(rows) == 20 or run.next_cursor is None
        seen += [r["subject_id"] for r in rows]
        cursor = run.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == [f"p{i:03d}" for i in range(0, 230, 2)]  # each once
    assert pages >= 6
    with pytest.raises(BadQuery):  # the cursor belongs to other filters
        service.export(Filters(category="analytics"), cursor=run.next_cursor or "x")
    with pytest.raises(BadQuery):
        service.export(limit=0)


def test_export_knows_categories_and_total(ledger: Ledger) -> None:
    store = ledger()
    seed(store)
    run = service_over(store).export()
    batches = list(run.batches())
    assert sum(len(b) for b in batches) == 14 == run.exported == run.total == run.scanned
    assert run.categories == ("advertising", "analytics", "functional")
    assert run.next_cursor is None and run.done
    with pytest.raises(RuntimeError):
        list(run)  # a run is iterated once


def test_export_runs_in_constant_memory(tmp_path: Any) -> None:
    store = SQLiteStore(tmp_path / "big.sqlite3")
    try:
        for i in range(20_000):
            store.append(make_record(f"subject-{i:06d}", advertising=i % 2 == 0))
        service = service_over(store)
        tracemalloc.start()
        exported = 0
        for rows in service.export(batch=500).batches():
            exported += len(rows)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert exported == 20_000
        assert peak < 4_000_000, peak  # 20,000 rows would take ~20 MB held at once
    finally:
        store.close()


# -- the async face ------------------------------------------------------------------------


def test_the_async_face_answers_the_same(ledger: Ledger) -> None:
    store = ledger()
    seed(store)
    service = service_over(store)

    async def scenario() -> list[Any]:
        rows: list[Any] = []
        async for batch in service.export(Filters(regime="gdpr")).abatches():
            rows += batch
        answers = [
            await service.asubject("granted"),
            await service.asubject("user-7", by="user"),
            await service.alookup(["granted", "nobody"]),
            await service.ahistory("granted"),
            await service.astats(),
            sorted(r["subject_id"] for r in rows),
            await service.apurge(),
        ]
        with pytest.raises(UnknownSubject):
            await service.asubject("nobody")
        await store.aclose()
        return answers

    answers = asyncio.run(scenario())
    assert answers[:5] == [
        service.subject("granted"),
        service.subject("user-7", by="user"),
        service.lookup(["granted", "nobody"]),
        service.history("granted"),
        service.stats(),
    ]
    assert answers[5] == sorted(r["subject_id"] for r in service.export(Filters(regime="gdpr")))


# -- admin ---------------------------------------------------------------------------------


def test_delete_leaves_a_proof_and_takes_the_subject_off_the_counts(ledger: Ledger) -> None:
    store = ledger()
    seed(store)
    service = service_over(store)
    assert service.delete("granted", caller=Caller("dpo", "http")) == 1
    with pytest.raises(UnknownSubject):
        service.subject("granted")
    (proof,) = service.history("granted")["records"]
    assert proof["action"] == "delete" and proof["extra"]["requested_by"] == "dpo"
    assert service.stats()["subjects"] == 13
    with pytest.raises(UnknownSubject):
        service.delete("nobody")


# -- the access log ------------------------------------------------------------------------


def test_every_query_is_written_to_the_access_log(ledger: Ledger) -> None:
    store = ledger()
    seed(store)
    service = service_over(store)
    caller = Caller("ads-team", "http", token_id="0123456789ab", scope="read", route="GET /x")
    service.subject("granted", caller=caller)
    service.subject("user-7", by="user")
    service.lookup(["granted", "nobody"])
    service.history("granted", limit=5)
    service.stats(policy_version="2026-11")
    list(service.export(Filters(category="advertising", granted=False), limit=3))
    service.purge()
    service.delete("refused")
    with pytest.raises(UnknownSubject):
        service.subject("nobody")  # a question that finds nothing was still asked
    log = service.access_log(limit=50)
    actions = [(e.action, dict(e.params)) for e in reversed(log)]
    assert actions == [
        ("subject", {"id": "granted", "by": "consent"}),
        ("subject", {"id": "user-7", "by": "user"}),
        ("lookup", {"ids": ["granted", "nobody"]}),
        ("history", {"id": "granted", "by": "consent", "limit": 5, "cursor": False}),
        ("stats", {"policy_version": "2026-11"}),
        ("export", {"category": "advertising", "granted": False, "resumed": False, "limit": 3}),
        ("purge", {}),
        ("delete", {"id": "refused"}),
        ("subject", {"id": "nobody", "by": "consent"}),
        ("access_log", {"limit": 50}),
    ]
    first = log[-1]
    assert (first.actor, first.via, first.token_id, first.scope, first.route) == (
        "ads-team",
        "http",
        "0123456789ab",
        "read",
        "GET /x",
    )
    assert {e.actor for e in log[:-1]} == {"tester"}
    assert all(e.time == NOW + DAY for e in log)


class _NoLog(MemoryStore):
    def log_access(self, entry: AccessEntry) -> None:
        raise StoreUnavailable("the access log is down")


def test_a_query_whose_log_entry_fails_is_not_answered() -> None:
    store = _NoLog()
    store.append(make_record("s"))
    service = service_over(store)
    with pytest.raises(StoreUnavailable):
        service.subject("s")
    with pytest.raises(StoreUnavailable):
        list(service.export())

    async def scenario() -> None:
        with pytest.raises(StoreUnavailable):
            await service.alookup(["s"])

    asyncio.run(scenario())


@pytest.mark.parametrize("op", list(Op))
def test_every_plan_operation_is_a_store_method_with_an_async_twin(op: Op) -> None:
    from consent_mw.stores.redis import RedisStore

    for store_class in (BaseStore, MemoryStore, SQLiteStore, RedisStore):
        assert callable(getattr(store_class, op.value, None)), (store_class, op)
        assert callable(getattr(store_class, "a" + op.value, None)), (store_class, op)
