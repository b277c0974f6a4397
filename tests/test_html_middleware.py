"""HTML responses through both middlewares: which are rewritten, how, and with what headers.

Every request goes through :mod:`support.html_apps`, whose harnesses also check that a
Content-Length, when one is sent, is the length of the body actually sent.
"""

from __future__ import annotations

import gzip
import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from consent_mw import ConsentMiddleware, MemoryStore
from support.harness import SECRET, http_scope, run_asgi
from support.html_apps import (
    AUTHOR_MARKED,
    GA_EXTERNAL,
    GA_INLINE,
    HEAD_START,
    KAKAO,
    META_INLINE,
    META_NOSCRIPT,
    NAVER,
    OWN_SCRIPT,
    TRACKER_PAGE,
    TRACKER_TAGS,
    AppRequest,
    Harness,
    RawResult,
    Reply,
    build,
    cut,
    html,
)

# Each test runs with the C pass-through steps and with their pure-Python twin.
pytestmark = pytest.mark.usefixtures("html_steps")

ALL_DENIED_BUT_SECURITY = {
    "ad_storage": "denied",
    "ad_user_data": "denied",
    "ad_personalization": "denied",
    "analytics_storage": "denied",
    "functionality_storage": "denied",
    "personalization_storage": "denied",
    "security_storage": "granted",
}
#: where the injected block starts on a page without a CSP: the inline default
DEFAULTS_TAG = b"<script>window.dataLayer=window.dataLayer||[];"
#: the banner's content-hashed URL, as injected
BANNER_SRC = re.compile(r"/_consent/banner\.[0-9a-f]{16}\.js")
ANALYTICS_TAGS = [tag for tag, category in TRACKER_TAGS if category == "analytics"]
ADVERTISING_TAGS = [tag for tag, category in TRACKER_TAGS if category == "advertising"]


@pytest.fixture(params=["asgi", "wsgi"])
def adapter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


#: an adapter and how the app hands its body over (WSGI: list, generator, write())
BODY_FORMS = [("asgi", "list"), ("wsgi", "list"), ("wsgi", "generator"), ("wsgi", "write")]


@pytest.fixture(params=BODY_FORMS, ids=["-".join(f) for f in BODY_FORMS])
def form(request: pytest.FixtureRequest) -> tuple[str, Any]:
    return request.param  # type: ignore[no-any-return]


def page_app(reply: Reply | None = None) -> Any:
    """An app answering every path with ``reply`` (default: the tracker page)."""

    def handler(request: AppRequest) -> Reply:
        return reply if reply is not None else html()

    return handler


def get(harness: Harness, path: str = "/", **kwargs: Any) -> RawResult:
    result = harness.request(kwargs.pop("method", "GET"), path, **kwargs)
    assert isinstance(result, RawResult)
    return result


def with_consent(harness: Harness, **choices: bool) -> dict[str, str]:
    return {"consent_mw": harness.token(choices)}


# -- reading the output --------------------------------------------------------------------


