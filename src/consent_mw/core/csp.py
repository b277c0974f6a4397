"""The browser's half of enforcement: a Content-Security-Policy compiled from the
visitor's decision, and a Permissions-Policy that turns the browser's own advertising
APIs off without advertising consent.

The server sees only the tags written in the HTML it serves. What a first-party bundle,
a tag manager or a customer-data platform loads at run time it never sees; the browser
does, and it enforces a CSP on every request a page makes, whoever starts it. The policy
compiled here is an allow-list of hosts for every fetch directive (``default-src``, which
scripts, ``fetch``/``sendBeacon``/XHR, images and pixels, frames, workers, styles and
their ``url()``/``@import``, fonts, media and ``<object>`` fall back to): ``'self'``,
the hosts of the ``necessary`` category (the CDN, fonts, payment and API hosts a site
needs whatever the visitor chose) and the hosts of the categories this visitor allows,
from the policy and the tracker registry.

It restricts hosts only. Inline scripts, ``eval``, ``data:`` and ``blob:`` stay allowed,
so that the app's own Content-Security-Policy, sent in its own header, keeps deciding
those: a browser enforces every policy a response carries, each on its own, so a
second header can only take away, never add, and never disturbs the app's nonces or
``'strict-dynamic'``.

A category the visitor chose service by service adds the hosts of the services allowed
(``advertising/Meta`` in the allowed set: the hosts of the trackers whose owner stands
for that service), so the browser, too, lets Meta's tags load and keeps TikTok's out.

Compiled once per distinct set of allowed categories (a handful per site).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from .._memo import remember
from ..policy.model import Policy
from ..policy.registry import registry
from .facts import RequestFacts

__all__ = [
    "AD_FEATURES",
    "CSP_MODES",
    "REPORT_GROUP",
    "BrowserPolicy",
    "CSPMode",
    "host_sources",
]

CSPMode = Literal["off", "report", "enforce"]
CSP_MODES: tuple[str, ...] = ("off", "report", "enforce")

# The Reporting API group the CSP names in ``report-to``.
REPORT_GROUP = "consent-mw"

# Permissions-Policy features through which the browser itself would personalise ads:
# the Topics API (``browsing-topics``) and its predecessor's name (``interest-cohort``,
# FLoC, still recognised). Only features the browser recognises are named: Chromium 156
# logs "Unrecognized feature" for every page for the retired Privacy Sandbox ones
# (join-ad-interest-group, run-ad-auction, attribution-reporting, private-aggregation,
# shared-storage), so they are left out (tests/browser/test_browser_enforce.py checks).
AD_FEATURES: tuple[str, ...] = ("browsing-topics", "interest-cohort")
_AD_POLICY = ", ".join(f"{feature}=()" for feature in AD_FEATURES).encode("ascii")

# The request destinations whose response governs a worker.
_WORKERS = frozenset({"worker", "sharedworker", "serviceworker"})

# Always allowed: the page's own origin (with its ws:/wss:), inline code and eval (the
# app's own policy governs those), and the data:/blob: URLs pages build for themselves.
_BASE = "'self' 'unsafe-inline' 'unsafe-eval' 'wasm-unsafe-eval' data: blob:"


def host_sources(entry: str) -> list[str]:
    """The CSP host sources for one registry or policy host entry: ``host`` or
    ``host/path-prefix``, the host's subdomains included (as the registry means it).

    >>> host_sources("facebook.com/tr")
    ['facebook.com/tr', 'facebook.com/tr/', '*.facebook.com/tr', '*.facebook.com/tr/']
    """
    name, _, path = entry.strip().lower().partition("/")
    name = name.strip(".")
    if not name or not _is_host(name) or not _is_path(path):
        return []
    hosts = [name] if name.startswith("*.") else [name, f"*.{name}"]
    if not path:
        return hosts
    path = "/" + path.strip("/")
    # A CSP path without a trailing slash matches that path only; with one, a prefix.
    return [f"{host}{suffix}" for host in hosts for suffix in (path, path + "/")]


def _is_path(path: str) -> bool:
    # Nothing that would end the source or the directive in the header (space, ";",
    # ","), nor a quote or a control character.
    return all(c.isascii() and c.isprintable() and c not in " ;,'\"" for c in path)


def _is_host(name: str) -> bool:
    body = name[2:] if name.startswith("*.") else name
    if not body or ":" in body:
        return False
    return all(
        label and len(label) <= 63 and all(c.isalnum() or c == "-" for c in label)
        for label in body.split(".")
    )


class BrowserPolicy:
    """The headers that make the browser enforce one policy's decisions.

    ``headers(allowed)`` gives the extra response headers for an HTML page answered
    under the decision that allows the categories ``allowed`` (memoised per set)."""

    def __init__(self, policy: Policy, mode: CSPMode, report_path: str) -> None:
        if mode not in CSP_MODES:
            raise ValueError(f"csp must be one of {', '.join(CSP_MODES)}, not {mode!r}")
        self.mode = mode
        self.report_path = report_path
        self.header = (
            b"content-security-policy-report-only"
            if mode == "report"
            else b"content-security-policy"
        )
        self.necessary = frozenset(policy.required_ids)
        self.policy = policy
        self.hosts = _hosts_by_category(policy)
        self._memo: dict[tuple[frozenset[str], bool], list[tuple[bytes, bytes]]] = {}

    def sources(self, allowed: Iterable[str]) -> list[str]:
        """The host sources allowed to a visitor who allows ``allowed``, in a stable order."""
        seen: dict[str, None] = {}
        for category in sorted(self.necessary | frozenset(allowed)):
            hosts = self.hosts.get(category)
            if hosts is None and "/" in category:
                hosts = self.hosts[category] = _service_hosts(self.policy, category)
            for source in hosts or ():
                seen[source] = None
        return list(seen)

    def csp(self, allowed: Iterable[str], *, secure: bool) -> str:
        """The policy's value. ``report-to`` only on a secure page: Chromium takes
        ``Reporting-Endpoints`` from secure responses only, and with ``report-to`` in
        the policy it then ignores ``report-uri`` too, so a plain-http page would send
        no report at all."""
        sources = " ".join(self.sources(allowed))
        value = f"default-src {_BASE}{' ' + sources if sources else ''}"
        value = f"{value}; report-uri {self.report_path}"
        return f"{value}; report-to {REPORT_GROUP}" if secure else value

    def response_headers(
        self, allowed: frozenset[str], facts: RequestFacts, html_type: bytes | None
    ) -> list[tuple[bytes, bytes]] | None:
        """The headers for one response: an HTML page (``html_type`` is its Content-Type)
        or a worker's script (a worker loaded from a URL is governed by the policy of
        its own response, not by the page's); None for anything else."""
        if html_type is None and facts.fetch_dest not in _WORKERS:
            return None
        return self.headers(allowed, secure=facts.is_secure)

    def headers(self, allowed: frozenset[str], *, secure: bool) -> list[tuple[bytes, bytes]]:
        key = (allowed, secure)
        found = self._memo.get(key)
        if found is not None:
            return found
        out: list[tuple[bytes, bytes]] = []
        if self.mode != "off":
            out.append((self.header, self.csp(allowed, secure=secure).encode("latin-1")))
            if secure:
                endpoint = f'{REPORT_GROUP}="{self.report_path}"'
                out.append((b"reporting-endpoints", endpoint.encode("latin-1")))
            if "advertising" not in allowed:
                out.append((b"permissions-policy", _AD_POLICY))
        remember(self._memo, key, out, 256)  # a few sets per site
        return out


def _hosts_by_category(policy: Policy) -> dict[str, tuple[str, ...]]:
    """Every host source the policy and the registry name, by consent category."""
    by_category: dict[str, dict[str, None]] = {}
    for tracker in policy.matcher.trackers:
        service = policy.service_of(tracker.category, tracker.owner)
        keys = [tracker.category]
        if service:  # also under "category/service", for a visitor who allows only it
            keys.append(f"{tracker.category}/{service}")
        for key in keys:
            bucket = by_category.setdefault(key, {})
            for entry in tracker.hosts:
                for source in host_sources(entry):
                    bucket[source] = None
    return {category: tuple(sources) for category, sources in by_category.items()}


def _service_hosts(policy: Policy, token: str) -> tuple[str, ...]:
    """The host sources of a service the policy's own entries do not name (a registry
    vendor a visitor allowed on its own): its registry entries' hosts."""
    category, _, service = token.partition("/")
    found: dict[str, None] = {}
    for tracker in registry().trackers:
        if tracker.category == category and policy.service_of(category, tracker.owner) == service:
            for entry in tracker.hosts:
                for source in host_sources(entry):
                    found[source] = None
    return tuple(found)
