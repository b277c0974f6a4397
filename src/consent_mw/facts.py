"""Plain request facts the adapters extract from an ASGI scope or a WSGI environ."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RequestFacts"]


@dataclass(slots=True)
class RequestFacts:
    """What the core needs to know about a request, framework-free.

    ``headers`` has lowercased names; repeated headers are joined with ``", "``
    except ``cookie``, joined with ``"; "`` (RFC 6265 section 5.4).
    """

    method: str
    path: str
    query_string: str
    scheme: str
    host: str
    client_ip: str | None
    headers: dict[str, str]

    @property
    def cookie_header(self) -> str:
        return self.headers.get("cookie", "")

    @property
    def gpc(self) -> bool:
        # The GPC spec defines exactly "1"; anything else is no signal.
        return self.headers.get("sec-gpc", "").strip() == "1"

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.host}"

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
