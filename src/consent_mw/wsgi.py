"""``WSGIConsentMiddleware``: the WSGI adapter (Flask, Django, any PEP 3333 app).

::

    from consent_mw import WSGIConsentMiddleware
    app.wsgi_app = WSGIConsentMiddleware(app.wsgi_app, policy="policy.toml",
                                         secret_key=os.environ["CONSENT_KEY"])

The app reads ``environ["consent_mw.consent"]``. Same options and behaviour as
:class:`~consent_mw.asgi.ConsentMiddleware`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from .config import Config
from .endpoints import Endpoints, Response, StoreCall, unavailable
from .engine import Engine, Visit
from .exceptions import StoreError
from .facts import RequestFacts, is_gpc

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
    ip = environ.get("REMOTE_ADDR")
    if trust_forwarded and environ.get("HTTP_X_FORWARDED_FOR"):
        ip = environ["HTTP_X_FORWARDED_FOR"].split(",", 1)[0].strip()
    # PEP 3333: PATH_INFO is bytes decoded as latin-1, where the ASGI path is UTF-8;
    # re-decode so both adapters see the same path.
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    if not path.isascii():
        try:
            path = path.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return RequestFacts(
        method=environ.get("REQUEST_METHOD", "GET"),
        path=path or "/",
        query_string=environ.get("QUERY_STRING", ""),
        scheme=environ.get("wsgi.url_scheme", "http"),
        host=host,
        client_ip=ip,
        cookie_header=environ.get("HTTP_COOKIE", ""),
        gpc=is_gpc(environ.get("HTTP_SEC_GPC", "")),
        load_headers=_load_headers,
        raw=environ,
    )


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


class WSGIConsentMiddleware:
    """Enforce cookie consent on the server for any WSGI app."""

    def __init__(
        self, app: WSGIApp, *, policy: Any, secret_key: Any, store: Any = None, **options: Any
    ) -> None:
        self.app = app
        self.config = Config.build(policy=policy, secret_key=secret_key, store=store, **options)
        self.engine = Engine(self.config)
        self.endpoints = Endpoints(self.engine)
        self.store = self.config.store

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        engine = self.engine
        facts = _facts(environ, self.config.trust_forwarded)
        visit = engine.begin(facts)
        if engine.is_endpoint(facts.path):
            return self._endpoint(visit, environ, start_response)
        environ[ENVIRON_KEY] = visit.decision
        if visit.cookie_header is not None:
            environ["HTTP_COOKIE"] = visit.cookie_header
        if visit.query_string is not None:
            environ["QUERY_STRING"] = visit.query_string

        def start_with_consent(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            return start_response(status, self._apply(visit, headers), exc_info)

        return self.app(environ, start_with_consent)

    def _apply(self, visit: Visit, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        # The core works on ASGI's bytes pairs; WSGI headers are latin-1 strings (PEP 3333).
        new = self.engine.response_headers(
            visit, [(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers]
        )
        if new is None:
            return headers
        return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in new]

    def _read_body(self, visit: Visit, environ: Environ) -> bytes | None:
        limit = self.config.max_body_size
        declared = environ.get("CONTENT_LENGTH") or ""
        if not declared.isdigit():
            return b""
        length = int(declared)
        if length > limit:
            return None
        stream = environ.get("wsgi.input")
        return stream.read(length) if stream is not None and length else b""

    def _endpoint(
        self, visit: Visit, environ: Environ, start_response: StartResponse
    ) -> Iterable[bytes]:
        body = b""
        response: Response | StoreCall
        if visit.facts.method in ("POST", "PUT", "PATCH", "DELETE"):
            read = self._read_body(visit, environ)
            if read is None:
                return self._send(visit, self.endpoints.too_large(), start_response)
            body = read
        response = self.endpoints.dispatch(visit, body)
        while isinstance(response, StoreCall):
            try:
                value = getattr(self.store, response.method)(*response.args, **response.kwargs)
            except StoreError:
                response = unavailable()
            else:
                response = response.then(value)
        return self._send(visit, response, start_response)

    def _send(
        self, visit: Visit, response: Response, start_response: StartResponse
    ) -> Iterable[bytes]:
        headers = self._apply(
            visit, [*response.headers, ("content-length", str(len(response.body)))]
        )
        start_response(_status_line(response.status), headers)
        return [b"" if visit.facts.method == "HEAD" else response.body]
