"""Deciding whether an HTML response is rewritten, and rewriting it as it streams.

Framework-free: the adapters call :func:`plan_html` with the response's
headers when it starts, then feed the body through the returned
:class:`HTMLBody` chunk by chunk.
"""

from __future__ import annotations

import weakref
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..core.assets import banner_path, embeds_path
from ..core.cache_headers import mark_dependent
from ..core.engine import OPT_OUT_HEADER
from ..core.validators import decision_etag
from .inject import Injector
from .inline import inline_nonce
from .rewrite import HTMLRewriter

if TYPE_CHECKING:
    from ..core.engine import Engine, Visit

__all__ = ["OPT_OUT_HEADER", "REPORT_HEADER", "HTMLBody", "plan_html"]

#: the report-mode header: how many elements were neutralised
REPORT_HEADER = b"x-consent-blocked"

Headers = list[tuple[bytes, bytes]]

# Statuses whose responses carry no body (RFC 9110 sections 6.4.1, 15.3.5, 15.3.6,
# 15.4.5): nothing may be injected into them.
_BODILESS = frozenset({204, 205, 304})

# One injector per engine (per policy version), built on its first page.
_INJECTORS: weakref.WeakKeyDictionary[Engine, Injector] = weakref.WeakKeyDictionary()


def injector(engine: Engine) -> Injector:
    found = _INJECTORS.get(engine)
    if found is None:
        prefix = engine.config.prefix
        found = _INJECTORS[engine] = Injector(
            engine, banner_path(prefix), banner_path(prefix, "gpp.js"), embeds_path(prefix)
        )
    return found


class HTMLBody:
    """One HTML body on its way out: rewritten, then optionally gzip-compressed."""

    def __init__(self, rewriter: HTMLRewriter, *, gzip: bool, hold: bool) -> None:
        self.rewriter = rewriter
        # wbits=31: a gzip container (RFC 1952), what Content-Encoding: gzip means.
        self._gzip = zlib.compressobj(6, zlib.DEFLATED, 31) if gzip else None
        #: report mode: the adapter holds the body so the count can go in a header
        self.hold = hold

    @property
    def blocked(self) -> int:
        return self.rewriter.blocked

    def feed(self, chunk: bytes) -> bytes:
        out = self.rewriter.feed(chunk)
        if self._gzip is not None and out:
            # A sync flush per chunk keeps the response streaming.
            return self._gzip.compress(out) + self._gzip.flush(zlib.Z_SYNC_FLUSH)
        return out

    def whole(self, body: bytes) -> bytes:
        """The whole body when it comes in one piece (most frameworks send it so):
        the rewriter may answer it from its memo of pages."""
        out = self.rewriter.whole(body)
        if self._gzip is not None:
            return self._gzip.compress(out) + self._gzip.flush()
        return out

    def close(self) -> bytes:
        out = self.rewriter.close()
        if self._gzip is not None:
            return self._gzip.compress(out) + self._gzip.flush()
        return out


def plan_html(
    engine: Engine,
    visit: Visit,
    headers: Headers,
    nonce: Callable[[], str | None],
    status: int = 200,
) -> tuple[HTMLBody | None, Headers]:
    """``(the body rewriter or None, the start headers to send)``.

    Only uncompressed ``text/html`` is rewritten (a compressed body passes through
    untouched: put compression outside this middleware, or set ``compress_html``),
    and not for excluded paths or content types or when the app opted out. A
    response without a body (1xx, 204, 205, 304, any answer to HEAD) never gets
    one; HEAD gets the headers GET would have.
    """
    if status < 200 or status in _BODILESS:
        if status == 304 and visit.revalidated is not None:
            return None, _decision_validators(headers, visit.revalidated)
        return None, headers
    config = engine.config
    # Engine.response_headers noted these (and removed the opt-out header) already.
    ctype, encoding, opt_out = visit.content_type, visit.content_encoding, visit.opt_out
    if opt_out is not None and opt_out.strip().lower() == b"off":
        return None, headers
    if not config.rewrite_html or ctype is None:
        return None, headers
    mime = ctype.split(b";", 1)[0].strip().lower()
    if mime not in (b"text/html", b"application/xhtml+xml"):
        return None, headers
    if mime.decode("latin-1") in config.html_exclude_types:
        return None, headers
    if encoding is not None and encoding.strip().lower() not in (b"", b"identity"):
        return None, headers
    path = visit.facts.path
    if any(path.startswith(prefix) for prefix in config.html_exclude_paths):
        return None, headers

    decision = visit.decision
    allowed = decision._allowed
    visit.rewritten = True
    # The length changes; the body is streamed, so the length is dropped (for HEAD too:
    # its Content-Length must be GET's, RFC 9110 section 8.6).
    out = _decision_validators(
        [(k, v) for k, v in headers if k.lower() != b"content-length"],
        engine.decision_tag(allowed),
    )
    # Only then the request's headers are decoded: most pages need none of them.
    gzip = config.compress_html and "gzip" in visit.facts.headers.get("accept-encoding", "").lower()
    if gzip:
        out.append((b"content-encoding", b"gzip"))
        out.append((b"vary", b"Accept-Encoding"))
    if not visit.marked:  # Engine.response_headers may have done it already
        mark_dependent(out)
    if visit.facts.method == "HEAD":
        return None, out

    inject = b""
    page_nonce = nonce()
    blocks = injector(engine)
    if blocks.active:
        # The page's own CSP says whether the default can go inline (see .inline); the
        # nonce it names serves the injected tags when the csp_nonce option gives none.
        runs = inline_nonce(out, page_nonce)
        if runs is not None:
            page_nonce = runs or None
        inject = blocks.block(decision, inline=runs is not None, nonce=page_nonce)
    # Embed placeholders speak the visitor's language (read only when there are embeds).
    locale = (
        engine.policy.pick_locale(None, visit.facts.headers.get("accept-language"))
        if engine.matcher.embeds
        else "en"
    )
    rewriter = HTMLRewriter(
        engine.tag_matcher, allowed, inject=inject, nonce=page_nonce, locale=locale
    )
    return HTMLBody(rewriter, gzip=gzip, hold=config.report_blocked), out


def _decision_validators(headers: Headers, tag: str) -> Headers:
    """``headers`` with the ETag made specific to the decision and Last-Modified
    removed (see :mod:`consent_mw.validators`)."""
    out: Headers = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"etag":
            marked = decision_etag(value, tag)
            if marked is not None:
                out.append((name, marked))
        elif lowered != b"last-modified":
            out.append((name, value))
    return out
