"""The options both middlewares take, validated once into a frozen :class:`Config`."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Unpack

from ..exceptions import ConfigError
from ..policy.model import Policy
from ..policy.regimes import REGIMES
from ..stores import store_from_url
from ..stores.base import BaseStore
from ..stores.sqlite import SQLiteStore
from .csp import CSP_MODES
from .expiry import is_domain_name
from .options import Options, PolicySource, SecretKey, StoreSource

if TYPE_CHECKING:
    from .facts import RequestFacts

__all__ = ["Config", "CountryHeader", "load_policy"]


class CountryHeader:
    """Resolve the visitor's country from a header set by a CDN or proxy.

    ``CountryHeader("CF-IPCountry", default="KR")``; values that are not two
    letters (Cloudflare sends ``XX`` for unknown and ``T1`` for Tor) give the default.
    """

    def __init__(self, name: str = "cf-ipcountry", *, default: str | None = None) -> None:
        self.name = name.lower()
        self.default = default.upper() if default else None

    def __call__(self, facts: RequestFacts) -> str | None:
        value = facts.headers.get(self.name, "").strip().upper()
        if len(value) == 2 and value.isalpha() and value != "XX":
            return value
        return self.default


def load_policy(policy: Policy | str | os.PathLike[str] | Mapping[str, Any]) -> Policy:
    """A :class:`Policy` from a policy, a preset name, a TOML path or a dict."""
    if isinstance(policy, Policy):
        return policy
    if isinstance(policy, Mapping):
        return Policy.from_dict(policy)
    if isinstance(policy, str) and policy in REGIMES:
        return Policy.preset(policy)
    if isinstance(policy, (str, os.PathLike)):
        return Policy.from_toml(policy)
    raise ConfigError(
        "policy must be a Policy, a preset name ('gdpr', 'pipa', 'ccpa'), a path to a TOML "
        f"file or a dict, not {type(policy).__name__}."
    )


@dataclass(frozen=True)
class Config:
    """Everything the middlewares need, checked at start-up."""

    policy: Policy
    secret_key: str | bytes | Sequence[str | bytes] = field(repr=False)
    store: BaseStore
    prefix: str = "/_consent"
    cookie_name: str = "consent_mw"
    cookie_domain: str | None = None
    cookie_secure: bool | None = None
    country: str | Callable[[RequestFacts], str | None] | None = None
    is_child: Callable[[RequestFacts], bool] | None = None
    hide_click_ids: bool = True
    filter_request_cookies: bool = True
    expire_refused_cookies: bool = True
    cookie_domains: Sequence[str] = ()
    allowed_origins: Sequence[str] = ()
    max_body_size: int = 8192
    trust_forwarded: bool = False
    rewrite_html: bool = True
    inject_banner: bool = True
    consent_mode: bool = True
    csp_nonce: str | Callable[[Any], str | None] | None = None
    html_exclude_paths: Sequence[str] = ()
    html_exclude_types: Sequence[str] = ()
    report_blocked: bool = False
    compress_html: bool = False
    record_requests: bool = False
    record_exclude_paths: Sequence[str] = ()
    ip_mode: Literal["truncate", "hash"] = "truncate"
    device_id_cookie: str | None = None
    unknown_cookies: Literal["report", "strip", "allow"] = "report"
    csp: Literal["off", "report", "enforce"] | None = None
    #: every policy version, oldest first (see consent_mw.schedule); empty: just ``policy``
    versions: tuple[Policy, ...] = ()

    def __post_init__(self) -> None:
        if not self.prefix.startswith("/") or self.prefix.endswith("/") or len(self.prefix) < 2:
            raise ConfigError(f"prefix {self.prefix!r} must start with '/' and not end with '/'.")
        if not self.cookie_name or any(c in self.cookie_name for c in ' ;,="\\\t'):
            raise ConfigError(f"cookie_name {self.cookie_name!r} is not a valid cookie name.")
        if isinstance(self.country, str) and not (
            len(self.country) == 2 and self.country.isalpha()
        ):
            raise ConfigError(
                f"country {self.country!r} must be a two-letter code such as 'KR', or a "
                "callable such as CountryHeader('CF-IPCountry')."
            )
        for path in self.html_exclude_paths:
            if not path.startswith("/"):
                raise ConfigError(f"html_exclude_paths entry {path!r} must start with '/'.")
        if self.csp_nonce is not None and not (
            isinstance(self.csp_nonce, str) or callable(self.csp_nonce)
        ):
            raise ConfigError("csp_nonce must be a scope/environ key or a callable.")
        if self.unknown_cookies not in ("report", "strip", "allow"):
            raise ConfigError(
                "unknown_cookies must be 'report', 'strip' or 'allow', "
                f"not {self.unknown_cookies!r}."
            )
        if self.csp is not None and self.csp not in CSP_MODES:
            raise ConfigError(f"csp must be 'off', 'report' or 'enforce', not {self.csp!r}.")
        if self.ip_mode not in ("truncate", "hash"):
            raise ConfigError(f"ip_mode must be 'truncate' or 'hash', not {self.ip_mode!r}.")
        if self.max_body_size < 256:
            raise ConfigError("max_body_size must be at least 256 bytes.")
        # A string would be taken letter by letter: no Domain, and no error at all.
        if isinstance(self.cookie_domains, str):
            raise ConfigError(
                f"cookie_domains must be a list such as [{self.cookie_domains!r}], not a string."
            )
        for domain in self.cookie_domains:
            if not isinstance(domain, str) or not is_domain_name(domain.strip()):
                raise ConfigError(
                    f"cookie_domains entry {domain!r} must be a domain name such as 'example.com'."
                )
        for origin in self.allowed_origins:
            if "://" not in origin or origin.endswith("/"):
                raise ConfigError(
                    f"allowed_origins entry {origin!r} must look like 'https://example.com'."
                )

    @classmethod
    def build(
        cls,
        *,
        policy: PolicySource,
        secret_key: SecretKey,
        store: StoreSource = None,
        **options: Unpack[Options],
    ) -> Config:
        unknown = set(options) - set(Options.__annotations__)
        if unknown:
            raise ConfigError(f"Unknown option(s): {', '.join(sorted(unknown))}.")
        if store is None:
            store = SQLiteStore()
        elif isinstance(store, str):
            store = store_from_url(store)
        if not isinstance(store, BaseStore):
            raise ConfigError(f"store must be a consent_mw store or a URL, not {store!r}.")
        if isinstance(policy, (Policy, str, os.PathLike, Mapping)):
            return cls(policy=load_policy(policy), secret_key=secret_key, store=store, **options)
        if not isinstance(policy, (list, tuple)) or not policy:
            raise ConfigError(
                "policy must be a Policy, a preset name, a TOML path, a dict, or a non-empty"
                " list of them (the versions, oldest first)."
            )
        versions = tuple(load_policy(p) for p in policy)
        return cls(
            policy=versions[0], secret_key=secret_key, store=store, versions=versions, **options
        )
