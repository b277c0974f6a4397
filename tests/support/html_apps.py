"""App-side helpers for tests that need their own app behind either middleware.

A test describes what its app does once, as a ``handler(AppRequest) -> Reply``
function; :func:`build` puts the same handler behind the ASGI adapter (a raw
ASGI app that sends each body chunk as its own message) or the WSGI adapter
(a list, a generator that calls ``start_response`` on its first iteration, or
the legacy ``write()`` callable). The harnesses are the ones from
:mod:`support.harness`; :class:`RawResult` adds the body bytes exactly as they went
over the wire (no gzip decoding), and every result is checked for a
Content-Length that disagrees with the body.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import webtest
from webtest import lint

from consent_mw import ConsentMiddleware, MemoryStore, WSGIConsentMiddleware
from consent_mw.core.consent import Decision
from consent_mw.html import native
from consent_mw.html.scan import ScanState
from support.harness import (
    CLIENT_IP,
    HOST,
    SECRET,
    ASGIHarness,
    Harness,
    Result,
    WSGIHarness,
    _parse_body,
    custom_policy_dict,
)

#: The state / environ key the tests' apps put their CSP nonce under.
NONCE_KEY = "csp_nonce"

# -- a page with tracker tags --------------------------------------------------------------

GA_EXTERNAL = b'<script async src="https://www.googletagmanager.com/gtag/js?id=G-TEST1"></script>'
GA_INLINE = (
    b"<script>window.dataLayer=window.dataLayer||[];"
    b"function gtag(){dataLayer.push(arguments);}gtag('js',new Date());"
    b"gtag('config','G-TEST1');</script>"
)
META_INLINE = (
    b"<script>!function(f,b,e,v,n,t,s){n=f.fbq=function(){};t=b.createElement(e);"
    b"t.src=v;s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}"
    b"(window,document,'script','https://connect.facebook.net/en_US/fbevents.js');"
    b"fbq('init','1234567890');fbq('track','PageView');</script>"
)
META_NOSCRIPT = (
    b'<noscript><img height="1" width="1" style="display:none" '
    b'src="https://www.facebook.com/tr?id=1234567890&amp;ev=PageView&amp;noscript=1"/></noscript>'
)
KAKAO = (
    b'<script type="text/javascript" charset="UTF-8" '
    b'src="//t1.daumcdn.net/kas/static/kp.js"></script>'
)
NAVER = b'<script type="text/javascript" src="//wcs.naver.net/wcslog.js"></script>'
AUTHOR_MARKED = b'<script data-consent-category="analytics">window.heatmap = true;</script>'
OWN_SCRIPT = b'<script src="/static/app.js"></script>'

#: (tag, category) for every tracker element on :data:`TRACKER_PAGE`
TRACKER_TAGS: tuple[tuple[bytes, str], ...] = (
    (GA_EXTERNAL, "analytics"),
    (GA_INLINE, "analytics"),
    (META_INLINE, "advertising"),
    (META_NOSCRIPT, "advertising"),
    (KAKAO, "advertising"),
    (NAVER, "analytics"),
    (AUTHOR_MARKED, "analytics"),
)
HEAD_START = b'<!doctype html>\n<html lang="en"><head>'
TRACKER_PAGE = (
    HEAD_START
    + b'<meta charset="utf-8"><title>Shop</title>'
    + GA_EXTERNAL
    + GA_INLINE
    + META_INLINE
    + b"</head><body><h1>Hello \xea\xb0\x80\xea\xb2\x8c</h1>"
    + META_NOSCRIPT
    + KAKAO
    + NAVER
    + AUTHOR_MARKED
    + OWN_SCRIPT
    + b"<p>bye</p></body></html>\n"
)


# -- user agents ---------------------------------------------------------------------------

ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918N) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.2 Mobile/15E148 Safari/604.1"
)
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def flip_case(html: bytes, flips: list[bool]) -> bytes:
    """``html`` with the ASCII letter at each position whose flag is set in the other case."""
    return bytes(
        c ^ 0x20 if 0x61 <= c | 0x20 <= 0x7A and flips[i % len(flips)] else c
        for i, c in enumerate(html)
    )


Skim = Callable[[ScanState, bytes, int, bool], tuple[int, int, int, int]]
#: the rewriter's two implementations of its pass-through steps, by the
#: ``html_steps`` fixture's names: the module each skim() comes from
HTML_STEPS = {"c": "consent_mw.html._speedups", "python": "consent_mw.html._pure"}


@contextlib.contextmanager
def rewriter_steps(skim: Skim) -> Iterator[None]:
    """The rewriter takes its pass-through steps with ``skim`` (the C extension's,
    a build of it, or the pure-Python twin) inside the block."""
    saved = native.skim
    native.skim = skim
    try:
        yield
    finally:
        native.skim = saved


def cut(data: bytes, sizes: Sequence[int]) -> list[bytes]:
    """``data`` cut into pieces of the given sizes (cycled), the last one taking the rest."""
    pieces: list[bytes] = []
    at = index = 0
    while at < len(data):
        size = sizes[index % len(sizes)]
        pieces.append(data[at : at + size])
        at += size
        index += 1
    return pieces


# -- the app -------------------------------------------------------------------------------


@dataclass
class AppRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    consent: Decision


WSGIMode = Literal["list", "generator", "write"]


@dataclass
class Reply:
    """What the app answers: the body as chunks, sent one message / item at a time."""

    chunks: Sequence[bytes] = (b"",)
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    #: put into the ASGI scope state / the WSGI environ under :data:`NONCE_KEY`
    nonce: str | None = None
    #: how a WSGI app hands its body over
    wsgi: WSGIMode = "list"
    #: the Content-Length the app declares (None: none). By default the body's length.
    content_length: int | None | Literal["auto"] = "auto"
    #: whether an ASGI app sends its body on HEAD too (Starlette's Response does, its
    #: FileResponse does not; servers drop it)
    head_body: bool = False

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def header_list(self, method: str) -> list[tuple[str, str]]:
        headers = list(self.headers)
        length = len(self.body) if self.content_length == "auto" else self.content_length
        if length is not None:
            headers.append(("Content-Length", str(length)))
        return headers


def html(
    body: bytes = TRACKER_PAGE, *, chunks: Sequence[bytes] | None = None, **kwargs: Any
) -> Reply:
    """An HTML reply (``text/html; charset=utf-8``) with extra ``headers`` appended."""
    headers = [("Content-Type", "text/html; charset=utf-8"), *kwargs.pop("headers", [])]
    return Reply(chunks=tuple(chunks) if chunks is not None else (body,), headers=headers, **kwargs)


Handler = Callable[[AppRequest], Reply]


def asgi_app(handler: Handler) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while True:  # read the request body, as a real app would
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        request = AppRequest(
            scope["method"],
            scope["path"],
            scope["query_string"].decode("latin-1"),
            headers,
            scope["consent"],
        )
        reply = handler(request)
        if reply.nonce is not None:
            scope["state"][NONCE_KEY] = reply.nonce
        raw = [
            (k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in reply.header_list(scope["method"])
        ]
        await send({"type": "http.response.start", "status": reply.status, "headers": raw})
        head = scope["method"] == "HEAD" and not reply.head_body
        chunks = [b""] if head else list(reply.chunks) or [b""]
        for index, chunk in enumerate(chunks):
            more = index < len(chunks) - 1
            await send({"type": "http.response.body", "body": chunk, "more_body": more})

    return app


def _status_line(status: int) -> str:
    from http import HTTPStatus

    return f"{status} {HTTPStatus(status).phrase}"


def wsgi_app(handler: Handler) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        headers = {
            k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")
        }
        request = AppRequest(
            environ["REQUEST_METHOD"],
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
            headers,
            environ["consent_mw.consent"],
        )
        reply = handler(request)
        if reply.nonce is not None:
            environ[NONCE_KEY] = reply.nonce
        status = _status_line(reply.status)
        header_list = reply.header_list(environ["REQUEST_METHOD"])
        chunks = list(reply.chunks)
        if reply.wsgi == "generator":

            def generate() -> Iterator[bytes]:
                # start_response on the first iteration, as a generator app does.
                start_response(status, header_list)
                yield from chunks

            return generate()
        if reply.wsgi == "write":
            write = start_response(status, header_list)
            for chunk in chunks[:-1]:
                write(chunk)
            return chunks[-1:]
        start_response(status, header_list)
        return chunks

    return app


# -- harnesses with the raw body -----------------------------------------------------------


@dataclass
class RawResult(Result):
    raw: bytes = b""

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8")


def _check_length(method: str, result: RawResult) -> None:
    """A Content-Length that is sent must be the body's length (never a wrong one)."""
    lengths = result.headers_named("content-length")
    assert len(lengths) <= 1, lengths
    if lengths and method != "HEAD":
        assert int(lengths[0]) == len(result.raw), (lengths, len(result.raw))