class _Elements(HTMLParser):
    """Start tags with their attributes (in order) and, for scripts, their text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[dict[str, Any]] = []
        self._script: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = {"tag": tag, "attrs": dict(attrs), "names": [k for k, _ in attrs], "text": ""}
        self.elements.append(element)
        if tag == "script":
            self._script = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None


def elements(body: bytes) -> list[dict[str, Any]]:
    parser = _Elements()
    parser.feed(body.decode("utf-8"))
    parser.close()
    return [e for e in parser.elements if e["tag"] in ("script", "img")]


def element_for(body: bytes, original: bytes) -> dict[str, Any]:
    """The output element that came from the ``original`` tracker tag."""
    [want] = elements(original)
    url = want["attrs"].get("src")
    found = []
    for element in elements(body):
        if element["tag"] != want["tag"]:
            continue
        attrs = element["attrs"]
        if url is not None:
            same = url in (attrs.get("src"), attrs.get("data-consent-src"))
        else:
            same = bool(want["text"]) and element["text"] == want["text"]
        if same:
            found.append(element)
    assert len(found) == 1, (original, found)
    return found[0]


def assert_neutralised(body: bytes, original: bytes, category: str) -> None:
    assert original not in body
    [want] = elements(original)
    got = element_for(body, original)
    attrs = got["attrs"]
    assert attrs.get("data-consent-category") == category, got
    assert "src" not in attrs, got
    if want["attrs"].get("src") is not None:
        assert attrs["data-consent-src"] == want["attrs"]["src"]
    if want["tag"] == "script":
        assert attrs["type"] == "text/plain"
        assert got["text"] == want["text"]
        if "type" in want["attrs"]:
            assert attrs["data-consent-type"] == want["attrs"]["type"]
    # Every other attribute is kept as it was.
    for name, value in want["attrs"].items():
        if name not in ("src", "type"):
            assert attrs[name] == value, (name, got)


def injected(body: bytes) -> bytes:
    """The block the middleware placed right after ``<head>``."""
    assert body.startswith(HEAD_START), body[:200]
    rest = body[len(HEAD_START) :]
    end = rest.index(b'<meta charset="utf-8">')
    return rest[:end]


def without_injection(body: bytes) -> bytes:
    return HEAD_START + body[len(HEAD_START) + len(injected(body)) :]


def consent_default(script: str) -> dict[str, str]:
    match = re.search(r"gtag\('consent','default',(\{.*?\})\);", script)
    assert match, script
    return dict(json.loads(match.group(1)))


def assert_untracked_bytes_kept(body: bytes) -> None:
    """Everything of the page that is not a tracker tag is there, in order, byte for byte."""
    pattern = b"|".join(re.escape(tag) for tag, _ in TRACKER_TAGS)
    segments = [s for s in re.split(pattern, TRACKER_PAGE) if s]
    at = 0
    for segment in segments:
        found = body.find(segment, at)
        assert found >= 0, segment
        at = found + len(segment)


# -- an undecided visitor ------------------------------------------------------------------


def test_undecided_visitor_gets_every_tracker_neutralised(adapter: str) -> None:
    result = get(build(adapter, page_app()))
    assert result.status == 200
    body = result.raw
    for tag, category in TRACKER_TAGS:
        assert_neutralised(body, tag, category)
    assert OWN_SCRIPT in body
    assert_untracked_bytes_kept(without_injection(body))
    # Exactly the seven tracker elements were touched.
    marked = [e for e in elements(body) if "data-consent-category" in e["attrs"]]
    assert len(marked) == len(TRACKER_TAGS)


def test_injection_without_a_csp_is_an_inline_default_and_the_hashed_banner(
    adapter: str,
) -> None:
    """No CSP: nothing stops an inline script, so the default costs no request."""
    result = get(build(adapter, page_app()))
    block = injected(result.raw)
    scripts = elements(block)
    assert len(scripts) == 2
    inline, banner = scripts
    assert inline["attrs"] == {}
    assert consent_default(inline["text"]) == ALL_DENIED_BUT_SECURITY
    assert b"/_consent/defaults" not in result.raw
    assert BANNER_SRC.fullmatch(banner["attrs"]["src"])
    assert banner["text"] == "" and "nonce" not in banner["attrs"]
    assert "defer" in banner["attrs"] and banner["attrs"]["data-endpoint"] == "/_consent"
    # The page's own inline scripts that are trackers stay neutralised.
    running_inline = [
        e
        for e in elements(without_injection(result.raw))
        if e["tag"] == "script"
        and "src" not in e["attrs"]
        and e["attrs"].get("type") != "text/plain"
    ]
    assert running_inline == []


@pytest.mark.parametrize("source", ["key", "callable"])
def test_injection_with_a_nonce_is_an_inline_default_and_a_nonced_banner(
    adapter: str, source: str
) -> None:
    csp_nonce: Any = "csp_nonce"
    if source == "callable":

        def csp_nonce(where: Any) -> str | None:  # the ASGI scope or the WSGI environ
            state = where.get("state") or {}
            return where.get("csp_nonce") or state.get("csp_nonce")

    harness = build(adapter, page_app(html(nonce="r4nd0m+/=")), csp_nonce=csp_nonce)
    block = injected(get(harness).raw)
    scripts = elements(block)
    assert len(scripts) == 2
    inline, banner = scripts
    assert inline["attrs"] == {"nonce": "r4nd0m+/="}
    assert consent_default(inline["text"]) == ALL_DENIED_BUT_SECURITY
    assert "gtag('set','ads_data_redaction',true);" in inline["text"]
    assert inline["text"].startswith("window.dataLayer=window.dataLayer||[];")
    assert BANNER_SRC.fullmatch(banner["attrs"]["src"])
    assert banner["attrs"]["nonce"] == "r4nd0m+/="
    assert b"/_consent/defaults" not in block


@pytest.mark.parametrize("nonce", [None, ""])
def test_nonce_option_without_a_nonce_in_the_request_is_inline_without_one(
    adapter: str, nonce: str | None
) -> None:
    harness = build(adapter, page_app(html(nonce=nonce)), csp_nonce="csp_nonce")
    block = injected(get(harness).raw)
    assert block.startswith(b"<script>window.dataLayer=")
    assert b"nonce=" not in block


def test_nonce_is_escaped(adapter: str) -> None:
    harness = build(adapter, page_app(html(nonce='a"><b')), csp_nonce="csp_nonce")
    block = injected(get(harness).raw)
    assert b'nonce="a&quot;&gt;&lt;b"' in block
    assert b'"><b' not in block


@pytest.mark.parametrize(
    ("options", "has_defaults", "has_banner"),
    [
        ({}, True, True),
        ({"inject_banner": False}, True, False),
        ({"consent_mode": False}, False, True),
        ({"inject_banner": False, "consent_mode": False}, False, False),
    ],
)
def test_what_is_injected(
    adapter: str, options: dict[str, Any], has_defaults: bool, has_banner: bool
) -> None:
    body = get(build(adapter, page_app(), **options)).raw
    block = injected(body)
    assert (b"gtag('consent','default'" in block) is has_defaults
    assert (BANNER_SRC.search(block.decode()) is not None) is has_banner
    # Trackers are neutralised whatever is injected.
    assert_neutralised(body, GA_EXTERNAL, "analytics")


# -- headers -------------------------------------------------------------------------------


@pytest.mark.parametrize("declared", ["auto", None, 5])
def test_rewritten_page_headers(adapter: str, declared: Any) -> None:
    """Vary and Cache-Control mark the page as per visitor; the app's Content-Length
    (right, missing or even wrong) never reaches the browser unless it is the new length."""
    harness = build(adapter, page_app(html(content_length=declared)))
    result = get(harness)
    assert result.header("vary") == "Cookie, Sec-GPC"
    assert result.header("cache-control") == "private"
    length = result.header("content-length")
    assert length is None or int(length) == len(result.raw)
    assert len(result.raw) > len(TRACKER_PAGE)


def test_app_cache_headers_are_merged(adapter: str) -> None:
    reply = html(headers=[("Cache-Control", "public, max-age=60"), ("Vary", "Accept-Encoding")])
    result = get(build(adapter, page_app(reply)))
    assert result.header("cache-control") == "private, max-age=60"
    assert result.header("vary") == "Accept-Encoding, Cookie, Sec-GPC"
    assert len(result.headers_named("vary")) == 1


# -- after consent -------------------------------------------------------------------------


def test_analytics_consent_keeps_analytics_tags_byte_for_byte(adapter: str) -> None:
    harness = build(adapter, page_app())
    body = get(harness, cookies=with_consent(harness, analytics=True)).raw
    for tag in ANALYTICS_TAGS:
        assert tag in body
    for tag, category in TRACKER_TAGS:
        if category == "advertising":
            assert_neutralised(body, tag, category)
    assert_untracked_bytes_kept(without_injection(body))


def test_everything_accepted_changes_nothing_but_the_injection(adapter: str) -> None:
    harness = build(adapter, page_app(html(nonce="n1")), csp_nonce="csp_nonce")
    everything = {"functional": True, "analytics": True, "advertising": True}
    result = get(harness, cookies=with_consent(harness, **everything))
    assert without_injection(result.raw) == TRACKER_PAGE
    inline = elements(injected(result.raw))[0]
    assert set(consent_default(inline["text"]).values()) == {"granted"}
    assert "ads_data_redaction" not in inline["text"]
    # Still per visitor.
    assert result.header("vary") == "Cookie, Sec-GPC"


def test_advertising_consent_keeps_ad_tags_and_neutralises_analytics(adapter: str) -> None:
    harness = build(adapter, page_app())
    body = get(harness, cookies=with_consent(harness, advertising=True)).raw
    for tag in ADVERTISING_TAGS:
        assert tag in body
    for tag in ANALYTICS_TAGS:
        assert tag not in body


def test_gpc_keeps_ad_tags_neutralised_after_accept_all(adapter: str) -> None:
    harness = build(adapter, page_app())
    cookies = {"consent_mw": harness.token({"analytics": True, "advertising": True})}
    body = get(harness, cookies=cookies, headers={"sec-gpc": "1"}).raw
    assert all(tag in body for tag in ANALYTICS_TAGS)
    assert all(tag not in body for tag in ADVERTISING_TAGS)


# -- streaming -----------------------------------------------------------------------------


@pytest.mark.parametrize("sizes", [[1], [7, 13], [100], [3, 500, 1]])
@pytest.mark.parametrize("consented", [False, True])
def test_chunked_body_gives_the_same_page(
    form: tuple[str, Any], sizes: list[int], consented: bool
) -> None:
    adapter, wsgi = form
    whole = build(adapter, page_app(html(wsgi=wsgi)))
    pieces = build(adapter, page_app(html(chunks=cut(TRACKER_PAGE, sizes), wsgi=wsgi)))
    cookies = with_consent(whole, analytics=True) if consented else None
    expected = get(whole, cookies=cookies)
    result = get(pieces, cookies=cookies)
    assert result.raw == expected.raw
    assert result.header("vary") == expected.header("vary")
    assert len(cut(TRACKER_PAGE, sizes)) > 1


def test_empty_chunks_between_the_pieces(form: tuple[str, Any]) -> None:
    adapter, wsgi = form
    chunks = [b""]
    for piece in cut(TRACKER_PAGE, [50]):
        chunks += [piece, b""]
    expected = get(build(adapter, page_app(html(wsgi=wsgi)))).raw
    assert get(build(adapter, page_app(html(chunks=chunks, wsgi=wsgi)))).raw == expected


# -- HEAD ----------------------------------------------------------------------------------


@pytest.mark.parametrize("head_body", [False, True])
@pytest.mark.parametrize("report", [False, True])
def test_head_has_the_headers_of_get(adapter: str, report: bool, head_body: bool) -> None:
    harness = build(adapter, page_app(html(head_body=head_body)), report_blocked=report)
    got = get(harness)
    head = get(harness, method="HEAD")
    assert head.status == 200

    def comparable(result: RawResult) -> dict[str, str]:
        skip = ("content-length", "x-consent-blocked", "date", "server")
        return {k: v for k, v in result.headers if k not in skip}

    assert comparable(head) == comparable(got)
    # A Content-Length on HEAD must be the one GET would send (RFC 9110 section 8.6).
    length = head.header("content-length")
    assert length is None or int(length) == len(got.raw)
    blocked = head.header("x-consent-blocked")
    assert blocked is None or blocked == got.header("x-consent-blocked")


# -- what is not rewritten -----------------------------------------------------------------


def test_compressed_html_passes_through_untouched(adapter: str) -> None:
    compressed = gzip.compress(TRACKER_PAGE)
    reply = html(chunks=[compressed[:10], compressed[10:]], headers=[("Content-Encoding", "gzip")])
    result = get(build(adapter, page_app(reply)), headers={"accept-encoding": "gzip"})
    assert result.raw == compressed
    assert result.header("content-length") in (None, str(len(compressed)))
    assert result.header("content-encoding") == "gzip"
    assert gzip.decompress(result.raw) == TRACKER_PAGE


@pytest.mark.parametrize("encoding", ["identity", "IDENTITY", ""])
def test_identity_encoding_is_rewritten(adapter: str, encoding: str) -> None:
    reply = html(headers=[("Content-Encoding", encoding)])
    body = get(build(adapter, page_app(reply))).raw
    assert GA_EXTERNAL not in body


@pytest.mark.parametrize(
    ("options", "path", "content_type", "rewritten"),
    [
        ({}, "/admin/page", "text/html; charset=utf-8", True),
        ({"html_exclude_paths": ["/admin"]}, "/admin/page", "text/html; charset=utf-8", False),
        ({"html_exclude_paths": ["/admin"]}, "/admin", "text/html", False),
        ({"html_exclude_paths": ["/admin"]}, "/shop", "text/html", True),
        ({}, "/x", "application/xhtml+xml", True),
        ({"html_exclude_types": ["application/xhtml+xml"]}, "/x", "application/xhtml+xml", False),
        ({"html_exclude_types": ["application/xhtml+xml"]}, "/x", "text/html", True),
        ({"html_exclude_types": ["text/html"]}, "/x", "TEXT/HTML; charset=utf-8", False),
        ({"rewrite_html": False}, "/", "text/html", False),
    ],
)
def test_exclusions(
    adapter: str, options: dict[str, Any], path: str, content_type: str, rewritten: bool
) -> None:
    reply = Reply(chunks=(TRACKER_PAGE,), headers=[("Content-Type", content_type)])
    result = get(build(adapter, page_app(reply), **options), path)
    if rewritten:
        assert GA_EXTERNAL not in result.raw
        assert DEFAULTS_TAG in result.raw
        assert result.header("vary") == "Cookie, Sec-GPC"
    else:
        assert result.raw == TRACKER_PAGE
        assert result.header("content-length") == str(len(TRACKER_PAGE))


@pytest.mark.parametrize("value", ["off", "OFF", " off "])
@pytest.mark.parametrize("report", [False, True])
def test_app_opt_out_header(adapter: str, value: str, report: bool) -> None:
    reply = html(headers=[("X-Consent-Rewrite", value)])
    result = get(build(adapter, page_app(reply), report_blocked=report))
    assert result.raw == TRACKER_PAGE
    assert result.header("x-consent-rewrite") is None
    assert result.header("x-consent-blocked") is None
    assert result.header("content-length") == str(len(TRACKER_PAGE))


def test_opt_out_header_with_another_value_is_removed_and_the_page_rewritten(
    adapter: str,
) -> None:
    reply = html(headers=[("x-consent-rewrite", "on")])
    result = get(build(adapter, page_app(reply)))
    assert result.header("x-consent-rewrite") is None
    assert GA_EXTERNAL not in result.raw


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (
            "application/json",
            b'{"html": "<head></head><script src=\\"https://www.googletagmanager.com/gtag/js\\">"}',
        ),
        ("text/plain; charset=utf-8", TRACKER_PAGE),
        ("text/javascript", b"gtag('config','G-1');fbq('init','1');"),
        ("text/htmlx", TRACKER_PAGE),
        ("image/svg+xml", b'<svg><script href="https://connect.facebook.net/x.js"/></svg>'),
    ],
)
def test_non_html_responses_are_untouched(adapter: str, content_type: str, body: bytes) -> None:
    reply = Reply(chunks=(body[:5], body[5:]), headers=[("Content-Type", content_type)])
    result = get(build(adapter, page_app(reply), report_blocked=True))
    assert result.raw == body
    assert result.header("content-length") == str(len(body))
    assert result.header("vary") is None
    assert result.header("cache-control") is None
    assert result.header("x-consent-blocked") is None


def test_html_without_a_head_gets_the_injection_once(adapter: str) -> None:
    fragment = b"<p>partial</p>" + GA_EXTERNAL
    body = get(build(adapter, page_app(html(fragment)))).raw
    assert body.count(DEFAULTS_TAG) == 1
    assert GA_EXTERNAL not in body
    assert b"<p>partial</p>" in body


def test_empty_html_body(adapter: str) -> None:
    result = get(build(adapter, page_app(html(b""))))
    assert result.status == 200
    assert result.raw.count(DEFAULTS_TAG) <= 1


# -- compress_html -------------------------------------------------------------------------


@pytest.mark.parametrize("sizes", [[len(TRACKER_PAGE)], [9, 31]])
@pytest.mark.parametrize("report", [False, True])
def test_compress_html_gives_a_valid_gzip_of_the_rewritten_page(
    form: tuple[str, Any], sizes: list[int], report: bool
) -> None:
    adapter, wsgi = form
    plain = get(build(adapter, page_app())).raw
    harness = build(
        adapter,
        page_app(html(chunks=cut(TRACKER_PAGE, sizes), wsgi=wsgi)),
        compress_html=True,
        report_blocked=report,
    )
    result = get(harness, headers={"accept-encoding": "br, gzip;q=0.8"})
    assert result.header("content-encoding") == "gzip"
    assert "Accept-Encoding" in (result.header("vary") or "")
    assert "Cookie" in (result.header("vary") or "")
    assert result.raw[:2] == b"\x1f\x8b"
    assert gzip.decompress(result.raw) == plain
    if report:
        assert result.header("x-consent-blocked") == "7"
        assert result.header("content-length") == str(len(result.raw))


def test_compress_html_without_gzip_in_accept_encoding(adapter: str) -> None:
    plain = get(build(adapter, page_app())).raw
    result = get(build(adapter, page_app(), compress_html=True), headers={"accept-encoding": "br"})
    assert result.header("content-encoding") is None
    assert result.raw == plain


def test_compress_html_merges_vary_with_the_apps(adapter: str) -> None:
    reply = html(headers=[("Vary", "Accept-Encoding, User-Agent")])
    harness = build(adapter, page_app(reply), compress_html=True)
    result = get(harness, headers={"accept-encoding": "gzip"})
    vary = {v.strip().lower() for line in result.headers_named("vary") for v in line.split(",")}
    assert vary == {"accept-encoding", "user-agent", "cookie", "sec-gpc"}
    assert gzip.decompress(result.raw).count(DEFAULTS_TAG) == 1


def test_compress_html_leaves_non_html_alone(adapter: str) -> None:
    reply = Reply(chunks=(b"hello",), headers=[("Content-Type", "text/plain")])
    result = get(
        build(adapter, page_app(reply), compress_html=True), headers={"accept-encoding": "gzip"}
    )
    assert result.header("content-encoding") is None
    assert result.raw == b"hello"


# -- report mode ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choices", "blocked"),
    [
        ({}, len(TRACKER_TAGS)),
        ({"analytics": True}, len(ADVERTISING_TAGS)),
        ({"advertising": True}, len(ANALYTICS_TAGS)),
        ({"functional": True, "analytics": True, "advertising": True}, 0),
    ],
)
def test_report_mode_counts_the_neutralised_elements(
    form: tuple[str, Any], choices: dict[str, bool], blocked: int
) -> None:
    adapter, wsgi = form
    plain = build(adapter, page_app())
    cookies = with_consent(plain, **choices) if choices else None
    expected = get(plain, cookies=cookies).raw
    reply = html(chunks=cut(TRACKER_PAGE, [64]), wsgi=wsgi, content_length=len(TRACKER_PAGE))
    harness = build(adapter, page_app(reply), report_blocked=True)
    result = get(harness, cookies=cookies)
    assert result.header("x-consent-blocked") == str(blocked)
    assert result.raw == expected
    assert result.header("content-length") == str(len(expected))
    assert result.header("vary") == "Cookie, Sec-GPC"


# -- /_consent/defaults.js: per visitor, never stored (pages injected before the default
# had a URL per decision may still ask for it; see test_inline_default.py for that URL) --


@pytest.mark.parametrize(
    ("choices", "headers", "granted", "redaction"),
    [
        (None, {}, {"security_storage"}, True),
        ({"analytics": True}, {}, {"security_storage", "analytics_storage"}, True),
        (
            {"functional": True, "analytics": True, "advertising": True},
            {},
            {
                "security_storage",
                "analytics_storage",
                "functionality_storage",
                "personalization_storage",
                "ad_storage",
                "ad_user_data",
                "ad_personalization",
            },
            False,
        ),
        (
            {"functional": True, "analytics": True, "advertising": True},
            {"sec-gpc": "1"},
            {
                "security_storage",
                "analytics_storage",
                "functionality_storage",
                "personalization_storage",
            },
            True,
        ),
    ],
)
def test_defaults_js_per_visitor(
    adapter: str,
    choices: dict[str, bool] | None,
    headers: dict[str, str],
    granted: set[str],
    redaction: bool,
) -> None:
    harness = build(adapter, page_app())
    cookies = with_consent(harness, **choices) if choices else None
    result = get(harness, "/_consent/defaults.js", cookies=cookies, headers=headers)
    assert result.status == 200
    assert result.header("content-type") == "text/javascript; charset=utf-8"
    assert result.header("cache-control") == "no-store"
    assert "Cookie" in (result.header("vary") or "")
    assert "Sec-GPC" in (result.header("vary") or "")
    script = result.raw.decode()
    modes = consent_default(script)
    assert list(modes) == list(ALL_DENIED_BUT_SECURITY)
    assert {k for k, v in modes.items() if v == "granted"} == granted
    assert ("ads_data_redaction" in script) is redaction
    assert script.startswith("window.dataLayer=window.dataLayer||[];function gtag(){")


def test_defaults_js_matches_the_inline_default(adapter: str) -> None:
    """Nonce or not, a visitor gets the same Consent Mode default."""
    harness = build(adapter, page_app(html(nonce="n")), csp_nonce="csp_nonce")
    cookies = with_consent(harness, analytics=True)
    inline = elements(injected(get(harness, cookies=cookies).raw))[0]["text"]
    script = get(harness, "/_consent/defaults.js", cookies=cookies).raw.decode()
    assert inline == script


# -- the app's own tags and other shapes ---------------------------------------------------


def test_marked_element_of_a_custom_category(adapter: str) -> None:
    """An author's mark wins over the registry, also for a policy's own category."""
    tag = b'<script data-consent-category="chat" src="https://widget.chat.example/w.js"></script>'
    page = HEAD_START + b"</head><body>" + tag + META_NOSCRIPT + b"</body></html>"
    harness = build(adapter, page_app(html(page)), policy="custom")
    body = get(harness).raw
    assert tag not in body
    assert b'data-consent-src="https://widget.chat.example/w.js"' in body
    consented = get(harness, cookies=with_consent(harness, chat=True)).raw
    assert tag in consented


@pytest.mark.parametrize("status", [404, 500])
def test_error_pages_are_rewritten_too(adapter: str, status: int) -> None:
    reply = html(status=status)
    result = get(build(adapter, page_app(reply)))
    assert result.status == status
    assert GA_INLINE not in result.raw and META_INLINE not in result.raw
    assert KAKAO not in result.raw and NAVER not in result.raw
    assert AUTHOR_MARKED not in result.raw


def test_asgi_pathsend_is_hidden_so_html_files_are_rewritten() -> None:
    """A file sent by path (``http.response.pathsend``) would skip the rewriter: the app
    does not see the extension and sends a body instead."""
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(dict(scope.get("extensions") or {}))
        start = {"type": "http.response.start", "status": 200}
        await send({**start, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": TRACKER_PAGE})

    middleware = ConsentMiddleware(app, policy="gdpr", secret_key=SECRET, store=MemoryStore())
    scope = http_scope("/")
    scope["extensions"] = {"http.response.pathsend": {}, "http.response.trailers": {}}
    call = run_asgi(middleware, scope)
    assert seen == [{"http.response.trailers": {}}]
    assert "http.response.pathsend" in scope["extensions"]  # the server's scope is not changed
    body = b"".join(m.get("body", b"") for m in call.of_type("http.response.body"))
    assert GA_EXTERNAL not in body and DEFAULTS_TAG in body
