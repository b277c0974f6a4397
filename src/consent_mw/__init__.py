"""Cookie-consent and tracking-preference middleware that enforces consent on the server."""

from __future__ import annotations

from .asgi import ConsentMiddleware
from .config import Config, CountryHeader
from .consent import Consent, Decision
from .exceptions import ConfigError, ConsentError, PolicyError, StoreError, StoreUnavailable
from .keys import secret_from_env
from .policy import Category, CookieSpec, Policy, Processor
from .stores import MemoryStore, Record, SQLiteStore, store_from_url
from .trackers import BUILTIN_TRACKERS, Matcher, Tracker
from .wsgi import WSGIConsentMiddleware

__version__ = "0.1.0"

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
