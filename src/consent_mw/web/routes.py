"""One route table for the visitor: the consent API and the no-JavaScript pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.engine import Engine
from .endpoints import Endpoints
from .pages import Pages

__all__ = ["consent_routes"]


def consent_routes(
    engine: Engine, *, pending: Callable[[], dict[str, Any] | None] = lambda: None
) -> Endpoints:
    """The endpoints of ``engine``'s policy with the pages' routes added to them."""
    endpoints = Endpoints(engine, pending=pending)
    endpoints.pages = Pages(endpoints)
    return endpoints
