"""The framework-free core both middlewares call.

:meth:`Engine.begin` turns request facts into a :class:`Visit` (the decision,
the app's filtered view of cookies and query string, tracker cookies to
expire); :meth:`Engine.response_headers` applies the decision to the app's
response headers. Neither touches the store: on the hot path the signed
cookie is the whole enforcement state.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from .._memo import remember
from ..exceptions import ConfigError
from ..policy.regimes import REGIMES
from .audit import CookieAudit
from .bots import expression
from .cache_headers import DEPENDENT_HEADERS, make_private, merge_vary
from .config import Config
from .consent import Consent, Decision, Verdict, judge, service_token
from .cookies import (
    FORM_COOKIE,
    ConsentCookieCodec,
    build_set_cookie,
    parse_cookie_header,
)
from .csp import BrowserPolicy
from .device import DeviceParser, bot_check, truncate_ip
from .expiry import Expiry
from .facts import RequestFacts
from .host_audit import HostAudit
from .recorder import Hit
from .validators import MARK, app_if_none_match, decision_tag

__all__ = ["OPT_OUT_HEADER", "Engine", "Visit"]

#: a response header the app sets (to ``off``) to keep one response's HTML as it is
OPT_OUT_HEADER = b"x-consent-rewrite"

_UNSEEN: Any = object()
# What becomes of a Set-Cookie (see Engine._cookie_fate).
_KEEP, _PASS, _STRIP = range(3)
#: ``b";" in name`` as an int: CPython 3.11 looks a bytes needle up only after
#: failing to read it as an int (an exception raised and cleared, ~10x the cost)
_SEMICOLON = ord(";")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_XHTML = b"application/xhtml+xml"
_CSP_HEADER = b"content-security-policy"


(
    _SET_COOKIE,
    _CONTENT_TYPE,
    _VARY,
    _CACHE_CONTROL,
    _CONTENT_ENCODING,
    _CSP,
    _LENGTH,
    _VALIDATOR,
    _OPT_OUT,
) = range(9)
# The response headers the engine looks at, by lowercase name.
_RESPONSE_HEADERS = {
    b"set-cookie": _SET_COOKIE,
    b"content-type": _CONTENT_TYPE,
    b"vary": _VARY,
    b"cache-control": _CACHE_CONTROL,
    b"content-encoding": _CONTENT_ENCODING,
    b"content-security-policy": _CSP,
    b"content-length": _LENGTH,
    b"etag": _VALIDATOR,
    b"last-modified": _VALIDATOR,
    OPT_OUT_HEADER: _OPT_OUT,
}

# Per-instance memo sizes (entries); 0 turns a memo off.
CACHE_SIZE = 4096
_CACHEABLE_HEADER = 4096


@dataclass(slots=True)
class Visit:
    """One request's consent state, shared by the request and response halves."""

    facts: RequestFacts
    decision: Decision
    cookie_header: str | None = None
    query_string: str | None = None
    stale_cookies: tuple[str, ...] = ()
    #: set by the HTML rewriter when the body was changed for this visitor
    rewritten: bool = False
    #: noted from the response headers, for the HTML rewriter
    content_type: bytes | None = None
    content_encoding: bytes | None = None
    opt_out: bytes | None = None
    #: Set-Cookie values an endpoint adds to its answer (the pages' form nonce)
    extra_cookies: tuple[str, ...] = ()
    #: the If-None-Match the app sees (None: as sent; "": removed, with If-Modified-Since)
    if_none_match: str | None = None
    #: the decision tag of the request's validator of ours that matched (see .validators)
    revalidated: str | None = None
    #: the response headers say already that it depends on consent (Vary, Cache-Control)
    marked: bool = False
    #: noted from the response headers too, for the HTML rewriter: the policies of the
    #: Content-Security-Policy headers (the app's and ours), where Content-Length is in
    #: the headers as sent on (-1: nowhere), whether there is an ETag or Last-Modified
    #: (or more than one Content-Length)
    csp: list[bytes] | None = None
    length_at: int = -1
    validators: bool = False


