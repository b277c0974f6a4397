"""Deciding whether an HTML response is rewritten, and rewriting it as it streams.

Framework-free: the adapters call :func:`plan_html` with the response's
headers when it starts, then feed the body through the returned
:class:`HTMLBody` chunk by chunk.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from .._memo import remember
from ..core.assets import banner_path, embeds_path
from ..core.cache_headers import mark_dependent
from ..core.engine import OPT_OUT_HEADER
from ..core.validators import decision_etag
from .inject import Injector, fill
from .inline import inline_nonce
from .pages import page_key, recall, store
from .plan import Nonce, plan_for
from .rewrite import HTMLRewriter

if TYPE_CHECKING:
    from ..core.engine import Engine, Visit
    from ..policy.trackers import Matcher

__all__ = ["OPT_OUT_HEADER", "REPORT_HEADER", "HTMLBody", "plan_html"]

#: the report-mode header: how many elements were neutralised
REPORT_HEADER = b"x-consent-blocked"

Headers = list[tuple[bytes, bytes]]

# Statuses whose responses carry no body (RFC 9110 sections 6.4.1, 15.3.5, 15.3.6,
# 15.4.5): nothing may be injected into them.
_BODILESS = frozenset({204, 205, 304})

# What is rewritten (see plan_html).
_HTML_TYPES = frozenset((b"text/html", b"application/xhtml+xml"))

# The headers _decision_validators changes (the ETag) or drops.
_VALIDATORS = frozenset((b"etag", b"last-modified"))
_VALIDATORS_AND_LENGTH = _VALIDATORS | {b"content-length"}


class _Setup:
    """What every page of one engine (one policy version) is rewritten with, read from
    its config once, on its first page, and kept on the engine."""

    __slots__ = (
        "blocks",
        "compress",
        "embeds",
        "exclude_paths",
        "exclude_types",
        "hold",
        "matcher",
        "rewrite",
        "types",
    )

    def __init__(self, engine: Engine) -> None:
        config = engine.config
        prefix = config.prefix
        self.blocks = Injector(
            engine, banner_path(prefix), banner_path(prefix, "gpp.js"), embeds_path(prefix)
        )
        self.rewrite = config.rewrite_html
        self.compress = config.compress_html
        self.hold = config.report_blocked
        self.exclude_paths = tuple(config.html_exclude_paths)
        self.exclude_types = frozenset(t.encode("latin-1") for t in config.html_exclude_types)
        #: Content-Type value -> whether it is rewritten (a site sends a few)
        self.types: dict[bytes, bool] = {}
        self.matcher = engine.tag_matcher
        self.embeds = bool(self.matcher.embeds)


def _setup(engine: Engine) -> _Setup:
    setup: _Setup | None = engine.html
    if setup is None:
        setup = engine.html = _Setup(engine)
    return setup


class HTMLBody:
    """One HTML body on its way out: rewritten, then optionally gzip-compressed.

    A body that comes whole (most frameworks send it so) and was rewritten before is
    answered from the memo of pages (see :mod:`.pages`); the rewriter, and the
    injected block with the page's nonce filled in, are made only for a body that
    has to be rewritten."""

    __slots__ = (
        "_allowed",
        "_blocked",
        "_gzip",
        "_locale",
        "_matcher",
        "_nonce",
        "_rewriter",
        "_template",
        "hold",
    )

    def __init__(
        self,
        matcher: Matcher,
        allowed: frozenset[str],
        template: bytes,
        nonce: str | None,
        locale: str = "en",
        *,
        gzip: bool,
        hold: bool,
    ) -> None:
        self._matcher = matcher
        # What HTMLRewriter plans by: "necessary" is always allowed.
        self._allowed = allowed if "necessary" in allowed else allowed | {"necessary"}
        #: the injected block, its nonce slots not filled (see Injector.template)
        self._template = template
        self._nonce = nonce
        self._locale = locale
        self._rewriter: HTMLRewriter | None = None
        self._blocked = 0
        # wbits=31: a gzip container (RFC 1952), what Content-Encoding: gzip means.
        self._gzip = zlib.compressobj(6, zlib.DEFLATED, 31) if gzip else None
        #: report mode: the adapter holds the body so the count can go in a header
        self.hold = hold

    @property
    def blocked(self) -> int:
        """How many elements were neutralised."""
        rewriter = self._rewriter
        return self._blocked if rewriter is None else rewriter.blocked

    def _start(self) -> HTMLRewriter:
        self._rewriter = rewriter = HTMLRewriter(
            self._matcher,
            self._allowed,
            inject=fill(self._template, self._nonce),
            nonce=self._nonce,
            locale=self._locale,
        )
        return rewriter

    def feed(self, chunk: bytes) -> bytes:
        out = (self._rewriter or self._start()).feed(chunk)
        if self._gzip is not None and out:
            # A sync flush per chunk keeps the response streaming.
            return self._gzip.compress(out) + self._gzip.flush(zlib.Z_SYNC_FLUSH)
        return out

    def whole(self, body: bytes) -> bytes:
        """The whole body when it comes in one piece: from the memo of pages when it
        was rewritten before."""
        if self._rewriter is None:
            out = self._whole(bytes(body))
        else:
            out = self._rewriter.feed(body) + self._rewriter.close()
        if self._gzip is not None:
            return self._gzip.compress(out) + self._gzip.flush()
        return out

    def _whole(self, body: bytes) -> bytes:
        nonce = Nonce.of(self._nonce)
        plan = plan_for(self._matcher, self._allowed)
        extra = self._locale.encode() if self._matcher.embeds else b""
        if nonce is not None:
            key = page_key(plan, self._template, body, nonce, extra, slotted=True)
        else:
            key = page_key(plan, fill(self._template, self._nonce), body, None, extra)
        if key is not None and (found := recall(key, nonce)) is not None:
            self._blocked = found[1]
            return found[0]
        rewriter = self._start()
        out = rewriter.feed(body) + rewriter.close()
        if key is not None:
            store(key, nonce, (out, rewriter.blocked, rewriter.blocked_categories))
        return out

    def close(self) -> bytes:
        out = (self._rewriter or self._start()).close()
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
    # Engine.response_headers noted these (and removed the opt-out header) already.
    ctype, encoding, opt_out = visit.content_type, visit.content_encoding, visit.opt_out
    if opt_out is not None and opt_out.strip().lower() == b"off":
        return None, headers
    setup = _setup(engine)
    if not setup.rewrite or ctype is None:
        return None, headers
    html = setup.types.get(ctype)
    if html is None:
        mime = ctype.split(b";", 1)[0].strip().lower()
        html = mime in _HTML_TYPES and mime not in setup.exclude_types
        remember(setup.types, ctype, html, 64)
    if not html:
        return None, headers
    if encoding is not None and encoding.strip().lower() not in (b"", b"identity"):
        return None, headers
    facts = visit.facts
    if facts.path.startswith(setup.exclude_paths):
        return None, headers

    decision = visit.decision
    allowed = decision._allowed
    visit.rewritten = True
    # The length changes; the body is streamed, so the length is dropped (for HEAD too:
    # its Content-Length must be GET's, RFC 9110 section 8.6).
    if visit.validators:
        out = _decision_validators(headers, engine.decision_tag(allowed), length=False)
    else:  # nothing but the length to drop, where Engine.response_headers found it
        out = headers.copy()
        if visit.length_at >= 0:
            del out[visit.length_at]
    # Only then the request's headers are decoded: most pages need none of them.
    gzip = setup.compress and "gzip" in facts.headers.get("accept-encoding", "").lower()
    if gzip:
        out.append((b"content-encoding", b"gzip"))
        out.append((b"vary", b"Accept-Encoding"))
    if not visit.marked:  # Engine.response_headers may have done it already
        mark_dependent(out)
    if facts.method == "HEAD":
        return None, out

    template = b""
    page_nonce = nonce()
    blocks = setup.blocks
    if blocks.active:
        # The page's own CSP says whether the default can go inline (see .inline); the
        # nonce it names serves the injected tags when the csp_nonce option gives none.
        runs = inline_nonce(visit.csp, page_nonce)
        if runs is not None:
            page_nonce = runs or None
        template = blocks.template(decision, inline=runs is not None, nonced=bool(page_nonce))
    # Embed placeholders speak the visitor's language (read only when there are embeds).
    locale = (
        engine.policy.pick_locale(None, facts.headers.get("accept-language"))
        if setup.embeds
        else "en"
    )
    body = HTMLBody(
        setup.matcher, allowed, template, page_nonce, locale, gzip=gzip, hold=setup.hold
    )
    return body, out


def _decision_validators(headers: Headers, tag: str, *, length: bool = True) -> Headers:
    """``headers`` with the ETag made specific to the decision and Last-Modified
    removed (see :mod:`consent_mw.validators`); without Content-Length unless
    ``length``."""
    drop = _VALIDATORS if length else _VALIDATORS_AND_LENGTH
    out: Headers = []
    for header in headers:
        lowered = header[0].lower()
        if lowered not in drop:
            out.append(header)
        elif lowered == b"etag":
            marked = decision_etag(header[1], tag)
            if marked is not None:
                out.append((header[0], marked))
    return out
