"""What both adapters hold: the engine and endpoints of each policy version, the
ledger and the recorder. Framework-free; the adapters only add I/O."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import Any

from .core.audit import CookieAudit
from .core.config import Config
from .core.engine import Engine, Visit
from .core.host_audit import HostAudit
from .core.recorder import Recorder
from .policy.schedule import PolicySchedule, Version
from .web.endpoints import Endpoints
from .web.routes import consent_routes

__all__ = ["Runtime"]


class Runtime:
    """One per middleware instance; ``current()`` answers which version is in force."""

    def __init__(self, config: Config) -> None:
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
        )
        audit = CookieAudit(self.recorder.note)
        hosts = HostAudit(self.recorder.note, self.schedule.versions[-1].policy.matcher)
        for engine, _ in self._pairs:
            engine.audit = audit
            engine.host_audit = hosts
        self._current = self._pairs[0]
        self._valid_until = 0.0

    def response_started(
        self, engine: Engine, visit: Visit, status: int, *, error_page: bool = False
    ) -> None:
        """The one place that decides what a visit leaves for the recorder, called by both
        adapters when the app's response starts (its status is known): a hit to record
        (``record_requests``) and a sign-in to link. An error page put in the place of a
        started response (WSGI's ``exc_info``) is not the visit's answer and leaves
        nothing. Only a queue append: the recorder writes later, off the response path."""
        decision = visit.decision
        user = decision._login_user
        if error_page or not (self.config.record_requests or user is not None):
            return
        if self.config.record_requests and self.recorder.wants(visit.facts.path):
            self.recorder.add(engine.hit(visit, status))
        consent = decision._verdict.consent
        if user is not None and consent is not None:
            self.recorder.link(consent.id, user)

    def current(self) -> tuple[Engine, Endpoints]:
        """The engine and endpoints of the version in force now (checked once a minute
        at most: versions change on a date)."""
        if len(self._pairs) == 1:
            return self._current
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
