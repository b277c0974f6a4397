"""What both adapters share: :class:`Adapter`, the base of ``ConsentMiddleware`` and
``WSGIConsentMiddleware`` (options, the public attributes, what a visit leaves, the
endpoint answers, the held HTML body) over :class:`Runtime` (the engine and endpoints
of each policy version, the start of each visit, the ledger and the recorder).
Protocol-free: the adapters add only the I/O (scope or environ in, messages or
``start_response`` out)."""

from __future__ import annotations

import atexit
import dataclasses
import datetime as dt
import time
from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar, Generic, TypeVar, Unpack

from .core.audit import CookieAudit
from .core.config import Config
from .core.engine import Engine, Visit
from .core.facts import RequestFacts
from .core.host_audit import HostAudit
from .core.options import Options, PolicySource, SecretKey, StoreSource
from .core.recorder import Recorder
from .exceptions import StoreError
from .html.body import REPORT_HEADER, HTMLBody, plan_html
from .policy.schedule import PolicySchedule, Version
from .web.endpoints import Endpoints
from .web.responses import Response, Result, StoreCall, unavailable
from .web.routes import consent_routes

__all__ = ["Adapter", "RewrittenBody", "Runtime", "carried_cookies", "declared_length"]

Headers = list[tuple[bytes, bytes]]
App = TypeVar("App")
Request = TypeVar("Request")

#: the body a CSP report request may have, whatever max_body_size says
REPORT_BODY_LIMIT = 64 * 1024

#: the methods whose body an endpoint reads
_BODY_METHODS = frozenset(("POST", "PUT", "PATCH", "DELETE"))


class Runtime:
    """One per middleware instance; ``current()`` answers which version is in force,
    ``begin()`` starts a visit under it."""

    def __init__(self, config: Config, *, on_loop: bool = False) -> None:
        self.config = config
        self.store = config.store
        self.schedule = PolicySchedule(config.versions or (config.policy,))
        self._pairs: list[tuple[Engine, Endpoints]] = []
        for version in self.schedule.versions:
            engine = Engine(dataclasses.replace(config, policy=version.policy))
            self._pairs.append((engine, consent_routes(engine, pending=self.pending_change)))
        self.recorder = Recorder(
            self.store,
            self.schedule.versions[-1].policy,
            exclude_paths=config.record_exclude_paths,
            ip_mode=config.ip_mode,
            parser=lambda: self.engine.device_parser,
            on_loop=on_loop,
        )
        audit = CookieAudit(self.recorder.note)
        self.host_audit = hosts = HostAudit(
            self.recorder.note, self.schedule.versions[-1].policy.matcher
        )
        for engine, _ in self._pairs:
            engine.audit = audit
            engine.host_audit = hosts
        self._current = self._pairs[0]
        self._single = len(self._pairs) == 1
        self._valid_until = 0.0

    def begin(self, facts: RequestFacts) -> tuple[Engine, Endpoints, Visit, bool]:
        """A request arrives (the adapters' first step): ``(engine, endpoints, visit,
        whether the request is for our endpoints)`` under the version in force."""
        engine, endpoints = self._current if self._single else self._in_force()
        if self.config.trust_forwarded:
            facts.trust_forwarded()
        path = facts.path
        # The prefix test first: it is all most requests need, and costs no call.
        for_us = path.startswith(engine.endpoint_starts) and engine.is_endpoint(path)
        return engine, endpoints, engine.begin(facts), for_us

    def close(self) -> None:
        """Write what is still counted or queued, then stop the recorder (at shutdown)."""
        self.host_audit.flush()
        self.recorder.close()

    def current(self) -> tuple[Engine, Endpoints]:
        """The engine and endpoints of the version in force now (checked once a minute
        at most: versions change on a date)."""
        return self._current if self._single else self._in_force()

    def _in_force(self) -> tuple[Engine, Endpoints]:
        now = time.time()
        if now >= self._valid_until:
            today = dt.datetime.fromtimestamp(now, dt.UTC).date()
            self._current = self._pairs[self.schedule.index(today)]
            self._valid_until = now + 60
        return self._current

    @property
    def engine(self) -> Engine:
        return self.current()[0]

    @property
    def endpoints(self) -> Endpoints:
        return self.current()[1]

    def pending_change(self) -> dict[str, Any] | None:
        """The coming version, for the banner's change notice (None: no change announced)."""
        today = dt.datetime.now(dt.UTC).date()
        version: Version | None = self.schedule.upcoming(today)
        if version is None or version.effective is None:
            return None
        return {
            "version": version.policy.version,
            "effective": version.effective.isoformat(),
            "major": version.major,
        }


