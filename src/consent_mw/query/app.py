"""The query API as a Starlette app, separate from the visitor endpoints; mount it::

    from consent_mw.query import create_app
    query_api = create_app(store, policy=policy, tokens=["ads:read:sha256:9f86…"])
    app = Starlette(routes=[Mount("/consent-query", app=query_api), ...])

Routes (``Authorization: Bearer <token>``; ``admin`` scope where marked):

=========================  ================================================================
``GET /subjects/{id}``     current state; ``?by=user`` for a user id; ``personalised_ads``
``DELETE /subjects/{id}``  erase a subject, a ``delete`` proof stays (admin)
``GET /subjects/{id}/history``  proof records newest first; ``limit``, ``cursor``, ``by``
``POST /lookup``           ``{"ids": [...]}``, at most 1,000 consent ids
``GET /stats``             counts per policy version and category (``policy_version``)
``GET /export``            every matching current state, streamed; ``format=jsonl|csv``,
                           filters, ``limit`` + ``cursor`` for pages (``X-Next-Cursor``)
``GET /access-log``        who queried what, newest first (admin)
``POST /purge``            delete expired events (admin)
``POST /platforms``        Google Ads / GA4 consent fields of up to 1,000 ids, now or
                           at a past ``at`` (see :mod:`.feed_routes`)
``GET /subjects/{id}/as-of``  one id's state and platform fields at ``?at=``
``GET /changes``           the change feed after ``cursor``, long-polled with ``wait``
``GET /openapi.json``      the OpenAPI 3.1 document (no token needed)
=========================  ================================================================

Every error is JSON ``{"error": code, "detail": message}``: 400 bad parameter, filter,
cursor or JSON; 401 no or unknown token; 403 a read token on an admin route; 404
unknown id or route; 405; 413 too many ids or too large a body; 415 a body that is not
``application/json``; 501 a ledger that keeps no change feed (Redis Cluster); 503 the
ledger is unavailable (with ``Retry-After``).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterable
from typing import Any, cast

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from ..exceptions import ConfigError, StoreError, StoreUnavailable
from ..policy.model import Policy
from ..stores import BaseStore, store_from_url
from .adfeed import MAX_WAIT, AdsFeed
from .errors import BadQuery, QueryError
from .export import FORMATS, MEDIA_TYPES, ExportRun, Format, csv_header, encode_rows
from .feed_routes import FeedApi
from .filters import Filters
from .http import ApiError, _int, _params, error_response, json_response
from .openapi import openapi_document
from .service import Caller, QueryService
from .tokens import TokenRing, TokenSpec, parse_token_lines

__all__ = ["MAX_BODY", "RETRY_AFTER_SECONDS", "TOKENS_ENV", "create_app"]

TOKENS_ENV = "CONSENT_MW_QUERY_TOKENS"
MAX_BODY = 1 << 20
RETRY_AFTER_SECONDS = 5
_INSUFFICIENT = 'Bearer realm="consent-mw", error="insufficient_scope", scope="admin"'


class QueryApi:
    """The endpoints over one :class:`QueryService` and one :class:`TokenRing`."""

    def __init__(
        self, service: QueryService, tokens: TokenRing, *, max_body: int = MAX_BODY
    ) -> None:
        self.service = service
        self.tokens = tokens
        self.max_body = max_body

    # -- auth ----------------------------------------------------------------------------

    def caller(self, request: Request, *, admin: bool = False) -> Caller:
        header = request.headers.get("authorization", "")
        scheme, _, presented = header.partition(" ")
        if not header or scheme.lower() != "bearer" or not presented.strip():
            raise ApiError(
                401,
                "unauthorized",
                "Send Authorization: Bearer <token> (consent-mw token create makes one).",
                {"www-authenticate": 'Bearer realm="consent-mw"'},
            )
        spec = self.tokens.verify(presented.strip())
        if spec is None:
            raise ApiError(
                401,
                "invalid_token",
                "The bearer token is not one this server knows.",
                {"www-authenticate": 'Bearer realm="consent-mw", error="invalid_token"'},
            )
        if admin and spec.scope != "admin":
            raise ApiError(
                403,
                "insufficient_scope",
                f"Token {spec.name!r} has the read scope; this route needs an admin token.",
                {"www-authenticate": _INSUFFICIENT},
            )
        route = request.scope.get("route")
        path = getattr(route, "path", request.url.path)
        return Caller(spec.name, "http", spec.token_id, spec.scope, f"{request.method} {path}")

    # -- routes --------------------------------------------------------------------------

    async def subject_route(self, request: Request) -> Response:
        if request.method == "DELETE":
            return await self.delete_subject(request)
        return await self.subject(request)

    async def subject(self, request: Request) -> Response:
        caller = self.caller(request)
        params = _params(request, ["by"])
        answer = await self.service.asubject(
            request.path_params["id"], by=params.get("by", "consent"), caller=caller
        )
        return json_response(answer)

    async def delete_subject(self, request: Request) -> Response:
        caller = self.caller(request, admin=True)
        _params(request, [])
        subject = request.path_params["id"]
        removed = await self.service.adelete(subject, caller=caller)
        return json_response({"id": subject, "removed": removed})

    async def history(self, request: Request) -> Response:
        caller = self.caller(request)
        params = _params(request, ["by", "limit", "cursor"])
        answer = await self.service.ahistory(
            request.path_params["id"],
            by=params.get("by", "consent"),
            limit=_int("limit", params.get("limit"), 100) or 0,
            cursor=params.get("cursor"),
            caller=caller,
        )
        return json_response(answer)

    async def lookup(self, request: Request) -> Response:
        caller = self.caller(request)
        _params(request, [])
        body = await self.json_body(request)
        if not isinstance(body, dict) or set(body) != {"ids"}:
            raise BadQuery(
                'The body must be a JSON object {"ids": ["<consent id>", ...]}.', code="bad_body"
            )
        if not isinstance(body["ids"], list):
            raise BadQuery('"ids" must be a list of consent ids.', code="bad_body")
        return json_response(await self.service.alookup(body["ids"], caller=caller))

    async def stats(self, request: Request) -> Response:
        caller = self.caller(request)
        params = _params(request, ["policy_version"])
        version = params.get("policy_version")
        if version is not None:
            Filters.from_params({"policy_version": version})  # the same check as export
        return json_response(await self.service.astats(policy_version=version, caller=caller))

    async def export(self, request: Request) -> Response:
        caller = self.caller(request)
        params = _params(request, ["format", "limit", "cursor", *Filters.__dataclass_fields__])
        fmt_name = params.pop("format", "jsonl")
        if fmt_name not in FORMATS:
            raise BadQuery(f"format must be jsonl or csv, not {fmt_name!r}.", code="bad_parameter")
        fmt: Format = "csv" if fmt_name == "csv" else "jsonl"
        limit = _int("limit", params.pop("limit", None), None)
        cursor = params.pop("cursor", None)
        run = self.service.export(
            Filters.from_params(params), cursor=cursor, limit=limit, caller=caller
        )
        headers = {"content-disposition": f'attachment; filename="consent-export.{fmt}"'}
        batches = run.abatches()
        first: list[Any] = await anext(
            batches, []
        )  # opens the export: errors so far are still JSON
        if limit is None:
            return StreamingResponse(
                self._chunks(run, fmt, first, batches), 200, headers, MEDIA_TYPES[fmt]
            )
        chunks = [chunk async for chunk in self._chunks(run, fmt, first, batches)]
        if run.next_cursor is not None:
            headers["x-next-cursor"] = run.next_cursor
            url = request.url.include_query_params(cursor=run.next_cursor)
            headers["link"] = f'<{url}>; rel="next"'
        return Response(b"".join(chunks), 200, headers, MEDIA_TYPES[fmt])

    @staticmethod
    async def _chunks(
        run: ExportRun, fmt: Format, first: list[Any], rest: AsyncIterator[list[Any]]
    ) -> AsyncIterator[bytes]:
        if fmt == "csv":
            yield csv_header(run.categories)
        if first:
            yield encode_rows(first, fmt, run.categories)
        async for rows in rest:
            if rows:
                yield encode_rows(rows, fmt, run.categories)

    async def access_log(self, request: Request) -> Response:
        caller = self.caller(request, admin=True)
        params = _params(request, ["limit"])
        entries = await self.service.aaccess_log(
            limit=_int("limit", params.get("limit"), 100) or 0, caller=caller
        )
        return json_response({"entries": [e.to_dict() for e in entries]})

    async def inventory(self, request: Request) -> Response:
        caller = self.caller(request)
        params = _params(request, ["limit"])
        limit = _int("limit", params.get("limit"), 10_000) or 0
        return json_response({"hosts": await self.service.ainventory(limit=limit, caller=caller)})

    async def purge(self, request: Request) -> Response:
        caller = self.caller(request, admin=True)
        _params(request, [])
        return json_response({"purged": await self.service.apurge(caller=caller)})

    async def openapi(self, request: Request) -> Response:
        return json_response(openapi_document(request.scope.get("root_path", "")))

    # -- bodies ------------------------------------------------------------------------

    async def json_body(self, request: Request) -> Any:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise ApiError(
                415, "unsupported_media_type", "Send the body as Content-Type: application/json."
            )
        declared = request.headers.get("content-length")
        if (
            declared is not None
            and declared.isascii()
            and declared.isdigit()
            and int(declared) > self.max_body
        ):
            raise ApiError(413, "body_too_large", f"The body is larger than {self.max_body} bytes.")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_body:
                raise ApiError(
                    413, "body_too_large", f"The body is larger than {self.max_body} bytes."
                )
        try:
            return json.loads(body)
        except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: [[[[…
            raise BadQuery("The body is not valid JSON.", code="bad_json") from None


async def _on_api_error(request: Request, exc: Exception) -> Response:
    error = cast(ApiError, exc)
    return error_response(error.status, error.code, error.detail, error.headers)


async def _on_query_error(request: Request, exc: Exception) -> Response:
    error = cast(QueryError, exc)
    return error_response(error.status, error.code, error.detail)


async def _on_store_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, StoreUnavailable):
        return error_response(
            503,
            "ledger_unavailable",
            "The consent ledger is temporarily unavailable; retry later.",
            {"retry-after": str(RETRY_AFTER_SECONDS)},
        )
    return error_response(500, "ledger_error", "The consent ledger refused the operation.")


async def _on_http_error(request: Request, exc: Exception) -> Response:
    exc = cast(HTTPException, exc)
    codes = {404: "not_found", 405: "method_not_allowed"}
    detail = {404: "No such route; see /openapi.json.", 405: "Method not allowed on this route."}
    return error_response(
        exc.status_code,
        codes.get(exc.status_code, "http_error"),
        detail.get(exc.status_code, str(exc.detail)),
        exc.headers,
    )


def create_app(
    store: BaseStore | str,
    *,
    tokens: Iterable[TokenSpec | str] | None = None,
    policy: Policy | str | os.PathLike[str] | None = None,
    max_body: int = MAX_BODY,
    max_wait: float = MAX_WAIT,
) -> Starlette:
    """The query API over ``store`` (a store or a store URL).

    ``tokens``: :class:`TokenSpec` objects or ``name:scope:sha256:<hex>`` lines; by
    default the lines in ``$CONSENT_MW_QUERY_TOKENS``. ``policy``: the current policy
    (a :class:`Policy` or a TOML path) that ``personalised_ads`` is judged by.
    ``max_wait``: the longest a ``GET /changes`` long-poll holds a request (seconds).
    """
    if tokens is None:
        tokens = parse_token_lines(os.environ.get(TOKENS_ENV, ""))
    ring = TokenRing(tokens)
    if isinstance(store, str):
        store = store_from_url(store)
    if policy is not None and not isinstance(policy, Policy):
        policy = Policy.from_toml(policy)
    if max_body < 1024:
        raise ConfigError("max_body must be at least 1024 bytes.")
    if isinstance(max_wait, bool) or not isinstance(max_wait, int | float) or max_wait < 0:
        raise ConfigError(f"max_wait must be a number of seconds >= 0, not {max_wait!r}.")
    api = QueryApi(QueryService(store, policy=policy), ring, max_body=max_body)
    feed = FeedApi(AdsFeed(api.service), api.caller, api.json_body, max_wait=max_wait)
    routes = [
        # one route for both methods, so a 405 there lists both in Allow
        Route("/subjects/{id}", api.subject_route, methods=["GET", "DELETE"]),
        Route("/subjects/{id}/history", api.history, methods=["GET"]),
        Route("/subjects/{id}/as-of", feed.as_of, methods=["GET"]),
        Route("/lookup", api.lookup, methods=["POST"]),
        Route("/platforms", feed.platforms, methods=["POST"]),
        Route("/changes", feed.changes, methods=["GET"]),
        Route("/stats", api.stats, methods=["GET"]),
        Route("/export", api.export, methods=["GET"]),
        Route("/inventory", api.inventory, methods=["GET"]),
        Route("/access-log", api.access_log, methods=["GET"]),
        Route("/purge", api.purge, methods=["POST"]),
        Route("/openapi.json", api.openapi, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            ApiError: _on_api_error,
            QueryError: _on_query_error,
            StoreError: _on_store_error,
            HTTPException: _on_http_error,
        },
    )
    app.state.query_service = api.service
    return app
