"""The ledger's protocol and its proof-of-consent record.

A store keeps two things: an append-only list of :class:`Record` (the proof:
who agreed to what, when, under which texts) and the current state per
subject. Every store has a sync face (``append``…) for WSGI and scripts and an
async face (``aappend``…) for ASGI; a store whose I/O blocks runs the sync
face in a worker thread so the event loop never waits on disk.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from anyio import to_thread

__all__ = ["BaseStore", "Event", "Record", "new_record_id"]


def new_record_id(now: float | None = None) -> str:
    """A time-ordered, unguessable record id: 12 hex digits of milliseconds + 16 random."""
    millis = int((time.time() if now is None else now) * 1000)
    return f"{millis:012x}{secrets.token_hex(8)}"


@dataclass(frozen=True)
class Record:
    """One proof-of-consent entry. Append-only: a change is a new record."""

    record_id: str
    subject_id: str
    time: float
    policy_version: str
    text_hash: str
    choices: Mapping[str, bool]
    action: str
    source: str
    regime: str
    country: str | None = None
    locale: str | None = None
    gpc: bool = False
    gpc_override: bool = False
    user_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["choices"] = dict(self.choices)
        data["extra"] = dict(self.extra)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Record:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    @classmethod
    def from_json(cls, text: str | bytes) -> Record:
        return cls.from_dict(json.loads(text))


@dataclass(frozen=True)
class Event:
    """One automatically collected fact (a request, a login), already minimised.

    The recorder builds events from the decision: ``device`` holds only what the
    visitor allowed. ``expires_at`` comes from the retention of ``purpose``'s
    category (or the statutory period for login records); stores drop the event
    then (Redis TTL, ``purge`` elsewhere).
    """

    time: float
    kind: str
    purpose: str
    expires_at: float
    path: str
    status: int
    ip: str | None = None
    subject_id: str | None = None
    user_id: str | None = None
    bot: bool = False
    device: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["device"] = dict(self.device)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class BaseStore:
    """Shared behaviour; subclasses implement the sync methods and may override the async ones."""

    def append(self, record: Record) -> None:
        raise NotImplementedError

    def current(self, subject_id: str) -> Record | None:
        raise NotImplementedError

    def history(self, subject_id: str, *, limit: int = 100) -> list[Record]:
        raise NotImplementedError

    def counts(self, policy_version: str | None = None) -> dict[tuple[str, str, bool], int]:
        """Current subjects per ``(policy_version, category, granted)``."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    async def aappend(self, record: Record) -> None:
        await to_thread.run_sync(self.append, record)

    async def acurrent(self, subject_id: str) -> Record | None:
        return await to_thread.run_sync(self.current, subject_id)

    async def ahistory(self, subject_id: str, *, limit: int = 100) -> list[Record]:
        return await to_thread.run_sync(lambda: self.history(subject_id, limit=limit))

    async def aclose(self) -> None:
        await to_thread.run_sync(self.close)
