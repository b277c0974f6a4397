"""``ConsentMiddleware`` for Django's ``MIDDLEWARE``: the same enforcement as the WSGI and
ASGI middlewares, on Django's request and response objects.

::

    MIDDLEWARE = [
        "django.middleware.security.SecurityMiddleware",
        "consent_mw.django.ConsentMiddleware",     # outside the views' Set-Cookies
        "django.contrib.sessions.middleware.SessionMiddleware",
        ...
    ]

The view reads ``request.consent`` (a :class:`~consent_mw.Decision`). Synchronous and
asynchronous like Django's own middleware: under ``runserver`` and WSGI it runs in the
request's thread, under ASGI (``get_asgi_application``) it is awaited without a thread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse

from ..adapter import RewrittenBody, carried_cookies, declared_length
from ..core.engine import Engine, Visit
from ..web.responses import Response as CoreResponse
from . import conf
from .http import (
    CONSENT_META,
    Headers,
    apply_changes,
    arewrite_held,
    core_response,
    facts_of,
    pairs_of,
    request_for_app,
    rewrite_content,
)

__all__ = ["ConsentMiddleware"]

GetResponse = Callable[[HttpRequest], Any]


class ConsentMiddleware:
    """Enforce cookie consent on the server for a Django site, configured by
    ``settings.CONSENT_MW`` (see :mod:`consent_mw.django.conf`)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        # Built (and checked) now, when Django loads its middleware at start-up.
        conf.site()

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        site = conf._site or conf.site()
        engine, endpoints, visit, for_us = site.runtime.begin(facts_of(request))
        if for_us:
            data = _read_body(site, visit, request)
            return _reply(engine, visit, site._run_calls(site._dispatch(endpoints, visit, data)))
        _before_view(request, visit)
        response = self.get_response(request)
        carried = None
        if visit.decision._login_user is not None:
            carried = carried_cookies(site._run_calls(endpoints.carry(visit)))
        body, extra = _after_view(site, engine, visit, request, response, carried)
        if body is not None:
            extra += rewrite_content(response, body)
        _finish(response, visit, extra)
        return response

    async def __acall__(self, request: HttpRequest) -> Any:
        site = conf._site or conf.site()
        engine, endpoints, visit, for_us = site.runtime.begin(facts_of(request))
        if for_us:
            data = _read_body(site, visit, request)
            return _reply(
                engine, visit, await site._arun_calls(site._dispatch(endpoints, visit, data))
            )
        _before_view(request, visit)
        get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]] = self.get_response
        response = await get_response(request)
        carried = None
        if visit.decision._login_user is not None:
            carried = carried_cookies(await site._arun_calls(endpoints.carry(visit)))
        body, extra = _after_view(site, engine, visit, request, response, carried)
        if body is not None:
            if body.hold and isinstance(response, StreamingHttpResponse) and response.is_async:
                extra += await arewrite_held(response, body)
            else:
                extra += rewrite_content(response, body)
        _finish(response, visit, extra)
        return response


def _before_view(request: HttpRequest, visit: Visit) -> None:
    if (
        visit.cookie_header is not None
        or visit.query_string is not None
        or visit.if_none_match is not None
    ):
        request_for_app(request, visit)
    decision = visit.decision
    request.consent = decision
    request.META[CONSENT_META] = decision


def _after_view(
    site: conf.DjangoSite,
    engine: Engine,
    visit: Visit,
    request: HttpRequest,
    response: HttpResponseBase,
    carried: list[tuple[str, str]] | None,
) -> tuple[RewrittenBody | None, Headers]:
    """Consent applied to the view's response headers (written back only when changed);
    ``(the body rewriter or None, headers to add once the body is rewritten)``."""
    pairs, keys = pairs_of(response, engine)
    if carried:
        pairs += [(b"set-cookie", value.encode("latin-1")) for _, value in carried]
    body, planned = site._response_start(engine, visit, response.status_code, pairs, request)
    if planned is not pairs:
        apply_changes(response, pairs, planned, keys)
    if body is None:
        return None, []
    if isinstance(response, StreamingHttpResponse):
        # A file handed to the server's sendfile would bypass the rewriter.
        response.file_to_stream = None
    return RewrittenBody(body), []


def _finish(response: HttpResponseBase, visit: Visit, extra: Headers) -> None:
    for name, value in extra:
        response[name.decode("latin-1")] = value.decode("latin-1")
    if visit.rewritten and visit.facts.method == "HEAD":
        # The headers describe GET's rewritten body; a HEAD answer has none (not every
        # server drops the body a view gave a HEAD).
        if not response.streaming:
            response.content = b""
        elif response.is_async:
            response.streaming_content = _nothing()
        else:
            response.streaming_content = []


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield  # an async generator that yields nothing


def _read_body(site: conf.DjangoSite, visit: Visit, request: HttpRequest) -> bytes | None:
    """An endpoint request's body; None when over the limit (answered 413)."""
    if not site._reads_body(visit):
        return b""
    limit = site._body_limit(visit)
    length = declared_length(request.META.get("CONTENT_LENGTH"))
    if length is not None and length > limit:
        return None
    data = request.read(limit + 1)
    return None if len(data) > limit else data


def _reply(engine: Engine, visit: Visit, result: CoreResponse) -> HttpResponseBase:
    """An endpoint's answer, consent applied, as a Django response."""
    pairs, content = conf.DjangoSite._reply(engine, visit, result)
    return core_response(result, pairs, content)
