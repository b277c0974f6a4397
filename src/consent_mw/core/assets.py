"""The files the middleware serves to browsers (the banner's script and sheet, the
Consent Mode default), answered the way whitenoise answers static files.

Each is compressed once, when the process loads it: gzip always (the standard library),
Brotli when the optional ``brotli`` package is installed (``pip install
'consent_mw[brotli]'``); a variant that saves under 5 % is not kept, as whitenoise
does. An answer picks the smallest variant the request's ``Accept-Encoding`` accepts,
carries an ``ETag`` per variant and ``Vary: Accept-Encoding``, and is a 304 when
``If-None-Match`` names the variant the browser holds. A content-hashed URL
(``banner.<digest>.js``) never changes meaning, so it is cached for a year and marked
``immutable`` (RFC 8246): the browser does not even revalidate it.
"""

from __future__ import annotations

import gzip as _gzip
import hashlib
import time
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .._memo import remember

__all__ = [
    "BANNER_FILES",
    "IMMUTABLE",
    "Asset",
    "accepted_encodings",
    "asset",
    "banner_path",
    "embeds_path",
    "hashed_name",
    "static_asset",
]

#: the Cache-Control of a content-hashed URL
IMMUTABLE = "public, max-age=31536000, immutable"
#: the Cache-Control of an unversioned URL: fresh a minute, then revalidated by ETag
REVALIDATE = "public, max-age=60"

Headers = list[tuple[str, str]]

try:  # optional: Brotli is smaller than gzip by ~15 % on the banner
    import brotli as _brotli
except ImportError:  # pragma: no cover - depends on the installation
    _brotli = None

#: most preferred first: the smallest
_PREFERENCE = ("br", "gzip")


@dataclass(frozen=True)
class Asset:
    """One file's bytes, its compressed variants and their validators."""

    content_type: str
    body: bytes
    #: a hex prefix of the SHA-256 of ``body``: the part of the hashed URL that versions it
    digest: str
    #: encoding -> compressed bytes (only the variants worth sending)
    variants: dict[str, bytes] = field(default_factory=dict)
    #: when the file changed (seconds since the epoch, whole): ``Last-Modified``
    modified: int = 0

    def etag(self, encoding: str | None) -> str:
        return f'"{self.digest}-{encoding}"' if encoding else f'"{self.digest}"'

    def encoding_for(self, accept_encoding: str) -> str | None:
        """The variant to send for this ``Accept-Encoding`` (None: the body as is)."""
        if not self.variants or not accept_encoding:
            return None
        accepted = accepted_encodings(accept_encoding)
        for encoding in _PREFERENCE:
            if encoding in accepted and encoding in self.variants:
                return encoding
        return None

    def answer(
        self,
        accept_encoding: str,
        if_none_match: str | None,
        *,
        immutable: bool,
        if_modified_since: str | None = None,
    ) -> tuple[int, Headers, bytes]:
        """``(status, headers, body)`` for a GET of this file; the length is the adapter's.

        ``If-None-Match`` decides when sent; else ``If-Modified-Since`` (RFC 9110 section
        13.2.2): a browser revalidates a response to HTTP/1.0 with the date only."""
        encoding = self.encoding_for(accept_encoding)
        etag = self.etag(encoding)
        headers: Headers = [
            ("content-type", self.content_type),
            ("cache-control", IMMUTABLE if immutable else REVALIDATE),
            ("etag", etag),
            ("last-modified", formatdate(self.modified, usegmt=True)),
        ]
        if self.variants:
            headers.append(("vary", "Accept-Encoding"))
        if (
            _matches(if_none_match, etag)
            if if_none_match is not None
            else _not_modified_since(if_modified_since, self.modified)
        ):
            # A 304 carries the validators and caching headers only (RFC 9110 15.4.5).
            return 304, headers[1:], b""
        if encoding is None:
            return 200, headers, self.body
        headers.append(("content-encoding", encoding))
        return 200, headers, self.variants[encoding]


