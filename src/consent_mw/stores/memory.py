"""An in-process store for tests and experiments: nothing survives a restart."""

from __future__ import annotations

import threading
from collections import Counter

from .base import BaseStore, Record

__all__ = ["MemoryStore"]


class MemoryStore(BaseStore):
    """Keeps records in lists; thread-safe; async methods never block."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, list[Record]] = {}
        self._current: dict[str, Record] = {}
        self._counts: Counter[tuple[str, str, bool]] = Counter()

    def append(self, record: Record) -> None:
        with self._lock:
            self._records.setdefault(record.subject_id, []).append(record)
            old = self._current.get(record.subject_id)
            if old is not None:
                for category, granted in old.choices.items():
                    self._counts[(old.policy_version, category, granted)] -= 1
            for category, granted in record.choices.items():
                self._counts[(record.policy_version, category, granted)] += 1
            self._current[record.subject_id] = record

    def current(self, subject_id: str) -> Record | None:
        return self._current.get(subject_id)

    def history(self, subject_id: str, *, limit: int = 100) -> list[Record]:
        with self._lock:
            return list(reversed(self._records.get(subject_id, [])[-limit:]))

    def counts(self, policy_version: str | None = None) -> dict[tuple[str, str, bool], int]:
        with self._lock:
            return {
                k: v
                for k, v in self._counts.items()
                if v and (policy_version is None or k[0] == policy_version)
            }

    def all_records(self) -> list[Record]:
        with self._lock:
            return [r for records in self._records.values() for r in records]

    async def aappend(self, record: Record) -> None:
        self.append(record)

    async def acurrent(self, subject_id: str) -> Record | None:
        return self.current(subject_id)

    async def ahistory(self, subject_id: str, *, limit: int = 100) -> list[Record]:
        return self.history(subject_id, limit=limit)

    async def aclose(self) -> None:
        self.close()