class Adapter(Generic[App]):
    """The middleware both protocols share; a subclass adds only the protocol glue.

    Options are keyword-only and the same for both (see :class:`~consent_mw.config.Config`).
    """

    #: whether the protocol tells the app it shuts down (ASGI's lifespan); without it
    #: (WSGI) the recorder's queue is flushed when the process exits. With it, full
    #: batches of hits are written on the server's event loop (``Recorder.on_loop``):
    #: the shutdown waits for the one being written.
    _has_lifespan: ClassVar[bool] = True

    def __init__(
        self,
        app: App,
        *,
        policy: PolicySource,
        secret_key: SecretKey,
        store: StoreSource = None,
        **options: Unpack[Options],
    ) -> None:
        self.app = app
        self.config = Config.build(policy=policy, secret_key=secret_key, store=store, **options)
        self.runtime = Runtime(self.config, on_loop=self._has_lifespan)
        self.store = self.config.store
        self.recorder = self.runtime.recorder
        self._report_path = self.config.prefix + "/csp-report"
        if not self._has_lifespan:
            atexit.register(self.runtime.close)

    @property
    def engine(self) -> Engine:
        """The engine of the policy version in force now."""
        return self.runtime.engine

    @property
    def endpoints(self) -> Endpoints:
        return self.runtime.endpoints

    def _response_start(
        self,
        engine: Engine,
        visit: Visit,
        status: int,
        headers: Headers,
        request: Any,
        error_page: bool = False,
    ) -> tuple[HTMLBody | None, Headers]:
        """The app's response starts (its status known): the visit is left for the
        recorder, consent applied to the headers and the HTML body planned. Returns
        ``(the body rewriter or None, the headers)``, ``headers`` itself when unchanged;
        ``request`` (the scope or environ) is what :meth:`nonce` reads.

        The one place that decides what a visit leaves for the recorder: a hit to record
        (``record_requests``) and a sign-in to link. An error page put in the place of a
        started response (WSGI's ``exc_info``) is not the visit's answer and leaves
        nothing. Only a queue append: the recorder writes later, off the response path."""
        decision = visit.decision
        user = decision._login_user
        record = self.config.record_requests
        if (record or user is not None) and not error_page:
            if record and self.recorder.wants(visit.facts.path):
                self.recorder.add(engine.hit(visit, status))
            consent = decision._verdict.consent
            if user is not None and consent is not None:
                self.recorder.link(consent.id, user)
        new = engine.response_headers(visit, headers)
        planned = headers if new is None else new
        if visit.content_type is None and visit.revalidated is None:
            return None, planned
        # partial, not a lambda: a closure would cost this call two cells on every response.
        return plan_html(engine, visit, planned, partial(self.nonce, request), status)

    def nonce(self, request: Any) -> str | None:
        """The CSP nonce of this response, for the tags the middleware injects."""
        raise NotImplementedError  # each adapter reads its own request (scope or environ)

    def _nonce(self, request: Request, named: Callable[[Request, str], object]) -> str | None:
        """Option ``csp_nonce``: a callable given the request, or a key ``named`` looks up."""
        source = self.config.csp_nonce
        if source is None:
            return None
        value = source(request) if callable(source) else named(request, source)
        return value if isinstance(value, str) and value else None

    @staticmethod
    def _reads_body(visit: Visit) -> bool:
        """Whether the endpoint request's body is read (and so limited)."""
        return visit.facts.method in _BODY_METHODS

    def _body_limit(self, visit: Visit) -> int:
        """The largest body an endpoint reads: ``max_body_size``, and at least
        :data:`REPORT_BODY_LIMIT` for browsers' CSP reports (a Reporting API batch
        repeats the whole policy in each of its reports)."""
        limit = self.config.max_body_size
        if visit.facts.path == self._report_path:
            return max(limit, REPORT_BODY_LIMIT)
        return limit

    def _run_calls(self, result: Result) -> Response:
        """Run the store calls an endpoint asks for, in this thread; 503 if the ledger
        is down."""
        while isinstance(result, StoreCall):
            try:
                value = result.run(self.store)
            except StoreError:
                return unavailable()
            result = result.then(value)
        return result

    async def _arun_calls(self, result: Result) -> Response:
        """:meth:`_run_calls` through the store's async face."""
        while isinstance(result, StoreCall):
            try:
                value = await result.arun(self.store)
            except StoreError:
                return unavailable()
            result = result.then(value)
        return result

    @staticmethod
    def _dispatch(endpoints: Endpoints, visit: Visit, body: bytes | None) -> Result:
        """The endpoint's answer to the request; ``body`` None: it was over the limit."""
        return endpoints.too_large() if body is None else endpoints.dispatch(visit, body)

    @staticmethod
    def _reply(engine: Engine, visit: Visit, response: Response) -> tuple[Headers, bytes]:
        """An endpoint's answer as sent: its headers (with the length, consent applied)
        and its body (none for HEAD)."""
        # A 304 has no body; its length, if sent, would have to be the 200's (RFC 9110
        # section 8.6), so none is sent.
        length = [] if response.status == 304 else [("content-length", str(len(response.body)))]
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in [*response.headers, *length]
        ]
        headers = engine.response_headers(visit, headers) or headers
        return headers, b"" if visit.facts.method == "HEAD" else response.body


