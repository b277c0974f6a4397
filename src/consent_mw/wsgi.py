"""``WSGIConsentMiddleware``: the WSGI adapter (Flask, Django, any PEP 3333 app).

::

    from consent_mw import WSGIConsentMiddleware
    app.wsgi_app = WSGIConsentMiddleware(app.wsgi_app, policy="policy.toml",
                                         secret_key=os.environ["CONSENT_KEY"])

The app reads ``environ["consent_mw.consent"]``. Same options and behaviour as
:class:`~consent_mw.asgi.ConsentMiddleware`.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any, Unpack

from .adapter import Runtime
from .core.config import Config
from .core.engine import Engine, Visit
from .core.facts import RequestFacts, is_gpc
from .core.options import Options, PolicySource, SecretKey, StoreSource
from .exceptions import StoreError
from .html.body import REPORT_HEADER, HTMLBody, plan_html
from .web.endpoints import Endpoints
from .web.responses import Response, StoreCall, unavailable

__all__ = ["WSGIConsentMiddleware"]

Environ = dict[str, Any]
StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

ENVIRON_KEY = "consent_mw.consent"


def _load_headers(environ: Environ) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = value
    if "CONTENT_TYPE" in environ:
        headers["content-type"] = environ["CONTENT_TYPE"]
    if "CONTENT_LENGTH" in environ:
        headers["content-length"] = environ["CONTENT_LENGTH"]
    return headers


def _facts(environ: Environ, trust_forwarded: bool) -> RequestFacts:
    host = environ.get("HTTP_HOST") or (
        f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
    )
    # PEP 3333: PATH_INFO is bytes decoded as latin-1, where the ASGI path is UTF-8;
    # re-decode so both adapters see the same path.
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    if not path.isascii():
        try:
            path = path.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    gpc = environ.get("HTTP_SEC_GPC")
    # Positional: this runs on every request.
    facts = RequestFacts(
        environ.get("REQUEST_METHOD", "GET"),
        path or "/",
        environ.get("QUERY_STRING", ""),
        environ.get("wsgi.url_scheme", "http"),
        host,
        environ.get("REMOTE_ADDR"),
        environ.get("HTTP_COOKIE", ""),
        False if gpc is None else is_gpc(gpc),
        None,
        _load_headers,
        environ,
        environ.get("HTTP_USER_AGENT"),
        environ.get("HTTP_IF_NONE_MATCH"),
    )
    if trust_forwarded:
        facts.trust_forwarded()
    return facts


# PEP 3333 headers are latin-1 str pairs, the core's are bytes pairs (as ASGI's).
def _to_bytes(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers]


def _to_str(headers: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in headers]


class _Response:
    """One response through the middleware: headers filtered, HTML rewritten as it streams."""

    __slots__ = (
        "_chunks",
        "body",
        "drop",
        "endpoints",
        "engine",
        "environ",
        "held",
        "middleware",
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
        self.body: HTMLBody | None = None
        self.held: tuple[str, list[tuple[str, str]], Any] | None = None
        self.write: Callable[[bytes], object] | None = None
        self.started = False
        #: a HEAD answered with an HTML page's headers: the app's body bytes are not sent
        self.drop = False
        self._chunks: list[bytes] = []

    def start(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], object]:
        self.started = True
        middleware, engine = self.middleware, self.engine
        if self.visit.decision._login_user is not None:
            carried = middleware.complete(self.endpoints.carry(self.visit))
            headers = [*headers, *((k, v) for k, v in carried.headers if k == "set-cookie")]
        raw = _to_bytes(headers)
        new = engine.response_headers(self.visit, raw)
        planned = raw if new is None else new
        code = _status_code(status)
        if self.visit.content_type is not None or self.visit.revalidated is not None:
            self.body, planned = plan_html(
                engine, self.visit, planned, lambda: self.middleware.nonce(self.environ), code
            )
        if planned is not raw:
            headers = _to_str(planned)
        # Some WSGI apps answer HEAD with the GET body and leave dropping it to the
        # server; not every server does (wsgiref), and the headers describe another body.
        self.drop = self.visit.rewritten and self.visit.facts.method == "HEAD"
        middleware.runtime.response_started(
            engine, self.visit, code, error_page=exc_info is not None
        )
        if self.body is not None and self.body.hold:
            self.held = (status, headers, exc_info)
            return self._buffer_write
        self.write = self.start_response(status, headers, exc_info)
        return self._rewrite_write if self.body is not None else self.write

    def _buffer_write(self, data: bytes) -> None:
        self._chunks.append(self.body.feed(data) if self.body is not None else data)

    def _rewrite_write(self, data: bytes) -> object:
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
            for chunk in result:
                body = self.body
                if body is None:
                    if not self.drop:
                        yield chunk
                elif body.hold:
                    self._chunks.append(body.feed(chunk))
                else:
                    out = body.feed(chunk)
                    if out:
                        yield out
            body = self.body
            if body is not None:
                tail = body.close()
                if body.hold and self.held is not None:
                    content = b"".join([*self._chunks, tail])
                    status, headers, exc_info = self.held
                    headers = [
                        *headers,
                        (REPORT_HEADER.decode(), str(body.blocked)),
                        ("Content-Length", str(len(content))),
                    ]
                    self.start_response(status, headers, exc_info)
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


class WSGIConsentMiddleware:
    """Enforce cookie consent on the server for any WSGI app."""

    def __init__(
        self,
        app: WSGIApp,
        *,
        policy: PolicySource,
        secret_key: SecretKey,
        store: StoreSource = None,
        **options: Unpack[Options],
    ) -> None:
        self.app = app
        self.config = Config.build(policy=policy, secret_key=secret_key, store=store, **options)
        self.runtime = Runtime(self.config)
        self.store = self.config.store
        self.recorder = self.runtime.recorder
        # No lifespan in WSGI: flush what is queued when the process exits.
        atexit.register(self.recorder.close)

    @property
    def engine(self) -> Engine:
        """The engine of the policy version in force now."""
        return self.runtime.engine

    @property
    def endpoints(self) -> Endpoints:
        return self.runtime.endpoints

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        engine, endpoints = self.runtime.current()
        facts = _facts(environ, self.config.trust_forwarded)
        visit = engine.begin(facts)
        if engine.is_endpoint(facts.path):
            return self._endpoint(engine, endpoints, visit, environ, start_response)
        environ[ENVIRON_KEY] = visit.decision
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

        response = _Response(self, engine, endpoints, visit, environ, start_response)
        return response.run()

    def complete(self, result: Response | StoreCall) -> Response:
        """Run the store calls an endpoint asks for; 503 if the ledger is down."""
        while isinstance(result, StoreCall):
            try:
                value = result.run(self.store)
            except StoreError:
                return unavailable()
            result = result.then(value)
        return result

    def _apply(
        self, engine: Engine, visit: Visit, headers: list[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        # The core works on ASGI's bytes pairs; WSGI headers are latin-1 strings (PEP 3333).
        new = engine.response_headers(visit, _to_bytes(headers))
        if new is None:
            return headers
        return _to_str(new)

    def nonce(self, environ: Environ) -> str | None:
        source = self.config.csp_nonce
        if source is None:
            return None
        value = source(environ) if callable(source) else environ.get(source)
        return value if isinstance(value, str) and value else None

    def _read_body(self, visit: Visit, environ: Environ) -> bytes | None:
        limit = self.config.max_body_size
        stream = environ.get("wsgi.input")
        declared = environ.get("CONTENT_LENGTH") or ""
        if declared.isascii() and declared.isdigit():
            length = int(declared)
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
        body = b""
        if visit.facts.method in ("POST", "PUT", "PATCH", "DELETE"):
            read = self._read_body(visit, environ)
            if read is None:
                return self._send(engine, visit, endpoints.too_large(), start_response)
            body = read
        response = self.complete(endpoints.dispatch(visit, body))
        return self._send(engine, visit, response, start_response)

    def _send(
        self, engine: Engine, visit: Visit, response: Response, start_response: StartResponse
    ) -> Iterable[bytes]:
        headers = self._apply(
            engine, visit, [*response.headers, ("content-length", str(len(response.body)))]
        )
        start_response(_status_line(response.status), headers)
        return [b"" if visit.facts.method == "HEAD" else response.body]
