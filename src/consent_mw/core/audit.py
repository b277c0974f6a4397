"""The cookie audit: cookies the app sets that neither the policy nor the registry knows.

The middleware notices each unknown ``Set-Cookie`` name once per process and
records it with its attributes and the route that set it (an event of kind
``cookie_audit`` in the ledger's event log). ``consent-mw audit`` lists them
with a category suggested from the name, so the policy file can catch up with
what the site really does. Meanwhile the ``unknown_cookies`` option decides:
``report`` (keep, record), ``strip`` (treat as optional: kept only when every
optional category is allowed) or ``allow`` (keep, do not record).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..stores.base import Event

__all__ = [
    "AUDIT_KIND",
    "CookieAudit",
    "finding",
    "parse_set_cookie",
    "suggest_category",
    "summarise",
]

AUDIT_KIND = "cookie_audit"
_KEEP_SECONDS = 365 * 86400
_SEEN_LIMIT = 10_000

# Naming habits, checked in order; the first match suggests a category.
_SUGGESTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), category)
    for pattern, category in (
        (r"sess|csrf|xsrf|auth|token|login|secure|__host-|__secure-|lb|route|captcha", "necessary"),
        (r"(^|_)(ad|ads|adv|pixel|fb|gcl|campaign|clid|retarget|conv)($|_)", "advertising"),
        (r"ga|utm|analytic|stat|track|visit|metric|hj|ab_?test|experiment", "analytics"),
        (r"lang|locale|pref|theme|recent|remember|cart|currency|tz|font", "functional"),
    )
)


def suggest_category(name: str) -> str:
    """A first guess at a cookie's category from its name (a person confirms it)."""
    for pattern, category in _SUGGESTIONS:
        if pattern.search(name):
            return category
    return "unknown"


def parse_set_cookie(value: str) -> dict[str, Any]:
    """Name and attributes of a ``Set-Cookie`` value (RFC 6265 section 5.2)."""
    pair, *attributes = value.split(";")
    name = pair.partition("=")[0].strip()
    found: dict[str, Any] = {
        "name": name,
        "http_only": False,
        "secure": False,
        "same_site": None,
        "max_age": None,
        "expires": None,
        "path": None,
        "domain": None,
    }
    for attribute in attributes:
        key, _, val = attribute.partition("=")
        key, val = key.strip().lower(), val.strip()
        if key == "httponly":
            found["http_only"] = True
        elif key == "secure":
            found["secure"] = True
        elif key == "samesite":
            found["same_site"] = val or None
        elif key == "max-age":
            found["max_age"] = int(val) if val.lstrip("-").isdigit() else val or None
        elif key in ("expires", "path", "domain"):
            found[key] = val or None
    found["lifetime"] = (
        "session" if found["max_age"] is None and found["expires"] is None else "persistent"
    )
    return found


def finding(kind: str, path: str, details: dict[str, Any], now: float) -> Event:
    """What an audit found, as an event of the ledger's log: about the site, not a
    visitor (necessary, no subject), kept a year."""
    return Event(
        time=now,
        kind=kind,
        purpose="necessary",
        expires_at=now + _KEEP_SECONDS,
        path=path,
        status=0,
        device=details,
    )


class CookieAudit:
    """Remembers which unknown cookie names were reported, so each is reported once."""

    def __init__(self, report: Callable[[Event], None]) -> None:
        self._report = report
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def seen(self, name: str) -> bool:
        """Whether ``name`` was reported already (or the memory of names is full)."""
        return name in self._seen or len(self._seen) >= _SEEN_LIMIT

    def notice(self, set_cookie: str, route: str) -> None:
        name = set_cookie.split(";", 1)[0].partition("=")[0].strip()
        with self._lock:
            if self.seen(name):
                return
            self._seen.add(name)
        details = parse_set_cookie(set_cookie)
        now = time.time()
        details["suggested_category"] = suggest_category(name)
        self._report(finding(AUDIT_KIND, route, details, now))


def summarise(events: Iterable[Event]) -> list[dict[str, Any]]:
    """One row per unknown cookie name (the first sighting), oldest first."""
    rows: dict[str, dict[str, Any]] = {}
    for event in sorted(events, key=lambda e: e.time):
        if event.kind != AUDIT_KIND:
            continue
        name = str(event.device.get("name", ""))
        if name and name not in rows:
            rows[name] = {**event.device, "route": event.path, "first_seen": event.time}
    return list(rows.values())
