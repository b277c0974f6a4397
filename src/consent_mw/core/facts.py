"""Plain request facts the adapters extract from an ASGI scope or a WSGI environ."""

from __future__ import annotations

from collections.abc import Callable
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
    def of(
        cls,
        *,
        method: str,
        path: str,
        query_string: str,
        scheme: str,
        host: str,
        client_ip: str | None,
        cookie_header: str,
        gpc: bool,
        user_agent: str | None,
        if_none_match: str | None,
        load_headers: Callable[[Any], dict[str, str]],
        raw: Any,
    ) -> RequestFacts:
        """The facts an adapter read from its request, every one named; the other
        headers are decoded by ``load_headers(raw)`` when first asked for.

        The adapters' constructor, on every request: it fills the slots itself, because
        calling the class with keywords costs about 0.4 µs more (CPython packs them into
        a dict on the way to ``__init__``)."""
        facts = _new(cls)
        facts.method = method
        facts.path = path
        facts.query_string = query_string
        facts.scheme = scheme
        facts.host = host
        facts.client_ip = client_ip
        facts.cookie_header = cookie_header
        facts.gpc = gpc
        facts._headers = None
        facts._load = load_headers
        facts._raw = raw
        facts.user_agent = user_agent
        facts.if_none_match = if_none_match
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