def _not_modified_since(header: str | None, modified: int) -> bool:
    if not header:
        return False
    try:
        return parsedate_to_datetime(header).timestamp() >= modified
    except (TypeError, ValueError, IndexError, OverflowError):
        return False  # not a date: ignored (RFC 9110 section 13.1.3)


def _matches(if_none_match: str, etag: str) -> bool:
    # Weak comparison (RFC 9110 section 13.1.2): a W/ prefix is ignored.
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


_accepted: dict[str, frozenset[str]] = {}


def accepted_encodings(header: str) -> frozenset[str]:
    """The codings an ``Accept-Encoding`` value accepts (``q=0`` refuses one; RFC 9110
    section 12.5.3). Browsers send the same value every time: remembered."""
    found = _accepted.get(header)
    if found is not None:
        return found
    names: set[str] = set()
    for item in header.lower().split(","):
        name, _, params = item.partition(";")
        quality = params.strip().removeprefix("q=").strip() if params else "1"
        try:
            refused = float(quality) <= 0
        except ValueError:
            refused = False
        if not refused:
            names.add(name.strip())
    found = frozenset(names)
    remember(_accepted, header, found, 256)
    return found


def asset(body: bytes, content_type: str, modified: float | None = None) -> Asset:
    """``body`` compressed and hashed, as :class:`Asset` (``modified``: now if None)."""
    variants: dict[str, bytes] = {}
    # mtime=0: the same bytes give the same gzip, so the same ETag in every process.
    compressed = {"gzip": _gzip.compress(body, 9, mtime=0)}
    if _brotli is not None:
        compressed["br"] = _brotli.compress(body)
    for encoding, data in compressed.items():
        if len(data) < len(body) * 0.95:
            variants[encoding] = data
    digest = hashlib.sha256(body).hexdigest()[:16]
    when = int(time.time() if modified is None else modified)
    return Asset(content_type, body, digest, variants, when)


@lru_cache(maxsize=16)
def static_asset(name: str, content_type: str) -> Asset | None:
    """A file of the package's ``static/`` folder, loaded and compressed once per
    process (every policy version's endpoints share it); None when not built."""
    file = resources.files("consent_mw").joinpath("static", name)
    try:
        body = file.read_bytes()
    except (FileNotFoundError, OSError):
        return None
    try:
        modified: float | None = Path(str(file)).stat().st_mtime
    except OSError:  # inside a zip: the time it was loaded
        modified = None
    return asset(body, content_type, modified)


#: the files of static/ served to browsers: URL name -> (file in static/, Content-Type);
#: the banner's two, and the IAB GPP ``__gpp`` API (loaded only where GPP is on)
BANNER_FILES: dict[str, tuple[str, str]] = {
    "banner.js": ("consent-banner.js", "text/javascript; charset=utf-8"),
    "banner.css": ("consent-banner.css", "text/css; charset=utf-8"),
    # the preferences layer's details and per-service switches, loaded when opened
    "banner-prefs.js": ("consent-banner-prefs.js", "text/javascript; charset=utf-8"),
    "gpp.js": ("consent-gpp.js", "text/javascript; charset=utf-8"),
    # the embed placeholders' buttons and the storage cleaner (its own gzip budget)
    "embeds.js": ("consent-embeds.js", "text/javascript; charset=utf-8"),
}


def hashed_name(name: str, digest: str) -> str:
    """``banner.js`` -> ``banner.<digest>.js``."""
    stem, dot, ext = name.rpartition(".")
    return f"{stem}.{digest}.{ext}" if dot else f"{name}.{digest}"


def banner_path(prefix: str, name: str = "banner.js") -> str | None:
    """The content-hashed URL path of the banner's script, or of another of its
    :data:`BANNER_FILES` (None: not built)."""
    found = static_asset(*BANNER_FILES[name])
    return None if found is None else f"{prefix}/{hashed_name(name, found.digest)}"


def embeds_path(prefix: str) -> str | None:
    """The content-hashed URL path of the embeds and storage-cleaner script (None: not built)."""
    return banner_path(prefix, "embeds.js")
