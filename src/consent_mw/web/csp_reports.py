"""Content-Security-Policy violation reports, as browsers send them, read into the few
facts the tracker inventory keeps: the blocked host, the directive, the page's path.

Two formats arrive at ``/_consent/csp-report``: ``application/csp-report`` (the
``report-uri`` directive: one ``{"csp-report": {...}}`` object, hyphenated keys) and
``application/reports+json`` (the Reporting API behind ``report-to``: a list of
``{"type": "csp-violation", "body": {...}}``, camel-case keys). Anyone can post here,
so a report is believed only as far as it is plausible: a page of this site (its
Host), a blocked ``http(s)``/``ws(s)`` URL with a DNS host name, a directive a browser
would name. Nothing of a report is kept beyond those three facts (no query string, no
source file, no sample), and nothing is ever echoed back.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from .._memo import remember

__all__ = ["MAX_REPORTS", "ReportError", "ReportLimiter", "Violation", "read_reports"]

MAX_REPORTS = 100  # per request; a browser batches far fewer
_PATH_LIMIT = 512
_SCHEMES = frozenset({"http", "https", "ws", "wss"})
# The fetch directives a browser names as the effective one (CSP3, with the -elem and
# -attr forms), and the ones a host-list policy can be violated through.
_DIRECTIVES = frozenset(
    {
        "default-src",
        "script-src",
        "script-src-elem",
        "script-src-attr",
        "style-src",
        "style-src-elem",
        "style-src-attr",
        "img-src",
        "connect-src",
        "font-src",
        "frame-src",
        "child-src",
        "worker-src",
        "media-src",
        "object-src",
        "manifest-src",
        "prefetch-src",
        "fenced-frame-src",
        "form-action",
    }
)


class ReportError(ValueError):
    """A request that is not a CSP report this endpoint takes: ``status`` says why
    (415: another media type, 400: not the format's JSON)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Violation:
    """What one report says, reduced to what the inventory keeps."""

    host: str
    directive: str
    path: str


def read_reports(content_type: str | None, body: bytes, site_host: str) -> list[Violation]:
    """The plausible violations in one report request to a site served as ``site_host``
    (the request's Host, port included or not). Raises :class:`ReportError` for a
    request that is not a report at all; a report that is well formed but implausible
    (another site's page, an inline script, an unknown directive) is left out."""
    media = (content_type or "").partition(";")[0].strip().lower()
    if media not in ("application/csp-report", "application/reports+json", "application/json"):
        raise ReportError(
            415,
            "unsupported_media_type",
            "Send application/csp-report or application/reports+json.",
        )
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ReportError(400, "malformed_report", "The body is not JSON.") from None
    if isinstance(data, dict) and isinstance(data.get("csp-report"), dict):
        entries: list[tuple[object, object, object] | None] = [_legacy(data["csp-report"])]
    elif isinstance(data, list):
        if len(data) > MAX_REPORTS:
            raise ReportError(
                400, "too_many_reports", f"At most {MAX_REPORTS} reports per request."
            )
        entries = [_reporting_api(item) for item in data]
    else:
        raise ReportError(
            400, "malformed_report", "Expected a csp-report object or a list of reports."
        )
    site = _host_of_site(site_host)
    found: list[Violation] = []
    for entry in entries:
        if entry is None:
            continue
        blocked, directive, document = entry
        violation = _violation(blocked, directive, document, site)
        if violation is not None:
            found.append(violation)
    return found


def _legacy(report: dict[str, object]) -> tuple[object, object, object]:
    directive = report.get("effective-directive") or report.get("violated-directive")
    if isinstance(directive, str):
        directive = directive.split(" ", 1)[0]
    return report.get("blocked-uri"), directive, report.get("document-uri")


def _reporting_api(item: object) -> tuple[object, object, object] | None:
    if not isinstance(item, dict) or item.get("type") != "csp-violation":
        return None
    body = item.get("body")
    if not isinstance(body, dict):
        return None
    return (
        body.get("blockedURL"),
        body.get("effectiveDirective"),
        body.get("documentURL") or item.get("url"),
    )


def _host_of_site(site_host: str) -> str:
    host = site_host.strip().lower()
    if host.startswith("["):  # an IPv6 literal, as urlsplit's hostname gives it
        return host[1:].partition("]")[0]
    return (host.rpartition(":")[0] if host.count(":") == 1 else host).rstrip(".")


def _violation(blocked: object, directive: object, document: object, site: str) -> Violation | None:
    if not (isinstance(blocked, str) and isinstance(directive, str) and isinstance(document, str)):
        return None
    directive = directive.strip().lower()
    if directive not in _DIRECTIVES:
        return None
    page = _split(document)
    target = _split(blocked)
    if page is None or target is None:
        return None
    page_host, page_path = page
    blocked_host, _ = target
    if page_host != site or blocked_host == site:
        return None
    return Violation(blocked_host, directive, page_path[:_PATH_LIMIT] or "/")


def _split(url: str) -> tuple[str, str] | None:
    """(host, path) of an absolute http(s)/ws(s) URL whose host is a DNS name or an IP
    literal; None for anything else (``inline``, ``eval``, ``data``, junk)."""
    if len(url) > 4096:
        return None
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in _SCHEMES or not host or len(host) > 253:
        return None
    if not all(c.isalnum() or c in "-.:[]" for c in host):
        return None
    return host.rstrip("."), parts.path


class ReportLimiter:
    """At most ``burst`` report requests per client at once, refilled at ``per_minute``
    a minute (a token bucket per client IP). A browser sends a few per page; a flood
    from one client gets 429 and costs the ledger nothing. At most ``clients`` buckets
    are kept: when full, the one seen longest ago is forgotten (a forgotten client starts full,
    which only lets an attacker with many addresses through at the burst rate)."""

    def __init__(
        self,
        *,
        burst: int = 30,
        per_minute: int = 60,
        clients: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = float(burst)
        self.rate = per_minute / 60.0
        self.clients = clients
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, client: str | None) -> bool:
        key = client or ""
        now = self._clock()
        with self._lock:
            # Popped and put back, so the bucket of a client just seen is the newest.
            tokens, then = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            allowed = tokens >= 1.0
            remember(self._buckets, key, (tokens - 1.0 if allowed else tokens, now), self.clients)
            return allowed
