"""The middlewares' options as types editors and mypy see: ``ConsentMiddleware(app,
policy=..., secret_key=..., **Options)``. :class:`~consent_mw.core.config.Config` checks the
values at start-up (naming the bad key); a test keeps this list and Config's fields the
same."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypedDict

if TYPE_CHECKING:
    from ..policy.model import Policy
    from ..stores.base import BaseStore
    from .facts import RequestFacts

__all__ = ["Options", "PolicySource", "SecretKey", "StoreSource"]

#: a Policy, a preset name ("gdpr", "pipa", "ccpa"), a TOML path, a dict, or versions oldest first
PolicySource: TypeAlias = (
    "Policy | str | os.PathLike[str] | Mapping[str, Any]"
    " | Sequence[Policy | str | os.PathLike[str] | Mapping[str, Any]]"
)
#: one key (16+ characters) or several for rotation: the first signs, all verify
SecretKey: TypeAlias = "str | bytes | Sequence[str | bytes]"
#: a store, a URL (sqlite:///…, redis://…, redis+cluster://…, memory://), or None for SQLite
StoreSource: TypeAlias = "BaseStore | str | None"


class Options(TypedDict, total=False):
    """Every keyword option of both middlewares (all optional; README "Options")."""

    #: where the consent endpoints live (default "/_consent")
    prefix: str
    #: the consent cookie's name (default "consent_mw")
    cookie_name: str
    #: the consent cookie's Domain, to share a choice across subdomains (default host-only)
    cookie_domain: str | None
    #: force Secure on the consent cookie on or off (default: from the request's scheme)
    cookie_secure: bool | None
    #: a two-letter country, or a callable giving it (e.g. CountryHeader("CF-IPCountry"))
    country: str | Callable[[RequestFacts], str | None] | None
    #: whether the visitor is a child; an exception counts as yes
    is_child: Callable[[RequestFacts], bool] | None
    #: hide click ids (gclid, fbclid, …) from the app without advertising consent (True)
    hide_click_ids: bool
    #: hide refused cookies from the app (True)
    filter_request_cookies: bool
    #: expire refused tracker cookies the browser still has (True)
    expire_refused_cookies: bool
    #: extra Domains to expire tracker cookies on, where a browser would take them
    cookie_domains: Sequence[str]
    #: other origins allowed to change consent (the site's own always is)
    allowed_origins: Sequence[str]
    #: largest consent request body, bytes (8192; at least 256)
    max_body_size: int
    #: take client IP, scheme and host from X-Forwarded-For/-Proto/-Host (False)
    trust_forwarded: bool
    #: neutralise tracker tags in HTML (True)
    rewrite_html: bool
    #: inject the banner into HTML (True)
    inject_banner: bool
    #: inject the Consent Mode default into HTML (True)
    consent_mode: bool
    #: a scope/environ key, or a callable, giving the page's CSP nonce
    csp_nonce: str | Callable[[Any], str | None] | None
    #: path prefixes whose HTML is never rewritten
    html_exclude_paths: Sequence[str]
    #: content types never rewritten
    html_exclude_types: Sequence[str]
    #: hold HTML whole and add X-Consent-Blocked: N (False; for tuning)
    report_blocked: bool
    #: gzip the rewritten HTML when the client accepts it (False)
    compress_html: bool
    #: record automatically collected data, only as far as consent allows (False)
    record_requests: bool
    #: path prefixes that leave no record at all
    record_exclude_paths: Sequence[str]
    #: how a recorded IP is minimised: "truncate" (/24, /48) or "hash" (daily salt)
    ip_mode: Literal["truncate", "hash"]
    #: the cookie holding a device id, recorded only with advertising consent
    device_id_cookie: str | None
    #: undeclared Set-Cookies: "report" (keep, record), "strip" or "allow"
    unknown_cookies: Literal["report", "strip", "allow"]
    #: a per-visitor Content-Security-Policy on HTML pages: "off", "report" (report-only,
    #: feeds the host inventory) or "enforce" (None: the policy file's ``csp``, else "off")
    csp: Literal["off", "report", "enforce"] | None
