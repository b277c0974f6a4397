"""``WSGIConsentMiddleware``: the WSGI adapter (Flask, Django, any PEP 3333 app).

::

    from consent_mw import WSGIConsentMiddleware
    app.wsgi_app = WSGIConsentMiddleware(app.wsgi_app, policy="policy.toml",
                                         secret_key=os.environ["CONSENT_KEY"])

The app reads ``environ["consent_mw.consent"]``. Same options and behaviour as
:class:`~consent_mw.asgi.ConsentMiddleware`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any

from .adapter import Adapter, RewrittenBody, carried_cookies, declared_length
from .core.engine import Engine, Visit
from .core.facts import RequestFacts
from .web.endpoints import Endpoints
from .web.responses import Response, StoreCall

__all__ = ["WSGIConsentMiddleware"]

Environ = dict[str, Any]
StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

ENVIRON_KEY = "consent_mw.consent"


def _environ_for_app(environ: Environ, visit: Visit) -> None:
    """The Cookie header, query string and validators the decision changed."""
    if visit.cookie_header:
        environ["HTTP_COOKIE"] = visit.cookie_header
    elif visit.cookie_header is not None:
        del environ["HTTP_COOKIE"]
    if visit.query_string is not None:
        environ["QUERY_STRING"] = visit.query_string
    if visit.if_none_match:
        environ["HTTP_IF_NONE_MATCH"] = visit.if_none_match
    elif visit.if_none_match is not None:
        # None of the tags is this decision's: the app must answer with a body.
        del environ["HTTP_IF_NONE_MATCH"]
        environ.pop("HTTP_IF_MODIFIED_SINCE", None)


def _environ_nonce(environ: Environ, key: str) -> object:
    return environ.get(key)


# PEP 3333 headers are latin-1 str pairs, the core's are bytes pairs (as ASGI's).
def _to_bytes(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers]


def _to_str(headers: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in headers]


class _Response:
    """One response through the middleware: headers filtered, HTML rewritten as it streams."""

    __slots__ = (
        "body",
        "drop",
        "endpoints",
        "engine",
        "environ",
        "held",
        "middleware",
        "pending",
        "start_response",
        "started",
        "visit",
        "write",
    )

    def __init__(
        self,
        middleware: WSGIConsentMiddleware,
        engine: Engine,
        endpoints: Endpoints,
        visit: Visit,
        environ: Environ,
        start_response: StartResponse,
    ) -> None:
        self.middleware = middleware
        self.engine = engine
        self.endpoints = endpoints
        self.visit = visit
        self.environ = environ
        self.start_response = start_response
        self.body: RewrittenBody | None = None
        #: report mode: the start_response arguments, sent with the whole body
        self.held: tuple[str, list[tuple[str, str]], Any] | None = None
        #: a rewritten page's start_response arguments, until its first body bytes: a
        #: body that comes whole goes out with its Content-Length
        self.pending: tuple[str, list[tuple[str, str]], Any] | None = None
        self.write: Callable[[bytes], object] | None = None
        self.started = False
        #: a HEAD answered with an HTML page's headers: the app's body bytes are not sent
        self.drop = False

    def start(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], object]:
        self.started = True
        middleware, visit = self.middleware, self.visit
        if visit.decision._login_user is not None:
            headers = [
                *headers,
                *carried_cookies(middleware.complete(self.endpoints.carry(visit))),
            ]
        raw = _to_bytes(headers)
        body, planned = middleware._response_start(
            self.engine,
            visit,
            _status_code(status),
            raw,
            self.environ,
            exc_info is not None,  # an error page
        )
        if planned is not raw:
            headers = _to_str(planned)
        # Some WSGI apps answer HEAD with the GET body and leave dropping it to the
        # server; not every server does (wsgiref), and the headers describe another body.
        self.drop = visit.rewritten and visit.facts.method == "HEAD"
        self.body = None if body is None else RewrittenBody(body)
        if self.body is not None:
            if self.body.hold:
                self.held = (status, headers, exc_info)
                return self.body.feed
            self.pending = (status, headers, exc_info)
            return self._rewrite_write
        self.write = self.start_response(status, headers, exc_info)
        return self.write

    def _send_start(self, extra: list[tuple[str, str]] | None = None) -> None:
        if self.pending is not None:
            status, headers, exc_info = self.pending
            self.pending = None
            self.write = self.start_response(status, [*headers, *(extra or ())], exc_info)

    def _rewrite_write(self, data: bytes) -> object:
        self._send_start()
        if self.write is None or self.body is None:
            raise RuntimeError("write() called before start_response()")
        return self.write(self.body.feed(data))

    def run(self) -> Iterable[bytes]:
        result = self.middleware.app(self.environ, self.start)
        if self.started and self.body is None and not self.drop:
            # Headers are out and the body is not HTML to rewrite: hand the app's
            # iterable over untouched (keeps wsgi.file_wrapper and its close()).
            return result
        # An app that is a generator calls start_response on its first iteration.
        return self._stream(result)

    def _stream(self, result: Iterable[bytes]) -> Iterator[bytes]:
        try:
            if (
                isinstance(result, list | tuple)
                and len(result) == 1
                and self.body is not None
                and self.held is None
            ):
                # The whole body in one piece (Flask, Django): see HTMLBody.whole.
                out = self.body.whole(result[0])
                self._send_start([("Content-Length", str(len(out)))])
                if out:
                    yield out
                return
            for chunk in result:
                body = self.body
                if body is not None:
                    out = body.feed(chunk)
                    self._send_start()
                    if out:
                        yield out
                elif not self.drop:
                    yield chunk
            body = self.body
            if body is not None:
                tail = body.close()
                self._send_start()
                if self.held is not None:
                    extra, content = body.held()
                    status, headers, exc_info = self.held
                    self.start_response(status, [*headers, *_to_str(extra)], exc_info)
                    yield content
                elif tail:
                    yield tail
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()


def _status_code(status: str) -> int:
    # PEP 3333: "200 OK"; a status the server will refuse anyway is not ours to judge.
    code = status[:3]
    return int(code) if code.isdigit() else 0


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


class WSGIConsentMiddleware(Adapter[WSGIApp]):
    """Enforce cookie consent on the server for any WSGI app."""

    # No lifespan in WSGI: the recorder's queue is flushed when the process exits.
    _has_lifespan = False

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        engine, endpoints, visit, for_us = self.runtime.begin(RequestFacts.from_environ(environ))
        if for_us:
            return self._endpoint(engine, endpoints, visit, environ, start_response)
        environ[ENVIRON_KEY] = visit.decision
        if (
            visit.cookie_header is not None
            or visit.query_string is not None
            or visit.if_none_match is not None
        ):
            _environ_for_app(environ, visit)
        response = _Response(self, engine, endpoints, visit, environ, start_response)
        return response.run()

    def complete(self, result: Response | StoreCall) -> Response:
        """Run the store calls an endpoint asks for; 503 if the ledger is down."""
        return self._run_calls(result)

    def nonce(self, environ: Environ) -> str | None:
        return self._nonce(environ, _environ_nonce)

    def _read_body(self, environ: Environ, limit: int) -> bytes | None:
        stream = environ.get("wsgi.input")
        length = declared_length(environ.get("CONTENT_LENGTH"))
        if length is not None:
            if length > limit:
                return None
            return stream.read(length) if stream is not None and length else b""
        if stream is None or not environ.get("wsgi.input_terminated"):
            # Without a length, reading is only safe when the server marks the
            # stream as terminated (chunked bodies, PEP 3333 extension).
            return b""
        body: bytes = stream.read(limit + 1)
        return None if len(body) > limit else body

    def _endpoint(
        self,
        engine: Engine,
        endpoints: Endpoints,
        visit: Visit,
        environ: Environ,
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        body = self._read_body(environ, self._body_limit(visit)) if self._reads_body(visit) else b""
        response = self.complete(self._dispatch(endpoints, visit, body))
        headers, content = self._reply(engine, visit, response)
        start_response(_status_line(response.status), _to_str(headers))
        return [content]
