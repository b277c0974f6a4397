"""System checks (``manage.py check``): what would make the middleware refuse to start,
or enforce less than it seems to.

======================  ==================================================================
``consent_mw.E001``     ``CONSENT_MW`` missing, or without a ``policy``
``consent_mw.E002``     the policy does not load (the message names the key)
``consent_mw.E003``     a secret that signs nothing safely (short, a placeholder)
``consent_mw.E004``     another option the middleware refuses
``consent_mw.W001``     ``CONSENT_MW`` set but the middleware not in ``MIDDLEWARE``
``consent_mw.E010``     a cache middleware placed so consent-dependent pages can be shared
``consent_mw.W010``     ``GZipMiddleware`` inside the middleware: HTML passes unrewritten
``consent_mw.E020``     Django's session, CSRF or language cookie in an optional category
``consent_mw.W020``     that cookie undeclared: audited on every start, stripped by "strip"
======================  ==================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from ..core.config import Config, load_policy
from ..core.keys import check_key
from ..exceptions import ConsentError
from ..policy.model import Policy
from ..stores.memory import MemoryStore
from .conf import SETTING, derived_keys

__all__ = ["check_consent"]

MIDDLEWARE = "consent_mw.django.ConsentMiddleware"
_ALIASES = (MIDDLEWARE, "consent_mw.django.middleware.ConsentMiddleware")
_CACHE = "django.middleware.cache.CacheMiddleware"
_UPDATE = "django.middleware.cache.UpdateCacheMiddleware"
_FETCH = "django.middleware.cache.FetchFromCacheMiddleware"
_GZIP = "django.middleware.gzip.GZipMiddleware"
_SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
_CSRF = "django.middleware.csrf.CsrfViewMiddleware"
_LOCALE = "django.middleware.locale.LocaleMiddleware"


@register(Tags.security)
def check_consent(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    given = getattr(settings, SETTING, None)
    middleware = list(getattr(settings, "MIDDLEWARE", None) or ())
    at = next((i for i, name in enumerate(middleware) if name in _ALIASES), None)
    if given is None and at is None:
        return []
    if not isinstance(given, dict) or "policy" not in given:
        return [
            Error(
                "settings.CONSENT_MW is missing or has no 'policy'.",
                hint="CONSENT_MW = {'policy': BASE_DIR / 'policy.toml'} (or a preset: 'gdpr').",
                id="consent_mw.E001",
            )
        ]
    found: list[CheckMessage] = []
    policy = _policy(given["policy"], found)
    _secret(given.get("secret_key"), found)
    if policy is not None and not found:
        _options(given, policy, found)
    if at is None:
        found.append(
            Warning(
                f"settings.CONSENT_MW is set but {MIDDLEWARE} is not in MIDDLEWARE:"
                " nothing is enforced.",
                id="consent_mw.W001",
            )
        )
    else:
        found += _order(middleware, at)
        if policy is not None:
            found += _django_cookies(middleware, policy, given.get("unknown_cookies", "report"))
    return found


def _policy(source: Any, found: list[CheckMessage]) -> Policy | None:
    try:
        if isinstance(source, (list, tuple)) and source:
            return [load_policy(p) for p in source][-1]  # the newest version decides
        return load_policy(source)
    except (ConsentError, OSError) as exc:
        found.append(Error(f"The consent policy does not load: {exc}", id="consent_mw.E002"))
        return None


def _secret(explicit: Any, found: list[CheckMessage]) -> None:
    try:
        if explicit is None:
            derived_keys()
        else:
            for key in [explicit] if isinstance(explicit, (str, bytes)) else list(explicit):
                check_key(key, "CONSENT_MW['secret_key']")
    except ConsentError as exc:
        found.append(Error(str(exc), id="consent_mw.E003"))


def _options(given: dict[str, Any], policy: Policy, found: list[CheckMessage]) -> None:
    # Every other option as the middleware will check it, on a throwaway store.
    rest = {k: v for k, v in given.items() if k not in ("policy", "secret_key", "store")}
    try:
        Config.build(policy=policy, secret_key="x" * 32, store=MemoryStore(), **rest)
    except (ConsentError, TypeError) as exc:
        found.append(Error(f"CONSENT_MW: {exc}", id="consent_mw.E004"))


def _order(middleware: Sequence[str], at: int) -> list[CheckMessage]:
    """Cache and compression middleware on the wrong side of this one. The list runs
    outside in: a response passes the later entries first."""
    found: list[CheckMessage] = []
    for index, name in enumerate(middleware):
        shared = (
            name == _CACHE or (name == _UPDATE and index > at) or (name == _FETCH and index < at)
        )
        if shared:
            found.append(
                Error(
                    f"{name.rsplit('.', 1)[1]} is placed where it caches or serves pages"
                    " without the consent middleware between: one visitor's page, consent"
                    " id or cookies could be served to another.",
                    hint=f"Order MIDDLEWARE as {_UPDATE}, then {MIDDLEWARE}, then {_FETCH}"
                    " (CacheMiddleware cannot stand on both sides: use the pair).",
                    id="consent_mw.E010",
                )
            )
        elif name == _GZIP and index > at:
            found.append(
                Warning(
                    "GZipMiddleware comes after the consent middleware: it compresses HTML"
                    " before the tracker rewriter sees it, which then passes untouched.",
                    hint=f"Put {_GZIP} before {MIDDLEWARE} in MIDDLEWARE.",
                    id="consent_mw.W010",
                )
            )
    return found


def _django_cookies(middleware: Sequence[str], policy: Policy, unknown: str) -> list[CheckMessage]:
    """Django's own cookies the policy must let through: refused, they break sign-in,
    forms or the language choice for every visitor without consent."""
    names = []
    if _SESSION in middleware:
        names.append(("session", settings.SESSION_COOKIE_NAME))
    if _CSRF in middleware and not settings.CSRF_USE_SESSIONS:
        names.append(("CSRF", settings.CSRF_COOKIE_NAME))
    if _LOCALE in middleware:
        names.append(("language", settings.LANGUAGE_COOKIE_NAME))
    found: list[CheckMessage] = []
    necessary = set(policy.required_ids)
    for what, name in names:
        category = policy.matcher.cookie_category(name)
        if category is not None and category not in necessary:
            found.append(
                Error(
                    f"Django's {what} cookie {name!r} is in the optional category"
                    f" {category!r}: it would be stripped for every visitor who has not"
                    " allowed it.",
                    hint="List it under the 'necessary' category's cookies in the policy.",
                    id="consent_mw.E020",
                )
            )
        elif category is None and unknown == "strip":
            found.append(
                Error(
                    f"Django's {what} cookie {name!r} is not declared in the policy:"
                    " unknown_cookies='strip' strips it without full consent.",
                    hint="List it under the 'necessary' category's cookies in the policy.",
                    id="consent_mw.E020",
                )
            )
        elif category is None and unknown == "report":
            found.append(
                Warning(
                    f"Django's {what} cookie {name!r} is not declared in the policy: it"
                    " is reported as an undeclared cookie.",
                    hint="List it under the 'necessary' category's cookies in the policy.",
                    id="consent_mw.W020",
                )
            )
    return found
