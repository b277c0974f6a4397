"""A rewritten page that the app hands over whole leaves with its Content-Length (no
chunked framing for the server to do); one streamed in pieces streams on without one.
Both adapters; the harness checks that a length sent is the body's."""

from __future__ import annotations

import pytest

from support.html_apps import TRACKER_PAGE, AppRequest, RawResult, Reply, build, html


@pytest.fixture(params=["asgi", "wsgi"])
def adapter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def served(adapter: str, reply: Reply, **options: object) -> RawResult:
    def handler(request: AppRequest) -> Reply:
        return reply

    result = build(adapter, handler, **options).request("GET", "/")
    assert isinstance(result, RawResult)
    return result


@pytest.mark.parametrize("options", [{}, {"report_blocked": True}])
def test_a_whole_body_gets_its_length(adapter: str, options: dict[str, object]) -> None:
    result = served(adapter, html(), **options)
    assert result.header("content-length") == str(len(result.raw))
    assert b"data-consent-category" in result.raw
    again = served(adapter, html(), **options)  # from the memo of pages
    assert again.raw == result.raw and again.header("content-length") == str(len(again.raw))


def test_a_streamed_body_streams_without_one(adapter: str) -> None:
    half = len(TRACKER_PAGE) // 2
    result = served(adapter, html(chunks=[TRACKER_PAGE[:half], TRACKER_PAGE[half:]]))
    if adapter == "asgi":  # (WebTest supplies a length to a WSGI response without one)
        assert result.header("content-length") is None
    assert result.raw == served(adapter, html()).raw


@pytest.mark.parametrize(
    "extra",
    [
        [],
        [("ETag", '"v1"')],
        [("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT")],
        [("content-length", str(len(TRACKER_PAGE)))],  # sent twice
    ],
)
def test_the_apps_length_gives_way_to_the_rewritten_bodys(
    adapter: str, extra: list[tuple[str, str]]
) -> None:
    # The app's Content-Length is the page's before rewriting: dropped wherever it is
    # among the headers (and every copy of it), the rewritten body's sent instead.
    headers = [("Content-Length", str(len(TRACKER_PAGE))), *extra, ("X-After", "1")]
    for _ in range(2):  # rewritten, then from the memo of pages
        result = served(adapter, html(headers=headers))
        assert result.headers_named("content-length") == [str(len(result.raw))]
        assert len(result.raw) != len(TRACKER_PAGE) and result.header("x-after") == "1"
        assert result.header("last-modified") is None
