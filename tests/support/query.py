"""Shared pieces of the query-surface tests: records, a store per backend, tokens.

``ledger`` (import ``ledger_fixture``) is a factory of stores over one backend —
memory, SQLite, Redis or Redis Cluster (the servers from :mod:`support.redis_servers`, each
test under its own key prefix); every store it makes shares the same data.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from consent_mw import MemoryStore, Policy, SQLiteStore
from consent_mw.query import hash_token
from consent_mw.stores import RedisStore
from consent_mw.stores.base import BaseStore, Record
from support.redis_servers import cluster_url

__all__ = [
    "ADMIN_TOKEN",
    "BACKENDS",
    "NOW",
    "READ_TOKEN",
    "TOKEN_LINES",
    "gdpr_policy",
    "ledger_fixture",
    "make_record",
]

NOW = 1_790_000_000.0
READ_TOKEN = "cmwq_read-token-for-the-tests-0123456789abcdef"
ADMIN_TOKEN = "cmwq_admin-token-for-the-tests-0123456789abcdef"
TOKEN_LINES = [
    f"ads-team:read:sha256:{hash_token(READ_TOKEN)}",
    f"privacy-ops:admin:sha256:{hash_token(ADMIN_TOKEN)}",
]

_ids = itertools.count(1)


def gdpr_policy(version: str = "2026-11", **overrides: Any) -> Policy:
    return Policy.preset("gdpr", version=version, **overrides)


def make_record(
    subject: str,
    *,
    version: str = "2026-11",
    at: float = NOW,
    advertising: bool = False,
    analytics: bool = False,
    functional: bool = True,
    **fields: Any,
) -> Record:
    n = next(_ids)
    values: dict[str, Any] = {
        "record_id": f"{int(at * 1000):012x}{n:016x}",
        "subject_id": subject,
        "time": at,
        "policy_version": version,
        "text_hash": "ab" * 32,
        "choices": {"functional": functional, "analytics": analytics, "advertising": advertising},
        "action": "custom",
        "source": "banner",
        "regime": "gdpr",
        "country": "DE",
        "locale": "en",
        "ip": "203.0.113.0",
        "user_agent": "Mozilla/5.0 (test)",
    }
    values.update(fields)
    return Record(**values)


BACKENDS = [
    "memory",
    "sqlite",
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("redis-cluster", marks=pytest.mark.redis),
    "django",
]


@pytest.fixture(params=BACKENDS, name="ledger")
def ledger_fixture(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., BaseStore]]:
    """A store factory over one backend; the stores it made are closed afterwards."""
    opened: list[BaseStore] = []
    url = None
    if request.param == "redis":
        url = request.getfixturevalue("redis_standalone").url
    elif request.param == "redis-cluster":
        url = cluster_url(request.getfixturevalue("redis_cluster_nodes"))
    prefix = f"q{uuid.uuid4().hex[:12]}"
    memory = MemoryStore()
    if request.param == "django":
        from support.django_site import empty_ledger

        empty_ledger()

    def make(**options: Any) -> BaseStore:
        store: BaseStore
        if request.param == "django":
            from consent_mw.django.store import DjangoStore

            store = DjangoStore()
        elif url is not None:
            store = RedisStore(url, prefix=prefix, **options)
        elif request.param == "memory":
            return memory
        else:
            store = SQLiteStore(tmp_path / "ledger.sqlite3")
        opened.append(store)
        return store

    make.backend = request.param  # type: ignore[attr-defined]
    make.url = url or f"sqlite:///{tmp_path / 'ledger.sqlite3'}"  # type: ignore[attr-defined]
    make.prefix = prefix  # type: ignore[attr-defined]
    yield make
    for store in opened:
        store.close()