def carried_cookies(response: Response) -> list[tuple[str, str]]:
    """At sign-in, the cookies that carry the user's earlier choice to this browser."""
    return [(name, value) for name, value in response.headers if name == "set-cookie"]


def declared_length(value: str | None) -> int | None:
    """A request's Content-Length, None when absent or not a plain number."""
    if value and value.isascii() and value.isdigit():
        return int(value)
    return None


class RewrittenBody:
    """An HTML body rewritten on its way out: streamed, or in report mode (``hold``)
    held whole until its end, for its count of blocked tags and its length to go in
    the headers."""

    __slots__ = ("body", "chunks")

    def __init__(self, body: HTMLBody) -> None:
        self.body = body
        self.chunks: list[bytes] | None = [] if body.hold else None

    @property
    def hold(self) -> bool:
        return self.chunks is not None

    def feed(self, data: bytes) -> bytes:
        """What to send now of ``data`` rewritten (nothing while held)."""
        out = self.body.feed(data)
        if self.chunks is None:
            return out
        self.chunks.append(out)
        return b""

    def whole(self, data: bytes) -> bytes:
        """``feed(data)`` then ``close()``, for a body that is ``data`` alone."""
        out = self.body.whole(data)
        if self.chunks is None:
            return out
        self.chunks.append(out)
        return b""

    def close(self) -> bytes:
        """The end of the rewritten body (nothing while held: see :meth:`held`)."""
        tail = self.body.close()
        if self.chunks is None:
            return tail
        self.chunks.append(tail)
        return b""

    def held(self) -> tuple[Headers, bytes]:
        """Once closed, in report mode: the headers to add and the whole body."""
        content = b"".join(self.chunks or ())
        extra = [
            (REPORT_HEADER, str(self.body.blocked).encode()),
            (b"content-length", str(len(content)).encode()),
        ]
        return extra, content
