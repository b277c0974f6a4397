"""The framework-free core both middlewares call.

:meth:`Engine.begin` turns request facts into a :class:`Visit` (the decision,
the app's filtered view of cookies and query string, tracker cookies to
expire); :meth:`Engine.response_headers` applies the decision to the app's
response headers. Neither touches the store: on the hot path the signed
cookie is the whole enforcement state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

from .config import Config
from .consent import Consent, Decision, decide
from .cookies import ConsentCookieCodec, build_set_cookie, expire_cookie, set_cookie_name
from .facts import RequestFacts
from .regimes import REGIMES

__all__ = ["Engine", "Visit"]


@dataclass(slots=True)
class Visit:
    """One request's consent state, shared by the request and response halves."""

    facts: RequestFacts
    decision: Decision
    cookie_header: str | None = None
    query_string: str | None = None
    stale_cookies: list[str] = field(default_factory=list)
    #: set by the HTML rewriter when the body was changed for this visitor
    rewritten: bool = False


class Engine:
    """Holds the precomputed policy data; one per middleware instance."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.policy = config.policy
        self.matcher = config.policy.matcher
        self.codec = ConsentCookieCodec(
            config.secret_key,
            max_age_days=max(r.max_lifetime_days for r in REGIMES.values()),
        )
        self.cookie_prefix = config.cookie_name + "="
        self.endpoint_prefix = config.prefix
        self.click_ids = frozenset(self.matcher.click_ids)
        # Policy cookie specs win over the registry (the Matcher is built that way);
        # necessary cookies are never touched.
        self.necessary = frozenset(self.policy.required_ids)

    # -- request ---------------------------------------------------------------

    def is_endpoint(self, path: str) -> bool:
        prefix = self.endpoint_prefix
        return path == prefix or path.startswith(prefix + "/") or path == "/.well-known/gpc.json"

    def consent_from(self, cookie_header: str) -> Consent | None:
        if self.cookie_prefix not in cookie_header:
            return None
        value = None
        for segment in cookie_header.split(";"):
            name, sep, val = segment.partition("=")
            if sep and name.strip() == self.config.cookie_name:
                # With duplicates (a Domain and a host-only copy), browsers send the
                # longer-path/older one first; the first valid one wins.
                value = val.strip()
                consent = self.codec.loads(value)
                if consent is not None:
                    return consent
        return None

    def country(self, facts: RequestFacts) -> str | None:
        country = self.config.country
        if country is None:
            return None
        if isinstance(country, str):
            return country.upper()
        try:
            return country(facts)
        except Exception:
            # A failing resolver must not take pages down: fall back to the default regime.
            return None

    def begin(self, facts: RequestFacts) -> Visit:
        child = False
        if self.config.is_child is not None:
            try:
                child = bool(self.config.is_child(facts))
            except Exception:
                # Fail towards protection: an unknown age is treated as possibly a child.
                child = True
        decision = decide(
            self.policy,
            self.consent_from(facts.cookie_header),
            gpc=facts.gpc,
            country=self.country(facts),
            child=child,
        )
        visit = Visit(facts, decision)
        allowed = decision.allowed
        if facts.cookie_header and (
            self.config.filter_request_cookies or self.config.expire_refused_cookies
        ):
            self._filter_cookies(visit, allowed)
        if self.config.hide_click_ids and facts.query_string and "advertising" not in allowed:
            visit.query_string = self._strip_click_ids(facts.query_string)
        return visit

    def split_cookies(self, header: str, allowed: frozenset[str]) -> tuple[list[str], list[str]]:
        """``(kept segments, refused cookie names)`` of a request Cookie header."""
        kept: list[str] = []
        refused: list[str] = []
        category_of = self.matcher.cookie_category
        for segment in header.split(";"):
            name = segment.partition("=")[0].strip()
            category = category_of(name) if name else None
            if category is None or category in allowed or category in self.necessary:
                if segment.strip():
                    kept.append(segment.strip())
            else:
                refused.append(name)
        return kept, refused

    def _filter_cookies(self, visit: Visit, allowed: frozenset[str]) -> None:
        kept, refused = self.split_cookies(visit.facts.cookie_header, allowed)
        if refused and self.config.filter_request_cookies:
            visit.cookie_header = "; ".join(kept)
        if self.config.expire_refused_cookies:
            visit.stale_cookies = refused

    def update(self, visit: Visit, decision: Decision) -> None:
        """Switch ``visit`` to a new decision (after a consent change in this request)."""
        visit.decision = decision
        if self.config.expire_refused_cookies:
            visit.stale_cookies = self.split_cookies(visit.facts.cookie_header, decision.allowed)[1]

    def _strip_click_ids(self, query: str) -> str | None:
        parts = query.split("&")
        kept = [p for p in parts if unquote_plus(p.partition("=")[0]) not in self.click_ids]
        return "&".join(kept) if len(kept) != len(parts) else None

    # -- response --------------------------------------------------------------

    def response_headers(
        self, visit: Visit, headers: list[tuple[str, str]], extra_cookies: list[str] | None = None
    ) -> list[tuple[str, str]] | None:
        """The response headers with consent applied, or None when nothing changes."""
        decision = visit.decision
        allowed = decision.allowed
        category_of = self.matcher.cookie_category
        out: list[tuple[str, str]] = []
        stripped: set[str] = set()
        vary_at = cache_at = -1
        for name, value in headers:
            lower = name.lower()
            if lower == "set-cookie":
                cookie = set_cookie_name(value)
                category = category_of(cookie) if cookie else None
                if (
                    category is not None
                    and cookie != self.config.cookie_name
                    and category not in allowed
                    and category not in self.necessary
                ):
                    stripped.add(cookie)
                    continue
            elif lower == "vary":
                vary_at = len(out)
            elif lower == "cache-control":
                cache_at = len(out)
            out.append((name, value))
        # Only cookies the browser has (it sent them) need expiring; a stripped
        # Set-Cookie never reached it.
        expire = visit.stale_cookies
        if expire:
            host = visit.facts.host
            for cookie in dict.fromkeys(expire):
                out += [
                    ("set-cookie", v)
                    for v in expire_cookie(cookie, host, self.config.cookie_domains)
                ]
        if extra_cookies:
            out += [("set-cookie", v) for v in extra_cookies]
        dependent = decision.consulted or visit.rewritten or bool(stripped) or bool(expire)
        if not dependent and not extra_cookies:
            return None
        if dependent:
            _merge_vary(out, vary_at)
            _make_private(out, cache_at)
        return out

    # -- the consent cookie ----------------------------------------------------

    def consent_cookie(self, consent: Consent, facts: RequestFacts) -> str:
        secure = self.config.cookie_secure
        if secure is None:
            secure = facts.is_secure
        lifetime = self.policy.lifetime_days(self.policy.regime_for(self.country(facts)))
        age = lifetime * 86400 - max(0, int(time.time()) - consent.updated_at)
        # Not HttpOnly on purpose: the banner reads the (signed, non-secret) choices.
        return build_set_cookie(
            self.config.cookie_name,
            self.codec.dumps(consent),
            max_age=max(age, 0),
            domain=self.config.cookie_domain,
            secure=secure,
            samesite="Lax",
        )


def _merge_vary(headers: list[tuple[str, str]], at: int) -> None:
    # Shared caches must key consent-dependent responses on the consent cookie and
    # the GPC signal (RFC 9110 section 12.5.5).
    if at < 0:
        headers.append(("vary", "Cookie, Sec-GPC"))
        return
    name, value = headers[at]
    present = {v.strip().lower() for v in value.split(",")}
    if "*" in present:
        return
    missing = [v for v in ("Cookie", "Sec-GPC") if v.lower() not in present]
    if missing:
        headers[at] = (name, ", ".join([value, *missing]) if value.strip() else ", ".join(missing))


def _make_private(headers: list[tuple[str, str]], at: int) -> None:
    # Many CDNs ignore Vary: Cookie, so a page made for one visitor's consent must
    # also not be stored by shared caches at all (RFC 9111 section 5.2.2.7).
    if at < 0:
        headers.append(("cache-control", "private"))
        return
    name, value = headers[at]
    directives = [d.strip() for d in value.split(",") if d.strip()]
    lowered = {d.split("=", 1)[0].lower() for d in directives}
    if "no-store" in lowered or "private" in lowered:
        return
    kept = [d for d in directives if d.split("=", 1)[0].lower() not in ("public", "s-maxage")]
    headers[at] = (name, ", ".join(["private", *kept]))
