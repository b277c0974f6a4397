"""Cookie-consent and tracking-preference middleware that enforces consent on the server."""

from __future__ import annotations

from . import _compat
from .asgi import ConsentMiddleware
from .core.config import Config, CountryHeader
from .core.consent import Consent, Decision
from .core.keys import secret_from_env
from .exceptions import ConfigError, ConsentError, PolicyError, StoreError, StoreUnavailable
from .policy.model import Category, CookieSpec, Policy, Processor
from .policy.trackers import BUILTIN_TRACKERS, Matcher, Tracker
from .stores import MemoryStore, Record, SQLiteStore, store_from_url
from .wsgi import WSGIConsentMiddleware

__version__ = "0.1.0"

_compat.install()

__all__ = [
    "BUILTIN_TRACKERS",
    "Category",
    "Config",
    "ConfigError",
    "Consent",
    "ConsentError",
    "ConsentMiddleware",
    "CookieSpec",
    "CountryHeader",
    "Decision",
    "Matcher",
    "MemoryStore",
    "Policy",
    "PolicyError",
    "Processor",
    "Record",
    "SQLiteStore",
    "StoreError",
    "StoreUnavailable",
    "Tracker",
    "WSGIConsentMiddleware",
    "secret_from_env",
    "store_from_url",
]
