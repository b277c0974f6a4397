"""Django's request and response objects translated to the core's plain form and back.

The core speaks header pairs (ASGI's bytes pairs). A Django response keeps its headers in
a case-insensitive dict and its cookies in a ``SimpleCookie`` the handler turns into
``Set-Cookie`` lines, so the pairs are made from both and, when the core changed them,
written back into both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from http.cookies import Morsel
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse

from ..adapter import RewrittenBody
from ..core.engine import Engine, Visit
from ..core.facts import RequestFacts
from ..web.responses import Response as CoreResponse

__all__ = [
    "CONSENT_META",
    "RawMorsel",
    "apply_changes",
    "apply_headers",
    "core_response",
    "facts_of",
    "pairs_of",
    "request_for_app",
    "rewrite_content",
]

#: where the WSGI middleware puts the decision; set too, so code written for it works
CONSENT_META = "consent_mw.consent"

Headers = list[tuple[bytes, bytes]]


def facts_of(request: HttpRequest) -> RequestFacts:
    """The request's facts: its META read as a WSGI environ (both of Django's handlers
    fill META that way) with Django's own path and scheme (``SECURE_PROXY_SSL_HEADER``);
    under ASGI the Cookie lines from the scope, joined with "; " (RFC 6265 section 5.4),
    since Django's ASGI request joins repeated lines with "," in META."""
    facts = RequestFacts.from_environ(request.META)
    scope = getattr(request, "scope", None)
    if scope is not None:
        lines = [v.decode("latin-1") for n, v in scope.get("headers", ()) if n == b"cookie" and v]
        facts.cookie_header = "; ".join(lines)
    facts.path = request.path
    facts.scheme = request.scheme or "http"
    return facts


def request_for_app(request: HttpRequest, visit: Visit) -> None:
    """The Cookie header, query string and validators the decision changed, in META and
    in what Django parsed from them already (an outer middleware may have read them)."""
    meta, cached = request.META, request.__dict__
    if visit.cookie_header is not None:
        if visit.cookie_header:
            meta["HTTP_COOKIE"] = visit.cookie_header
        else:
            meta.pop("HTTP_COOKIE", None)
        cached.pop("COOKIES", None)
    if visit.query_string is not None:
        meta["QUERY_STRING"] = visit.query_string
        cached.pop("GET", None)
    if visit.if_none_match:
        meta["HTTP_IF_NONE_MATCH"] = visit.if_none_match
    elif visit.if_none_match is not None:
        # None of the tags is this decision's: the view must answer with a body.
        meta.pop("HTTP_IF_NONE_MATCH", None)
        meta.pop("HTTP_IF_MODIFIED_SINCE", None)


def pairs_of(response: HttpResponseBase, engine: Engine) -> tuple[Headers, dict[bytes, str]]:
    """``(the response's header pairs, each Set-Cookie value → its cookie's key)``.

    A cookie's whole ``Set-Cookie`` line is written only for a name the engine has not
    met: its attributes go into the audit of undeclared cookies, once per name; the
    engine judges every other line by its name alone, so those get ``name=value``
    (the line sent is the cookie's own, see :func:`apply_headers`)."""
    pairs = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in _store(response).values()]
    keys: dict[bytes, str] = {}
    category_of, audited = engine.set_cookie_category, engine._audited
    for key, morsel in response.cookies.items():
        name = key.encode("latin-1")
        if category_of(name) is None and name not in audited:
            value = morsel.OutputString().encode("latin-1")
        else:
            value = name + b"=" + morsel.coded_value.encode("latin-1")
        keys[value] = key
        pairs.append((b"set-cookie", value))
    return pairs, keys


def _store(response: HttpResponseBase) -> dict[str, tuple[str, str]]:
    """The response's headers as ``ResponseHeaders`` keeps them: lowercase name →
    ``(name, value)``. Read and written directly on every response: through its
    mapping methods each header costs a case-fold and a charset check again."""
    store: dict[str, tuple[str, str]] = response.headers._store
    return store


class RawMorsel(Morsel[str]):
    """A ``Set-Cookie`` line the core wrote, sent as it is: Django's handlers send each
    cookie as its ``OutputString()``, and its test client keeps ``key``/``value``."""

    def __init__(self, line: str) -> None:
        super().__init__()
        self.line = line
        name, _, rest = line.partition("=")
        value = rest.partition(";")[0].strip()
        # Morsel.set() refuses names Django's cookies never have; this is what it stores.
        self._key, self._value, self._coded_value = name.strip(), value, value

    def OutputString(self, attrs: Any = None) -> str:  # noqa: N802 - Morsel's name
        return self.line


