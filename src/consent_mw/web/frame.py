"""What the no-JavaScript pages share: the page frame with its own strict policy, the
303 back to one of our pages after a form is saved, and reading the query string."""

from __future__ import annotations

import base64
import hashlib
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from .responses import Response, Result

if TYPE_CHECKING:
    from ..core.engine import Visit

__all__ = ["html_page", "query_value", "then_redirect"]

_STYLE = (
    "body{font:16px/1.6 system-ui,sans-serif;max-width:48rem;margin:0 auto;padding:1rem}"
    "table{border-collapse:collapse;width:100%}th,td{border:1px solid #888;padding:.3rem;"
    "text-align:left;vertical-align:top}button{font:inherit;padding:.5rem 1rem;margin:.25rem 0}"
    "@media print{form{display:none}}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
# Our own pages carry their own strict policy: nothing but our stylesheet and forms.
_PAGE_CSP = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
    "frame-ancestors 'self'; base-uri 'none'"
)


def html_page(status: int, body: str, locale: str, title: str) -> Response:
    page = (
        f'<!doctype html><html lang="{escape(locale)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
    return Response(
        status,
        [
            ("content-type", "text/html; charset=utf-8"),
            ("cache-control", "no-store"),
            ("content-security-policy", _PAGE_CSP),
            ("vary", "Cookie, Sec-GPC, Accept-Language"),
        ],
        page.encode("utf-8"),
    )


def then_redirect(result: Result, location: str) -> Result:
    """After a save: the same Set-Cookie, but a 303 back to our page instead of JSON."""
    if isinstance(result, Response):
        # Answered without the store (deleting the records of a visitor who has none).
        return _redirect(result, location)

    def then(value: Any) -> Result:
        return then_redirect(result.then(value), location)

    return result.followed_by(then)


def _redirect(done: Response, location: str) -> Response:
    if done.status != 200:
        return done
    cookies = [(k, v) for k, v in done.headers if k == "set-cookie"]
    return Response(303, [("location", location), ("cache-control", "no-store"), *cookies])


def query_value(visit: Visit, name: str) -> str | None:
    values = parse_qs(visit.facts.query_string).get(name)
    return values[0][:64] if values else None
