"""The advertising team's query surface over the consent ledger.

May we personalise ads for this user or device? Who opted out? How many consented,
per category and policy version? What did this user agree to, and when? Three ways
in, one set of answers, every query written to the access log:

- Python: :class:`QueryService` (sync and async), :class:`Filters`, :class:`ExportRun`.
- HTTP: :func:`create_app`, a Starlette app to mount (bearer tokens, OpenAPI).
- CLI: ``consent-mw query|lookup|stats|export|purge|access-log|token create``.

And the feed (:mod:`.adfeed`, ``docs/feed.md``): consent in Google Ads and GA4 terms, the
state at a past time, every change in order (long-poll, ``consent-mw watch``) and signed
webhooks (:class:`WebhookWorker`, :func:`verify_signature`; ``consent-mw webhooks``).
"""

from __future__ import annotations

from .adfeed import AdsFeed
from .app import create_app
from .errors import BadQuery, QueryError, TooManyIds, UnknownSubject
from .export import ExportRun, csv_header, encode_rows
from .filters import Filters
from .service import Caller, QueryService
from .tokens import TokenRing, TokenSpec, hash_token, new_token
from .webhooks import SignatureError, WebhookWorker, sign_body, verify_signature

__all__ = [
    "AdsFeed",
    "BadQuery",
    "Caller",
    "ExportRun",
    "Filters",
    "QueryError",
    "QueryService",
    "SignatureError",
    "TokenRing",
    "TokenSpec",
    "TooManyIds",
    "UnknownSubject",
    "WebhookWorker",
    "create_app",
    "csv_header",
    "encode_rows",
    "hash_token",
    "new_token",
    "sign_body",
    "verify_signature",
]
