"""Errors of the query surface; each carries the HTTP status and the code of its answer.

::

    ConsentError
    └── QueryError            (ValueError)
        ├── BadQuery          400  a filter, cursor, id or limit that cannot work
        ├── UnknownSubject    404  no current state (or no history) for the id
        ├── TooManyIds        413  a batch lookup over the limit
        └── FeedUnavailable   501  the ledger keeps no change feed (Redis Cluster)

The HTTP app answers ``{"error": code, "detail": message}`` with ``status``; the CLI
exits 2 for a bad query, 1 for an unknown subject.
"""

from __future__ import annotations

from ..exceptions import ConsentError

__all__ = ["BadQuery", "FeedUnavailable", "QueryError", "TooManyIds", "UnknownSubject"]


class QueryError(ConsentError, ValueError):
    """A query the ledger cannot answer as asked."""

    status = 400
    code = "bad_query"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code


class BadQuery(QueryError):
    """A filter, cursor, id or limit that cannot work; the message says which."""


class UnknownSubject(QueryError):
    """The ledger has nothing for this id."""

    status = 404
    code = "unknown_subject"


class TooManyIds(QueryError):
    """More ids than one batch lookup takes."""

    status = 413
    code = "too_many_ids"


class FeedUnavailable(QueryError):
    """The ledger keeps no change feed (a Redis Cluster ledger)."""

    status = 501
    code = "feed_unavailable"
