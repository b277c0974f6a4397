"""Who asks the query surface, as its access log records it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Caller"]


@dataclass(frozen=True)
class Caller:
    """Who is asking, as the access log records it: a name (a token's name, never the
    token), the way in (``http``, ``cli``, ``python``), and for HTTP the token's id, its
    scope and the route."""

    name: str = "python"
    via: str = "python"
    token_id: str | None = None
    scope: str | None = None
    route: str | None = None
