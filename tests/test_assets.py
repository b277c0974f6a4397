"""The banner's files served like whitenoise serves static files: precompressed variants
chosen by Accept-Encoding, an ETag per variant and 304s, content-hashed URLs cached for
a year. Unit tests of core.assets, then the endpoints through both adapters."""

from __future__ import annotations

import gzip
import re
from typing import Any

import pytest

from consent_mw.core import assets
from consent_mw.core.assets import IMMUTABLE, accepted_encodings, asset, static_asset
from support.html_apps import AppRequest, Harness, RawResult, Reply, build, html

brotli: Any
try:
    import brotli
except ImportError:  # pragma: no cover - the dev extra installs it
    brotli = None

BANNER = static_asset("consent-banner.js", "text/javascript; charset=utf-8")


@pytest.fixture(params=["asgi", "wsgi"])
def harness(request: pytest.FixtureRequest) -> Harness:
    def handler(request: AppRequest) -> Reply:
        return html()

    return build(str(request.param), handler)


def get(harness: Harness, path: str, **headers: str) -> RawResult:
    result = harness.request("GET", path, headers=headers)
    assert isinstance(result, RawResult)
    return result


def hashed_banner(harness: Harness) -> str:
    match = re.search(rb'src="(/_consent/banner\.[0-9a-f]{16}\.js)"', get(harness, "/").raw)
    assert match is not None
    return match.group(1).decode()


# -- core.assets ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip, deflate, br, zstd", {"gzip", "deflate", "br", "zstd"}),
        ("gzip;q=1.0, br;q=0", {"gzip"}),
        ("GZIP ; q=0.5", {"gzip"}),
        ("br;q=0.000", set()),
        ("gzip;q=bogus", {"gzip"}),
        ("", {""}),
    ],
)
def test_accepted_encodings(header: str, accepted: set[str]) -> None:
    assert accepted_encodings(header) == accepted


def test_variants_are_kept_only_when_they_save() -> None:
    small = asset(b"x", "text/plain")
    assert small.variants == {}
    big = asset(b"hello world " * 200, "text/plain")
    assert gzip.decompress(big.variants["gzip"]) == big.body
    assert big.digest == asset(big.body, "text/plain").digest  # stable across processes
    assert big.variants["gzip"] == asset(big.body, "text/plain").variants["gzip"]


def test_an_asset_answers_the_smallest_accepted_variant() -> None:
    found = asset(b"let a = 1;\n" * 500, "text/javascript")
    status, headers, body = found.answer("gzip", None, immutable=False)
    assert status == 200 and dict(headers)["content-encoding"] == "gzip"
    assert gzip.decompress(body) == found.body
    status, headers, body = found.answer("identity", None, immutable=True)
    assert "content-encoding" not in dict(headers) and body == found.body
    assert dict(headers)["cache-control"] == IMMUTABLE
    assert dict(headers)["vary"] == "Accept-Encoding"
    etags = {found.answer(e, None, immutable=True)[1][2][1] for e in ("", "gzip")}
    assert len(etags) == 2  # each variant its own validator


@pytest.mark.skipif(brotli is None, reason="brotli is not installed")
def test_brotli_is_preferred_when_installed() -> None:
    found = asset(b"let a = 1;\n" * 500, "text/javascript")
    status, headers, body = found.answer("gzip, deflate, br", None, immutable=True)
    assert dict(headers)["content-encoding"] == "br"
    assert brotli.decompress(body) == found.body


def test_without_brotli_gzip_still_works(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(assets, "_brotli", None)
    found = asset(b"let a = 1;\n" * 500, "text/javascript")
    assert set(found.variants) == {"gzip"}
    assert dict(found.answer("br, gzip", None, immutable=True)[1])["content-encoding"] == "gzip"


@pytest.mark.parametrize(
    ("if_none_match", "status"),
    [("{etag}", 304), ("W/{etag}", 304), ('"other", {etag}', 304), ("*", 304), ('"x"', 200)],
)
def test_if_none_match(if_none_match: str, status: int) -> None:
    found = asset(b"let a = 1;\n" * 500, "text/javascript")
    etag = found.etag("gzip")
    got, headers, body = found.answer("gzip", if_none_match.format(etag=etag), immutable=True)
    assert got == status
    if status == 304:
        assert body == b"" and ("etag", etag) in headers
        assert "content-type" not in dict(headers)


# -- served --------------------------------------------------------------------------------


def test_the_injected_banner_url_is_hashed_and_immutable(harness: Harness) -> None:
    assert BANNER is not None
    url = hashed_banner(harness)
    assert BANNER.digest in url
    result = get(harness, url, **{"accept-encoding": "gzip"})
    assert result.status == 200
    assert result.header("cache-control") == IMMUTABLE
    assert result.header("content-encoding") == "gzip"
    assert result.header("vary") == "Accept-Encoding"
    assert gzip.decompress(result.raw) == BANNER.body
    assert len(result.raw) < len(BANNER.body) / 2


@pytest.mark.parametrize(
    "path", ["/_consent/banner.js", "/_consent/banner.css", "/_consent/banner-prefs.js"]
)
def test_the_plain_urls_revalidate_with_304(harness: Harness, path: str) -> None:
    first = get(harness, path, **{"accept-encoding": "gzip, br"})
    assert first.status == 200
    assert first.header("cache-control") == "public, max-age=60"
    etag = first.header("etag")
    assert etag is not None
    again = get(harness, path, **{"accept-encoding": "gzip, br", "if-none-match": etag})
    assert again.status == 304 and again.raw == b""
    assert again.header("etag") == etag
    # Another variant is another representation: sent in full.
    other = get(harness, path, **{"if-none-match": etag})
    assert other.status == 200 and other.header("content-encoding") is None


def test_without_accept_encoding_the_banner_is_sent_as_is(harness: Harness) -> None:
    assert BANNER is not None
    result = get(harness, "/_consent/banner.js")
    assert result.header("content-encoding") is None
    assert result.raw == BANNER.body


def test_an_old_hash_is_not_found(harness: Harness) -> None:
    result = get(harness, "/_consent/banner.0000000000000000.js")
    assert result.status == 404


@pytest.mark.parametrize(
    ("if_modified_since", "status"),
    [
        ("Thu, 01 Jan 2026 00:00:00 GMT", 304),  # the file's own time
        ("Fri, 02 Jan 2026 00:00:00 GMT", 304),
        ("Wed, 31 Dec 2025 23:59:59 GMT", 200),
        ("not a date", 200),
        ("", 200),
    ],
)
def test_if_modified_since(if_modified_since: str, status: int) -> None:
    found = asset(b"let a = 1;\n" * 500, "text/javascript", modified=1767225600)
    got, headers, _ = found.answer("", None, immutable=False, if_modified_since=if_modified_since)
    assert got == status
    assert dict(headers)["last-modified"] == "Thu, 01 Jan 2026 00:00:00 GMT"
    # If-None-Match, when sent, decides alone (RFC 9110 section 13.2.2).
    assert found.answer("", '"x"', immutable=False, if_modified_since=if_modified_since)[0] == 200
