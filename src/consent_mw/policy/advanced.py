"""Google Consent Mode's "advanced" implementation: Google's tags load before consent,
under the denied default, and send Google cookieless pings until the visitor chooses.

Off by default (``[signals] advanced = false``, "basic": Google's tags are held like any
other tracker's). Turned on, the HTML rewriter stops holding Google's tag loaders (gtag.js
and Google Tag Manager from ``googletagmanager.com``) and their inline snippets; every
other Google entry (its cookies, ad pixels, AdSense) is judged as before, and so is every
other vendor. The legal caveat is in the README ("Consent Mode: basic and advanced"):
the pings carry the visitor's IP address, user agent and page URL to Google before
consent, which several EU data-protection authorities regard as needing consent.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from .registry import registry
from .trackers import Matcher, Tracker

__all__ = ["GOOGLE_TAG_HOSTS", "loaded_google_tags"]

#: the hosts that serve Google's tag loaders (gtag.js, gtm.js)
GOOGLE_TAG_HOSTS: Final = ("googletagmanager.com",)

# Inline snippets that load or drive those tags.
_SNIPPETS: Final = ("gtag(", "googletagmanager.com", "GoogleAnalyticsObject")


def _tag_host(entry: str) -> bool:
    host = entry.lower().partition("/")[0]
    return any(host == h or host.endswith("." + h) for h in GOOGLE_TAG_HOSTS)


def _without_tags(tracker: Tracker) -> Tracker | None:
    hosts = tuple(h for h in tracker.hosts if not _tag_host(h))
    inline = tuple(s for s in tracker.inline if not any(part in s for part in _SNIPPETS))
    if hosts == tracker.hosts and inline == tracker.inline:
        return None
    return replace(tracker, hosts=hosts, inline=inline)


def loaded_google_tags(trackers: tuple[Tracker, ...], replaces: list[str]) -> Matcher:
    """The matcher the HTML rewriter uses in advanced mode: ``trackers`` (the policy's
    own, over the shipped registry, as :class:`~consent_mw.policy.model.Policy` builds
    them) less Google's tag loaders and snippets."""
    fallback = registry().matcher
    own: dict[str, Tracker] = {}
    for tracker in (*trackers, *fallback.trackers):
        if tracker.owner in own:
            continue
        changed = _without_tags(tracker)
        if changed is not None:
            own[tracker.owner] = changed
    kept = [own.get(t.owner, t) for t in trackers]
    extra = [t for owner, t in own.items() if owner not in {k.owner for k in trackers}]
    return Matcher((*kept, *extra), fallback=fallback, replaces=[*replaces, *own])
