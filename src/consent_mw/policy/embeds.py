"""Embedded players and widgets (YouTube, Vimeo, Google Maps, Instagram, X, TikTok).

``data/embeds.toml`` lists each service the rewriter can replace by a click-to-load
placeholder: the hosts its embeds load from, its privacy notice and the storage keys
its player leaves. A policy turns them on with an ``[embeds]`` table naming the
category they need (and, optionally, which services); they then join the policy's
matcher as trackers of that category owned by the service, so a refused embed is
neutralised like any tracker, and :mod:`consent_mw.html.placeholder` puts the
placeholder before it. A policy without ``[embeds]`` leaves embeds alone, as before.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from .parts import EmbedsSpec
from .trackers import Tracker

__all__ = ["embed_trackers", "shipped_embeds"]


@cache
def shipped_embeds() -> dict[str, Tracker]:
    """The shipped services by name, as trackers without a category yet."""
    raw = resources.files(__package__).joinpath("data", "embeds.toml").read_bytes()
    data = tomllib.loads(raw.decode("utf-8"))
    return {
        name: Tracker(
            owner=name,
            category="",
            hosts=tuple(spec["hosts"]),
            embed=True,
            privacy=spec["privacy"],
            storage=tuple(spec.get("storage", ())),
            cookies=tuple(spec.get("cookies", ())),
        )
        for name, spec in data["services"].items()
    }


def embed_trackers(spec: EmbedsSpec) -> tuple[Tracker, ...]:
    """The trackers a policy's ``[embeds]`` table adds: the services it names (all
    of them when it names none) in the category it gives."""
    shipped = shipped_embeds()
    names = spec.services or tuple(shipped)
    return tuple(
        Tracker(
            owner=name,
            category=spec.category,
            hosts=shipped[name].hosts,
            embed=True,
            privacy=shipped[name].privacy,
            storage=shipped[name].storage,
            cookies=shipped[name].cookies,
        )
        for name in names
    )
