"""The shipped tracker registry: hundreds of vendors' cookies and hosts from open data.

``data/registry.json`` is written by ``scripts/build_registry.py`` from the Open Cookie
Database, EasyPrivacy, EasyList and List-KR (licences and what was changed:
``data/NOTICE``). It is read on first use, when the first policy is built, not on
import, and shared by every policy of the process. Each policy's matcher consults it
after the hand-written entries (:data:`~consent_mw.policy.trackers.BUILTIN_TRACKERS`)
and the policy's own, and a policy entry with a vendor's ``owner`` replaces that
vendor whole (an entry with no cookies and no hosts turns it off).

See docs/registry.md for what is taken from each source and what is kept out.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from .trackers import Matcher, Tracker

__all__ = ["Registry", "Source", "registry"]


@dataclass(frozen=True)
class Source:
    """One open-data source the registry was built from."""

    name: str
    licence: str
    revision: str
    sha256: str


@dataclass(frozen=True)
class Registry:
    """The shipped registry: its vendors, the matcher over them, and where they came from."""

    trackers: tuple[Tracker, ...]
    matcher: Matcher
    sources: tuple[Source, ...]
    #: SHA-256 of the rules the data were converted with (scripts/registry_rules.toml)
    rules: str = ""

    @property
    def version(self) -> str:
        """A digest of the sources' contents and the rules: it changes whenever the data do."""
        digest = hashlib.sha256("".join([*(s.sha256 for s in self.sources), self.rules]).encode())
        return digest.hexdigest()[:12]

    def summary(self) -> dict[str, Any]:
        """Version, sources and counts, as the audit and ``consent-mw registry`` show them."""
        return {
            "version": self.version,
            "vendors": len(self.trackers),
            "cookies": sum(len(t.cookies) for t in self.trackers),
            "hosts": sum(len(t.hosts) for t in self.trackers),
            "sources": [
                {"name": s.name, "licence": s.licence, "revision": s.revision} for s in self.sources
            ],
        }


@cache
def registry() -> Registry:
    """The shipped registry, read once per process."""
    raw = resources.files(__package__).joinpath("data", "registry.json").read_bytes()
    data = json.loads(raw)
    trackers = tuple(
        Tracker(
            owner=entry["owner"],
            category=entry["category"],
            cookies=tuple(entry.get("cookies", ())),
            hosts=tuple(entry.get("hosts", ())),
            inline=tuple(entry.get("inline", ())),
            click_ids=tuple(entry.get("click_ids", ())),
        )
        for entry in data["vendors"]
    )
    sources = tuple(Source(**source) for source in data["sources"])
    return Registry(trackers, Matcher(trackers), sources, data.get("rules", ""))