class RawASGIHarness(ASGIHarness):
    def _send(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None,
        scheme: str,
        host: str,
    ) -> Result:
        self.client.cookies.clear()
        # Ask for nothing unless the test does (httpx would add gzip, webtest adds nothing).
        headers = {"accept-encoding": "identity", **headers}
        with self.client.stream(
            method, f"{scheme}://{host}{path}", headers=headers, content=body
        ) as response:
            raw = b"".join(response.iter_raw())
        result = RawResult(
            response.status_code,
            [(k.lower(), v) for k, v in response.headers.multi_items()],
            None,
            raw,
        )
        _check_length(method, result)
        if "gzip" not in (result.header("content-encoding") or ""):
            result.body = _parse_body(response.headers.get("content-type"), raw)
        return result


class RawWSGIHarness(WSGIHarness):
    def _send(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None,
        scheme: str,
        host: str,
    ) -> Result:
        # support.harness's WSGIHarness._send, keeping the raw body (it may be gzip).
        request = webtest.TestRequest.blank(
            f"{scheme}://{host}{path}", environ={"REMOTE_ADDR": CLIENT_IP}
        )
        request.method = method
        request.environ["HTTP_HOST"] = host
        for name, value in headers.items():
            if name == "content-type":
                request.environ["CONTENT_TYPE"] = value
            else:
                request.headers[name] = value
        if body is not None:
            request.body = body
        # Not TestApp.do_request: it would gunzip the body and drop Content-Encoding.
        response = request.get_response(lint.middleware(self.middleware), catch_exc_info=True)
        raw = response.body
        result = RawResult(
            response.status_int, [(k.lower(), v) for k, v in response.headerlist], None, raw
        )
        _check_length(method, result)
        if "gzip" not in (result.header("content-encoding") or ""):
            result.body = _parse_body(response.content_type, raw)
        return result


def build(
    kind: str,
    handler: Handler,
    *,
    store: Any = None,
    policy: Any = "gdpr",
    secret_key: str = SECRET,
    **options: Any,
) -> Harness:
    """``handler`` behind the ``kind`` (``"asgi"`` or ``"wsgi"``) middleware."""
    store = MemoryStore() if store is None else store
    if policy == "custom":
        policy = custom_policy_dict()
    if kind == "asgi":
        middleware = ConsentMiddleware(
            asgi_app(handler), policy=policy, secret_key=secret_key, store=store, **options
        )
        return RawASGIHarness(middleware)
    wsgi = WSGIConsentMiddleware(
        wsgi_app(handler), policy=policy, secret_key=secret_key, store=store, **options
    )
    return RawWSGIHarness(wsgi)


__all__ = [
    "ANDROID_PHONE",
    "GOOGLEBOT",
    "IPAD",
    "WINDOWS_CHROME",
    "CLIENT_IP",
    "HOST",
    "NONCE_KEY",
    "TRACKER_PAGE",
    "TRACKER_TAGS",
    "AppRequest",
    "Handler",
    "RawResult",
    "Reply",
    "build",
    "cut",
    "html",
]
