"""The site's third-party inventory, from what visitors' browsers report.

Every Content-Security-Policy violation a browser reports names a host a page of the
site tried to reach and the policy did not allow: the tracker scanner fed by real
traffic (logged-in pages included, no crawler). :class:`HostAudit` counts them per
(host, directive, page path) in memory and writes an event of kind ``csp_audit`` to
the ledger's event log the first time a key is seen and then at most once a minute
per key with the count since the last one, so a busy page costs the ledger one write
a minute, not one per visitor. :func:`summarise_hosts` folds the events back into one
row per key: count, first and last seen, and the category the registry knows for the
host. ``consent-mw audit`` and the query API show them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..policy.trackers import Matcher
from ..stores.base import Event
from .audit import finding

__all__ = ["HOST_AUDIT_KIND", "HostAudit", "summarise_hosts"]

HOST_AUDIT_KIND = "csp_audit"
_FLUSH_SECONDS = 60.0
_KEYS_LIMIT = 10_000  # distinct (host, directive, path) kept in memory per process

Key = tuple[str, str, str]


class HostAudit:
    """Counts reported violations and hands the ledger a bounded trickle of events."""

    def __init__(
        self,
        report: Callable[[Event], None],
        matcher: Matcher,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._report = report
        self._matcher = matcher
        self._clock = clock
        self._lock = threading.Lock()
        # key -> [count not yet written, time of the last write]
        self._pending: dict[Key, list[float]] = {}

    def category(self, host: str) -> str | None:
        """The consent category the registry or the policy gives ``host``."""
        return self._matcher.host_category(host)

    def notice(self, host: str, directive: str, path: str) -> None:
        now = self._clock()
        key = (host, directive, path)
        with self._lock:
            entry = self._pending.get(key)
            if entry is None:
                if len(self._pending) >= _KEYS_LIMIT:
                    return
                self._pending[key] = [0, now]
                count = 1
            else:
                entry[0] += 1
                if now - entry[1] < _FLUSH_SECONDS:
                    return
                count = int(entry[0])
                entry[0], entry[1] = 0, now
        self._write(key, count, now)

    def flush(self) -> None:
        """Write every count not written yet (at shutdown)."""
        now = self._clock()
        with self._lock:
            due = [(key, int(entry[0])) for key, entry in self._pending.items() if entry[0]]
            for key, _ in due:
                self._pending[key] = [0, now]
        for key, count in due:
            self._write(key, count, now)

    def _write(self, key: Key, count: int, now: float) -> None:
        host, directive, path = key
        details = {
            "host": host,
            "directive": directive,
            "count": count,
            "category": self.category(host),
        }
        self._report(finding(HOST_AUDIT_KIND, path, details, now))


def summarise_hosts(events: Iterable[Event]) -> list[dict[str, Any]]:
    """One row per (host, directive, page path), the most reported first."""
    rows: dict[Key, dict[str, Any]] = {}
    for event in events:
        if event.kind != HOST_AUDIT_KIND:
            continue
        device = event.device
        host = str(device.get("host", ""))
        directive = str(device.get("directive", ""))
        if not host:
            continue
        key = (host, directive, event.path)
        count = device.get("count", 1)
        count = count if isinstance(count, int) and count > 0 else 1
        row = rows.get(key)
        if row is None:
            rows[key] = {
                "host": host,
                "directive": directive,
                "path": event.path,
                "count": count,
                "first_seen": event.time,
                "last_seen": event.time,
                "category": device.get("category"),
            }
        else:
            row["count"] += count
            row["first_seen"] = min(row["first_seen"], event.time)
            row["last_seen"] = max(row["last_seen"], event.time)
    return sorted(rows.values(), key=lambda r: (-r["count"], r["host"], r["path"]))