def apply_headers(response: HttpResponseBase, pairs: Headers, keys: dict[bytes, str]) -> None:
    """Make the response's headers and cookies what ``pairs`` (the core's answer) says,
    changing only what differs.

    A repeated header other than Set-Cookie is joined with ", " (RFC 9110 section 5.3;
    for two Content-Security-Policy headers that is still two policies, CSP 3 section
    3.1). Cookies the app set keep their ``Morsel`` (or go); each line the core added
    gets a :class:`RawMorsel`, under its cookie's name where it is the last line for
    that name (so a test client's cookie jar keeps the cookie a browser keeps) and
    under a key of its own otherwise (a cookie expired on several Domains)."""
    wanted: dict[str, tuple[str, str]] = {}
    lines: list[bytes] = []
    for name, value in pairs:
        lower = name.lower()
        if lower == b"set-cookie":
            lines.append(value)
            continue
        key, text = lower.decode("latin-1"), value.decode("latin-1")
        had = wanted.get(key)
        wanted[key] = (name.decode("latin-1"), text if had is None else f"{had[1]}, {text}")
    # The values are the app's, checked by Django when it set them, or the core's own.
    store = _store(response)
    for key in [k for k in store if k not in wanted]:
        del store[key]
    for key, pair in wanted.items():
        if store.get(key) != pair:
            store[key] = pair
    cookies = response.cookies
    kept = {keys[line] for line in lines if line in keys}
    for key in [k for k in cookies if k not in kept]:
        dict.__delitem__(cookies, key)
    added = [RawMorsel(line.decode("latin-1")) for line in lines if line not in keys]
    last = {morsel.key: index for index, morsel in enumerate(added)}
    for index, morsel in enumerate(added):
        own = last[morsel.key] == index and morsel.key not in cookies
        dict.__setitem__(cookies, morsel.key if own else f"{morsel.key}\x00{index}", morsel)


def apply_changes(
    response: HttpResponseBase, pairs: Headers, planned: Headers, keys: dict[bytes, str]
) -> None:
    """What the core changed of ``pairs`` (from :func:`pairs_of`) to make ``planned``,
    done to the response: the same result as :func:`apply_headers`, found by walking the
    two lists side by side (the core keeps the pairs it leaves alone, in order, removes
    some, replaces some in place and adds at the end) instead of rebuilding both, on the
    path every response takes."""
    store = _store(response)
    cookies = response.cookies
    removed: dict[bytes, Morsel[str]] = {}
    at, end = 0, len(planned)
    for pair in pairs:
        here = planned[at] if at < end else None
        if here is pair:
            at += 1
            continue
        name, value = pair
        if name == b"set-cookie":
            if here is not None and here[0] == name and here[1] == value:
                at += 1  # the same line, in a new tuple
            else:
                removed[value] = dict.pop(cookies, keys[value])
        elif here is not None and here[0] == name:
            store[name.decode("latin-1").lower()] = (
                name.decode("latin-1"),
                here[1].decode("latin-1"),
            )
            at += 1
        else:
            store.pop(name.decode("latin-1").lower(), None)
    if at < end:
        _append(response, store, planned[at:], keys, removed)


def _append(
    response: HttpResponseBase,
    store: dict[str, tuple[str, str]],
    added: Headers,
    keys: dict[bytes, str],
    removed: dict[bytes, Morsel[str]],
) -> None:
    cookies = response.cookies
    morsels: list[Morsel[str]] = []
    for name, value in added:
        if name.lower() == b"set-cookie":
            # An app's cookie the core put back further on keeps its Morsel.
            morsels.append(removed.get(value) or RawMorsel(value.decode("latin-1")))
            continue
        text, key = name.decode("latin-1"), name.lower().decode("latin-1")
        had = store.get(key)
        line = value.decode("latin-1")
        store[key] = (text, line) if had is None else (had[0], f"{had[1]}, {line}")
    last = {morsel.key: index for index, morsel in enumerate(morsels)}
    for index, morsel in enumerate(morsels):
        own = last[morsel.key] == index and morsel.key not in cookies
        dict.__setitem__(cookies, morsel.key if own else f"{morsel.key}\x00{index}", morsel)


def core_response(result: CoreResponse, pairs: Headers, content: bytes) -> HttpResponse:
    """An endpoint's answer (the core's) as a Django response."""
    response = HttpResponse(content, status=result.status)
    apply_headers(response, pairs, {})  # Django's default Content-Type goes too
    return response


def rewrite_content(response: HttpResponseBase, body: RewrittenBody) -> Headers:
    """Feed a synchronous body through the rewriter: a plain response's content at once,
    a streaming one's chunks as the server sends them. Returns the headers report mode
    adds (with the length) once the whole body is held."""
    if isinstance(response, StreamingHttpResponse):
        if response.is_async:
            if body.hold:
                body.chunks = None  # a sync caller cannot hold an async stream: no count
            response.streaming_content = _arewrite(response.streaming_content, body)
            return []
        if not body.hold:
            response.streaming_content = _rewrite(response.streaming_content, body)
            return []
        for chunk in response.streaming_content:
            body.feed(chunk)
        body.close()
        extra, content = body.held()
        response.streaming_content = [content]
        return extra
    if isinstance(response, HttpResponse):
        content = body.feed(response.content) + body.close()
        if body.hold:
            extra, content = body.held()
            response.content = content
            return extra
        response.content = content
        return [(b"content-length", str(len(content)).encode())]
    return []


async def arewrite_held(response: StreamingHttpResponse, body: RewrittenBody) -> Headers:
    """Report mode for an async stream, from async code: the whole body held."""
    async for chunk in response.streaming_content:
        body.feed(chunk)
    body.close()
    extra, content = body.held()
    response.streaming_content = _once(content)
    return extra


async def _once(content: bytes) -> AsyncIterator[bytes]:
    # Still an async iterator: Django's ASGI handler warns when it must consume a sync one.
    yield content


def _rewrite(chunks: Iterable[bytes], body: RewrittenBody) -> Iterator[bytes]:
    for chunk in chunks:
        out = body.feed(chunk)
        if out:
            yield out
    tail = body.close()
    if tail:
        yield tail


async def _arewrite(chunks: Any, body: RewrittenBody) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        out = body.feed(chunk)
        if out:
            yield out
    tail = body.close()
    if tail:
        yield tail
