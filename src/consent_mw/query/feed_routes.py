"""The query API's feed routes (see :mod:`.adfeed`):

==================================  ==========================================================
``POST /platforms``                 ``{"ids": [...], "at": <time>?}``: Google Ads / GA4 consent
                                    fields of each id, now or at a past time
``GET /subjects/{id}/as-of``        one id's state and platform fields at ``?at=<time>``
``GET /changes``                    the change feed after ``cursor``; ``limit``; ``wait``
                                    long-polls up to that many seconds for a first change
==================================  ==========================================================
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .adfeed import MAX_WAIT, AdsFeed
from .caller import Caller
from .errors import BadQuery
from .http import _int, _params, json_response

__all__ = ["FeedApi"]


def _seconds(name: str, value: str | None, default: float | None) -> float | None:
    if value is None:
        return default
    try:
        seconds = float(value) if value.isascii() and len(value) <= 40 else math.nan
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise BadQuery(
            f"{name} must be a number of seconds (e.g. 1733400000.5), not {value!r}.",
            code="bad_parameter",
        )
    return seconds


class FeedApi:
    """The feed endpoints; ``caller`` and ``json_body`` are the query API's own (token
    check, body limits). ``max_wait`` caps a long-poll's hold (a proxy in front may
    close idle requests sooner than :data:`~.adfeed.MAX_WAIT`)."""

    def __init__(
        self,
        feed: AdsFeed,
        caller: Callable[[Request], Caller],
        json_body: Callable[[Request], Awaitable[Any]],
        *,
        max_wait: float = MAX_WAIT,
    ) -> None:
        self.feed, self.caller, self.json_body = feed, caller, json_body
        self.max_wait = max_wait

    async def platforms(self, request: Request) -> Response:
        caller = self.caller(request)
        _params(request, [])
        body = await self.json_body(request)
        if not isinstance(body, dict) or "ids" not in body or not set(body) <= {"ids", "at"}:
            raise BadQuery(
                'The body must be a JSON object {"ids": ["<consent id>", ...], "at": <time>}.',
                code="bad_body",
            )
        if not isinstance(body["ids"], list):
            raise BadQuery('"ids" must be a list of consent ids.', code="bad_body")
        at = body.get("at")
        if at is None:
            return json_response(await self.feed.aplatforms(body["ids"], caller=caller))
        return json_response(await self.feed.aas_of(body["ids"], at, caller=caller))

    async def as_of(self, request: Request) -> Response:
        caller = self.caller(request)
        params = _params(request, ["at"])
        if "at" not in params:
            raise BadQuery("Give the time: ?at=<seconds since the epoch>.", code="bad_parameter")
        at = _seconds("at", params["at"], None)
        answer = await self.feed.aas_of([request.path_params["id"]], at or 0.0, caller=caller)
        return json_response({"at": answer["at"], **answer["results"][0]})

    async def changes(self, request: Request) -> Response:
        caller = self.caller(request)
        params = _params(request, ["cursor", "limit", "wait"])
        wait = _seconds("wait", params.get("wait"), 0.0) or 0.0
        if wait > MAX_WAIT:
            raise BadQuery(f"wait must be 0 to {MAX_WAIT:g} seconds.", code="bad_parameter")
        answer = await self.feed.achanges(
            params.get("cursor"),
            limit=_int("limit", params.get("limit"), 100) or 0,
            wait=min(wait, self.max_wait),
            caller=caller,
        )
        return json_response(answer)
