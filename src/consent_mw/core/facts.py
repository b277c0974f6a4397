"""Plain request facts, read from an ASGI scope or a WSGI environ: the adapters' first
step on every request, and all the core knows of the request."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["RequestFacts", "is_gpc", "join_header", "normal_origin"]

_new = object.__new__


class RequestFacts:
    """What the core needs to know about a request, framework-free.

    The few headers every request needs (Cookie, Sec-GPC, Host, User-Agent for the
    recorder, If-None-Match for the validators) are read up front; the rest are
    decoded only when something asks for :attr:`headers` (endpoints, resolvers),
    which keeps the hot path short. ``headers`` has
    lowercased names; repeats are joined with ``", "``, Cookie with ``"; "``
    (RFC 6265 section 5.4).
    """

    __slots__ = (
        "_headers",
        "_load",
        "_raw",
        "client_ip",
        "cookie_header",
        "gpc",
        "host",
        "if_none_match",
        "method",
        "path",
        "query_string",
        "scheme",
        "user_agent",
    )

    def __init__(
        self,
        method: str,
        path: str,
        query_string: str,
        scheme: str,
        host: str,
        client_ip: str | None,
        cookie_header: str = "",
        gpc: bool = False,
        headers: dict[str, str] | None = None,
        load_headers: Callable[[Any], dict[str, str]] | None = None,
        raw: Any = None,
        user_agent: str | None = None,
        if_none_match: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.query_string = query_string
        self.scheme = scheme
        self.host = host
        self.client_ip = client_ip
        self.cookie_header = cookie_header
        self.gpc = gpc
        self._headers = headers
        # ``load_headers(raw)`` decodes every header when first asked for: a
        # module-level function and the raw source, so nothing is allocated per request.
        self._load = load_headers
        self._raw = raw
        self.user_agent = user_agent
        #: read up front too: a validator of ours is translated for the app (see .validators)
        self.if_none_match = if_none_match

    @classmethod
    def from_asgi(cls, scope: Mapping[str, Any]) -> RequestFacts:
        """The facts of an ASGI HTTP scope (``ConsentMiddleware``, on every request)."""
        raw = scope["headers"]
        cookie = ""
        host = ""
        gpc = False
        agent = None
        if_none_match = None
        # ASGI servers lowercase request header names, so bytes compare directly.
        for name, value in raw:
            if name == b"cookie":
                text = value.decode("latin-1")
                cookie = f"{cookie}; {text}" if cookie else text
            elif name == b"host":
                host = value.decode("latin-1")
            elif name == b"sec-gpc":
                gpc = is_gpc(value)
            elif name == b"user-agent":
                text = value.decode("latin-1")
                agent = f"{agent}, {text}" if agent is not None else text  # as headers joins them
            elif name == b"if-none-match":
                text = value.decode("latin-1")
                if_none_match = f"{if_none_match}, {text}" if if_none_match is not None else text
        if not host:
            server = scope.get("server")
            host = f"{server[0]}:{server[1]}" if server else "localhost"
        client = scope.get("client")
        query = scope.get("query_string")
        # The slots filled here, not through __init__: calling the class costs more
        # (CPython 3.11 does not specialise it), and this runs on every request.
        facts = _new(cls)
        facts.method = scope["method"]
        facts.path = scope["path"]
        facts.query_string = query.decode("latin-1") if query else ""
        facts.scheme = scope.get("scheme", "http")
        facts.host = host
        facts.client_ip = client[0] if client else None
        facts.cookie_header = cookie
        facts.gpc = gpc
        facts.user_agent = agent
        facts.if_none_match = if_none_match
        facts._headers = None
        facts._load = _asgi_headers
        facts._raw = raw
        return facts

    @classmethod
    def from_environ(cls, environ: Mapping[str, Any]) -> RequestFacts:
        """The facts of a WSGI environ (``WSGIConsentMiddleware``, on every request)."""
        # PEP 3333: PATH_INFO is bytes decoded as latin-1, where the ASGI path is UTF-8;
        # re-decode so both adapters see the same path.
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        if not path.isascii():
            try:
                path = path.encode("latin-1").decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                pass
        gpc = environ.get("HTTP_SEC_GPC")
        facts = _new(cls)  # as in from_asgi
        facts.method = environ.get("REQUEST_METHOD", "GET")
        facts.path = path or "/"
        facts.query_string = environ.get("QUERY_STRING", "")
        facts.scheme = environ.get("wsgi.url_scheme", "http")
        facts.host = environ.get("HTTP_HOST") or (
            f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
        )
        facts.client_ip = environ.get("REMOTE_ADDR")
        facts.cookie_header = environ.get("HTTP_COOKIE", "")
        facts.gpc = False if gpc is None else is_gpc(gpc)
        facts.user_agent = environ.get("HTTP_USER_AGENT")
        facts.if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        facts._headers = None
        facts._load = _environ_headers
        facts._raw = environ
        return facts

    @classmethod
    def from_headers(cls, headers: dict[str, str], **facts: object) -> RequestFacts:
        """Facts from an already decoded header dict (tests, custom adapters)."""
        return cls(
            cookie_header=headers.get("cookie", ""),
            gpc=is_gpc(headers.get("sec-gpc", "")),
            headers=headers,
            user_agent=headers.get("user-agent"),
            if_none_match=headers.get("if-none-match"),
            **facts,  # type: ignore[arg-type]
        )

    @property
    def headers(self) -> dict[str, str]:
        if self._headers is None:
            self._headers = self._load(self._raw) if self._load is not None else {}
        return self._headers

    @property
    def fetch_dest(self) -> str | None:
        """The request's ``Sec-Fetch-Dest``, read without decoding every header (the
        browser policy asks it of each response that is not a page)."""
        if self._headers is None:
            raw = self._raw
            if self._load is _asgi_headers:
                # ASGI servers lowercase request header names.
                for name, value in raw:
                    if name == b"sec-fetch-dest":
                        return str(value.decode("latin-1"))
                return None
            if self._load is _environ_headers:
                found = raw.get("HTTP_SEC_FETCH_DEST")
                return None if found is None else str(found)
        return self.headers.get("sec-fetch-dest")

    @property
    def origin(self) -> str:
        return normal_origin(f"{self.scheme}://{self.host}")

    def trust_forwarded(self) -> None:
        """Take client IP, scheme and host from ``X-Forwarded-For/-Proto/-Host``, for a
        deployment behind a proxy that sets them (and strips what clients send)."""
        headers = self.headers
        forwarded_for = headers.get("x-forwarded-for", "").split(",", 1)[0].strip()
        if forwarded_for:
            self.client_ip = forwarded_for
        proto = headers.get("x-forwarded-proto", "").split(",", 1)[0].strip().lower()
        if proto in ("http", "https"):
            self.scheme = proto
        host = headers.get("x-forwarded-host", "").split(",", 1)[0].strip()
        if host:
            self.host = host

    @property
    def is_secure(self) -> bool:
        return self.scheme in ("https", "wss")


def _asgi_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in raw:
        join_header(headers, name.decode("latin-1").lower(), value.decode("latin-1"))
    return headers


def _environ_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = value
    if "CONTENT_TYPE" in environ:
        headers["content-type"] = environ["CONTENT_TYPE"]
    if "CONTENT_LENGTH" in environ:
        headers["content-length"] = environ["CONTENT_LENGTH"]
    return headers


def join_header(headers: dict[str, str], name: str, value: str) -> None:
    """Add one header line to ``headers``, joining repeats the way HTTP allows."""
    previous = headers.get(name)
    if previous is None:
        headers[name] = value
    else:
        headers[name] = f"{previous}; {value}" if name == "cookie" else f"{previous}, {value}"


_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def normal_origin(origin: str) -> str:
    """``scheme://host[:port]`` lowercased, without the scheme's default port."""
    origin = origin.strip().lower()
    scheme, _, rest = origin.partition("://")
    default = _DEFAULT_PORTS.get(scheme)
    if default and rest.endswith(default):
        rest = rest[: -len(default)]
    return f"{scheme}://{rest}"


def is_gpc(value: str | bytes) -> bool:
    # The GPC spec defines exactly "1"; anything else is no signal.
    return value.strip() in ("1", b"1")