class Engine:
    """Holds the precomputed policy data; one per middleware instance."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.policy = config.policy
        self.matcher = config.policy.matcher
        #: what the HTML rewriter holds (less Google's tags in advanced Consent Mode)
        self.tag_matcher = config.policy.tag_matcher
        self.codec = ConsentCookieCodec(
            config.secret_key,
            max_age_days=max(r.max_lifetime_days for r in REGIMES.values()),
        )
        self.cookie_prefix = config.cookie_name + "="
        self.endpoint_prefix = config.prefix
        #: a path that starts with none of these is not a consent endpoint
        self.endpoint_starts = (config.prefix, "/.well-known/gpc.json")
        self.click_ids = frozenset(self.matcher.click_ids)
        # A query string none of them is in (nor a percent-escape that could spell
        # one) keeps them all: one search instead of a split and unquote per parameter.
        self._click_id_hint = re.compile(
            "|".join(["%", *(re.escape(name) for name in sorted(self.click_ids))])
        ).search
        # Policy cookie specs win over the registry (the Matcher is built that way);
        # necessary cookies are never touched.
        self.necessary = frozenset(self.policy.required_ids)
        self.expiry = Expiry(config.cookie_domains)
        self.cache_size = CACHE_SIZE
        # Built now rather than on a first request: the bot patterns (~20 ms) and, with the
        # ua extra, the user-agent parser (~0.3 s, once per process).
        expression()
        self._device_parser = _device_parser()
        #: whether a user agent is an automated client: the patterns, and the parser's
        #: crawler classification when the ua extra is installed
        self.is_bot = bot_check(lambda: self._device_parser)
        # The middleware's own cookies: necessary, never audited or stripped.
        self._own_cookies = {config.cookie_name.encode("latin-1"), FORM_COOKIE.encode()}
        #: set by the runtime: where undeclared cookies are reported
        self.audit: CookieAudit | None = None
        #: what the HTML layer keeps for this engine, made on its first page (see
        #: consent_mw.html.body)
        self.html: Any = None
        #: the browser's half of enforcement on HTML pages (see .csp); None when off
        mode = config.csp or self.policy.csp
        self.csp_mode = mode
        self.browser = (
            BrowserPolicy(self.policy, mode, config.prefix + "/csp-report")
            if mode != "off"
            else None
        )
        #: set by the runtime: where the third-party hosts browsers report go
        self.host_audit: HostAudit | None = None
        self._audited: set[bytes] = set()
        self._device_view = self.device_view  # bound once, not on every request
        self._is_child = config.is_child
        self._strip_unknown = config.unknown_cookies == "strip"
        self._country = config.country
        self._verdicts: dict[tuple[object, ...], tuple[Verdict, float]] = {}
        self._cookie_views: dict[tuple[str, frozenset[str]], tuple[str | None, tuple[str, ...]]]
        self._cookie_views = {}
        self._set_cookie_categories: dict[bytes, str | None] = {}
        self._set_cookie_services: dict[bytes, str] = {}
        #: allowed set -> Set-Cookie name -> its fate (_KEEP, _PASS, _STRIP; None: undeclared)
        self._cookie_fates: dict[frozenset[str], dict[bytes, int | None]] = {}
        self._cookie_headers: dict[str, tuple[Consent | None, bool]] = {}
        self._click_queries: dict[str, str | None] = {}
        self._decision_tags: dict[frozenset[str], str] = {}

    # -- request ---------------------------------------------------------------

    def is_endpoint(self, path: str) -> bool:
        if not path.startswith(self.endpoint_starts):
            return False
        prefix = self.endpoint_prefix
        return path == prefix or path.startswith(prefix + "/") or path == "/.well-known/gpc.json"

    def read_cookies(self, cookie_header: str) -> tuple[Consent | None, bool]:
        """``(the visitor's consent, whether any other cookie belongs to an optional
        category)`` for a Cookie header. Browsers repeat the same header request after
        request, so the answer is remembered (bounded; the consent's expiry is applied
        by :meth:`verdict`)."""
        known = self._cookie_headers.get(cookie_header)
        if known is None:
            category_of = self.matcher.cookie_category
            optional = any(
                (category := category_of(segment.partition("=")[0].strip())) is not None
                and category not in self.necessary
                for segment in cookie_header.split(";")
            )
            known = (self.consent_from(cookie_header), optional)
            if len(cookie_header) <= _CACHEABLE_HEADER:
                remember(self._cookie_headers, cookie_header, known, self.cache_size)
        return known

    def consent_from(self, cookie_header: str) -> Consent | None:
        found = self.consent_cookie_of(cookie_header)
        return found[0] if found is not None else None

    def consent_cookie_of(self, cookie_header: str) -> tuple[Consent, str] | None:
        """``(the consent in force, its signed cookie value)`` of a Cookie header.

        Copies under several Domains or Paths (a site that set ``cookie_domain`` later)
        arrive together, in an order that says nothing of their age (RFC 6265 section
        5.4: longer paths first, then earlier creation); the newest decision wins, so
        a withdrawal is never shadowed by an older acceptance (within one second, the
        later listed: for equal paths, the later created)."""
        if self.cookie_prefix not in cookie_header:
            return None
        best: tuple[Consent, str] | None = None
        for segment in cookie_header.split(";"):
            name, sep, val = segment.partition("=")
            if sep and name.strip() == self.config.cookie_name:
                value = val.strip()
                consent = self.codec.loads(value)
                if consent is not None and (
                    best is None or consent.updated_at >= best[0].updated_at
                ):
                    best = (consent, value)
        return best

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

    def verdict(
        self, consent: Consent | None, gpc: bool, country: str | None, child: bool
    ) -> Verdict:
        """The verdict for these inputs, shared between requests that bring the same ones.

        A verdict only changes with time when the consent expires, so a cached one is
        used until then; the cache is bounded and drops its oldest entries first.
        """
        key = (consent.id if consent else None, gpc, country, child)
        cached = self._verdicts.get(key)
        now = time.time()
        if cached is not None and now < cached[1] and cached[0].consent is consent:
            return cached[0]
        verdict = judge(self.policy, consent, gpc=gpc, country=country, child=child, now=now)
        until = float("inf")
        if consent is not None:
            lifetime = self.policy.lifetime_days(self.policy.regime_for(country)) * 86400
            until = consent.updated_at + lifetime
        remember(self._verdicts, key, (verdict, until), self.cache_size)
        return verdict

    def begin(self, facts: RequestFacts) -> Visit:
        child = False
        if self._is_child is not None:
            try:
                child = bool(self._is_child(facts))
            except Exception:
                # Fail towards protection: an unknown age is treated as possibly a child.
                child = True
        consent, optional_cookies = self.read_cookies(facts.cookie_header)
        country = None if self._country is None else self.country(facts)
        decision = Decision(
            self.verdict(consent, facts.gpc, country, child), self._device_view, facts
        )
        visit = Visit(facts, decision)
        allowed = decision._allowed
        if optional_cookies:
            self._filter_cookies(visit, allowed)
        if facts.query_string and self.config.hide_click_ids and "advertising" not in allowed:
            visit.query_string = self._strip_click_ids(facts.query_string)
        if facts.if_none_match is not None and MARK in facts.if_none_match:
            tag = self.decision_tag(allowed)
            visit.if_none_match, matched = app_if_none_match(facts.if_none_match, tag)
            if matched:
                visit.revalidated = tag
        return visit

    def decision_tag(self, allowed: frozenset[str]) -> str:
        """The tag that sets this decision's rewritten bodies apart (see .validators)."""
        tag = self._decision_tags.get(allowed)
        if tag is None:
            tag = decision_tag(self.policy.version, allowed)
            remember(self._decision_tags, allowed, tag, self.cache_size)
        return tag

    def device_view(self, facts: RequestFacts, decision: Decision) -> dict[str, Any]:
        """What the app may know of the device, given what ``decision`` allows."""
        user_agent = facts.headers.get("user-agent")
        bot = self.is_bot(user_agent)
        view: dict[str, Any] = {"ip": truncate_ip(facts.client_ip), "bot": bot}
        allowed = decision._allowed
        if "analytics" in allowed and not bot and self.device_parser is not None:
            parsed = self.device_parser.facts(user_agent)
            if parsed is not None:
                view.update(parsed.to_dict())
        name = self.config.device_id_cookie
        if "advertising" in allowed and name:
            device_id = next(
                (v for k, v in parse_cookie_header(facts.cookie_header) if k == name), None
            )
            if device_id is not None:
                view["device_id"] = device_id
        return view

    def hit(self, visit: Visit, status: int) -> Hit:
        """The finished request as the recorder takes it (minimised later, off the
        response path)."""
        facts, decision = visit.facts, visit.decision
        device_id = None
        name = self.config.device_id_cookie
        if name and "advertising" in decision._allowed:
            device_id = next(
                (v for k, v in parse_cookie_header(facts.cookie_header) if k == name), None
            )
        consent = decision._verdict.consent
        # Positional (time, kind, path, status, ip, user_agent, allowed, subject_id,
        # user_id, device_id): a named tuple takes keywords at several times the cost.
        return Hit(
            time.time(),
            "login" if decision._login_user is not None else "request",
            facts.path,
            status,
            facts.client_ip,
            facts.user_agent or facts.headers.get("user-agent"),
            decision._allowed,
            consent.id if consent is not None else None,
            decision._login_user,
            device_id,
        )

    @property
    def device_parser(self) -> DeviceParser | None:
        """The user-agent parser, or None without the ``ua`` extra."""
        return self._device_parser

    def split_cookies(self, header: str, allowed: frozenset[str]) -> tuple[list[str], list[str]]:
        """``(kept segments, refused cookie names)`` of a request Cookie header."""
        kept: list[str] = []
        refused: list[str] = []
        owner_of = self.matcher.cookie_owner
        # A category chosen service by service keeps the cookies of its allowed services.
        partial = any("/" in a for a in allowed)
        for segment in header.split(";"):
            name = segment.partition("=")[0].strip()
            found = owner_of(name) if name else None
            category = found[0] if found is not None else None
            if (
                category is None
                or category in allowed
                or category in self.necessary
                or (partial and self._service_token(*found) in allowed)  # type: ignore[misc]
            ):
                if segment.strip():
                    kept.append(segment.strip())
            elif _TOKEN.match(name):
                refused.append(name)
            # A refused name that is not an RFC 6265 token is hidden from the app but
            # never echoed into an expiring Set-Cookie (no CR, LF or NUL in headers).
        return kept, refused

    def cookie_view(
        self, header: str, allowed: frozenset[str]
    ) -> tuple[str | None, tuple[str, ...]]:
        """``(the Cookie header the app sees or None if unchanged, refused names)``.

        A browser sends the same Cookie header on request after request, so the
        answer is remembered (bounded, oldest dropped first)."""
        key = (header, allowed)
        view = self._cookie_views.get(key)
        if view is None:
            kept, refused = self.split_cookies(header, allowed)
            view = ("; ".join(kept) if refused else None, tuple(refused))
            if len(header) <= _CACHEABLE_HEADER:
                remember(self._cookie_views, key, view, self.cache_size)
        return view

    def _filter_cookies(self, visit: Visit, allowed: frozenset[str]) -> None:
        app_header, refused = self.cookie_view(visit.facts.cookie_header, allowed)
        if self.config.filter_request_cookies:
            visit.cookie_header = app_header
        if self.config.expire_refused_cookies:
            visit.stale_cookies = refused

    def update(self, visit: Visit, decision: Decision) -> None:
        """Switch ``visit`` to a new decision (after a consent change in this request)."""
        visit.decision = decision
        if self.config.expire_refused_cookies:
            visit.stale_cookies = self.cookie_view(visit.facts.cookie_header, decision._allowed)[1]

    def _strip_click_ids(self, query: str) -> str | None:
        """``query`` without its click ids (None: it has none). A page's query string
        comes back request after request: the answer is remembered (bounded)."""
        found = self._click_queries.get(query, _UNSEEN)
        if found is not _UNSEEN:
            return found  # type: ignore[no-any-return]
        stripped: str | None = None
        if self._click_id_hint(query) is not None:
            parts = query.split("&")
            kept = [p for p in parts if unquote_plus(p.partition("=")[0]) not in self.click_ids]
            if len(kept) != len(parts):
                stripped = "&".join(kept)
        if len(query) <= _CACHEABLE_HEADER:
            remember(self._click_queries, query, stripped, self.cache_size)
        return stripped

    # -- response --------------------------------------------------------------

    def _unknown_cookie(self, name: bytes, value: bytes, visit: Visit) -> bool:
        """Note a cookie nobody declared; True when it must be stripped."""
        mode = self.config.unknown_cookies
        if name not in self._audited:
            if mode != "allow" and name not in self._own_cookies and self.audit is not None:
                self.audit.notice(value.decode("latin-1"), visit.facts.path)
            if len(self._audited) < CACHE_SIZE:
                self._audited.add(name)
        if mode == "allow" or name in self._own_cookies:
            return False
        # "strip" treats an undeclared cookie as optional: it needs every optional
        # category, since nobody can say which one it serves.
        return mode == "strip" and not all(
            c in visit.decision._allowed for c in self.policy.optional_ids
        )

    def _service_token(self, category: str, owner: str) -> str:
        """``category/service`` for a tracker owner, or "" when it names no service."""
        service = self.policy.service_of(category, owner)
        return service_token(category, service) if service else ""

    def set_cookie_service(self, name: bytes) -> str:
        """The ``category/service`` a Set-Cookie name belongs to, or "" (see
        :meth:`set_cookie_category`); asked only when its category is not allowed whole."""
        try:
            return self._set_cookie_services[name]
        except KeyError:
            pass
        found = self.matcher.cookie_owner(name.decode("latin-1"))
        token = self._service_token(*found) if found is not None else ""
        remember(self._set_cookie_services, name, token, self.cache_size)
        return token

    def _cookie_fate(
        self, name: bytes, allowed: frozenset[str], fates: dict[bytes, int | None]
    ) -> int | None:
        """What becomes of a Set-Cookie named ``name`` under ``allowed`` (None: nobody
        declared it); kept in ``fates``, the memo of that allowed set."""
        category = self.set_cookie_category(name)
        fate: int | None
        if category is None:
            fate = None
        elif category in self.necessary:
            fate = _KEEP
        # Its service may be allowed on its own ("advertising/Meta").
        elif category in allowed or self.set_cookie_service(name) in allowed:
            fate = _PASS
        else:
            fate = _STRIP
        remember(fates, name, fate, self.cache_size)
        return fate

    def set_cookie_category(self, name: bytes) -> str | None:
        """The consent category of a cookie name from a ``Set-Cookie`` (None: unknown)."""
        try:
            return self._set_cookie_categories[name]
        except KeyError:
            pass
        cookie = name.decode("latin-1")
        category = (
            None if cookie == self.config.cookie_name else self.matcher.cookie_category(cookie)
        )
        remember(self._set_cookie_categories, name, category, self.cache_size)
        return category

    def response_headers(
        self, visit: Visit, headers: list[tuple[bytes, bytes]]
    ) -> list[tuple[bytes, bytes]] | None:
        """The response headers (ASGI form: bytes pairs) with consent applied, or None
        when nothing changes."""
        decision = visit.decision
        allowed = decision._allowed
        out: list[tuple[bytes, bytes]] = []
        stripped = passed = False
        vary_at = cache_at = -1
        visit.content_type = visit.content_encoding = visit.opt_out = visit.csp = None
        visit.marked = visit.validators = False
        visit.length_at = -1
        kinds = _RESPONSE_HEADERS
        fates = self._cookie_fates.get(allowed)
        if fates is None:
            fates = {}
            remember(self._cookie_fates, allowed, fates, 64)
        for header in headers:
            key = header[0]
            kind = kinds.get(key)
            # ASGI names are lowercase already; lowercase only one that is not.
            if kind is None and (key.islower() or (kind := kinds.get(key.lower())) is None):
                out.append(header)
                continue
            if kind == _SET_COOKIE:
                value = header[1]
                # The cookie's name; no '=' before the first ';' means browsers ignore
                # the header (RFC 6265 5.2), and so does this.
                name = value.partition(b"=")[0]
                name = b"" if _SEMICOLON in name else name.strip()
                fate = fates.get(name, _UNSEEN)
                if fate is _UNSEEN:
                    fate = self._cookie_fate(name, allowed, fates)
                if fate == _STRIP:
                    stripped = True
                    continue
                if fate == _PASS:
                    # Let through for this visitor only: a shared cache must not hand
                    # it to one who refused.
                    passed = True
                elif fate is None:
                    # Undeclared. Reported once per name; only "strip" needs a look
                    # every time.
                    if (name not in self._audited or self._strip_unknown) and self._unknown_cookie(
                        name, value, visit
                    ):
                        stripped = True
                        continue
                    # Under "strip" an undeclared cookie passes only with full consent.
                    passed = passed or self._strip_unknown
            elif kind == _CONTENT_TYPE:
                # Only HTML is noted: the rewriter's business (see htmlbody.plan_html).
                value = header[1]
                if value[:9].lower() == b"text/html" or value[:21].lower() == _XHTML:
                    visit.content_type = value
            elif kind == _VARY:
                vary_at = len(out)
            elif kind == _CACHE_CONTROL:
                cache_at = len(out)
            elif kind == _CONTENT_ENCODING:
                visit.content_encoding = header[1]
            elif kind == _CSP:
                if visit.csp is None:
                    visit.csp = [header[1]]
                else:
                    visit.csp.append(header[1])
            elif kind == _LENGTH:
                if visit.length_at >= 0:
                    visit.validators = True
                visit.length_at = len(out)
            elif kind == _VALIDATOR:
                visit.validators = True
            else:
                # The app's instruction to this middleware, not for the browser.
                visit.opt_out = header[1]
                continue
            out.append(header)
        stale = visit.stale_cookies
        # The browser policy differs per decision: a page with it is consent-dependent.
        browser = self.browser
        added = browser and browser.response_headers(allowed, visit.facts, visit.content_type)
        if added:
            out += added
            for name, value in added:
                if name == _CSP_HEADER:
                    visit.csp = [*visit.csp, value] if visit.csp else [value]
        dependent = stripped or passed or stale or decision._consulted or visit.rewritten or added
        if not dependent:
            return None if visit.opt_out is None else out
        # Only cookies the browser has (it sent them) need expiring; a stripped
        # Set-Cookie never reached it. Bounded per response (see .expiry).
        if stale:
            expiries = self.expiry.headers(stale, visit.facts.host)
            out += [(b"set-cookie", value) for value in expiries]
        if vary_at < 0 and cache_at < 0:
            out += DEPENDENT_HEADERS
        else:
            merge_vary(out, vary_at)
            make_private(out, cache_at)
        visit.marked = True
        return out

    # -- the consent cookie ----------------------------------------------------

    def consent_cookies(self, consent: Consent, facts: RequestFacts) -> list[str]:
        """The ``Set-Cookie`` values that store ``consent`` in the visitor's browser."""
        secure = self.config.cookie_secure
        if secure is None:
            secure = facts.is_secure
        lifetime = self.policy.lifetime_days(self.policy.regime_for(self.country(facts)))
        age = lifetime * 86400 - max(0, int(time.time()) - consent.updated_at)
        # Not HttpOnly on purpose: the banner reads the (signed, non-secret) choices.
        cookie = build_set_cookie(
            self.config.cookie_name,
            self.codec.dumps(consent),
            max_age=max(age, 0),
            domain=self.config.cookie_domain,
            secure=secure,
            samesite="Lax",
        )
        if self.config.cookie_domain and self.cookie_prefix in facts.cookie_header:
            # A host-only copy from before cookie_domain was set is a cookie of its own
            # (browsers key cookies by domain and host-only flag): expire it first, or
            # it lives on beside this one.
            stale = build_set_cookie(self.config.cookie_name, "", max_age=0, samesite="")
            return [stale, cookie]
        return [cookie]


def _device_parser() -> DeviceParser | None:
    try:
        return DeviceParser()
    except ConfigError:
        return None
