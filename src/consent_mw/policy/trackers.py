"""The built-in tracker registry and the matcher built from it.

Each :class:`Tracker` names who runs it, the consent category it needs, the
cookie names it sets (exact, or with ``*`` wildcards such as ``_ga_*``), the
hosts its scripts and pixels load from (``host`` or ``host/path-prefix``;
subdomains match too), signatures that identify its inline snippets, and the
URL parameters it uses as click ids.

The entries are written from the vendors' public documentation of their
cookies and tags. Inline signatures are calls or loader URLs specific to the
vendor's snippet, never a bare host name: a first-party script that merely
mentions a tracker in a string must not be neutralised.

A policy can add trackers or override a built-in one by ``owner`` (see
:mod:`consent_mw.policy`); :class:`Matcher` combines both.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .._memo import remember

__all__ = ["BUILTIN_TRACKERS", "Matcher", "Tracker"]


@dataclass(frozen=True)
class Tracker:
    """One tracking vendor or product and what identifies it."""

    owner: str
    category: str
    cookies: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    inline: tuple[str, ...] = ()
    click_ids: tuple[str, ...] = ()
    third_party: bool = False
    #: an embedded player or widget (see :mod:`consent_mw.policy.embeds`): the
    #: rewriter puts a click-to-load placeholder in its place
    embed: bool = False
    #: the service's privacy notice (embeds)
    privacy: str = ""
    #: localStorage/sessionStorage keys it leaves on the page's origin (``*``: any run)
    storage: tuple[str, ...] = ()


BUILTIN_TRACKERS: tuple[Tracker, ...] = (
    Tracker(
        owner="Google Analytics",
        category="analytics",
        cookies=(
            "_ga",
            "_ga_*",
            "_gid",
            "_gat",
            "_gat_*",
            "_dc_gtm_*",
            "__utma",
            "__utmb",
            "__utmc",
            "__utmt",
            "__utmz",
            "__utmv",
        ),
        hosts=(
            "google-analytics.com",
            "analytics.google.com",
            "googletagmanager.com",
        ),
        inline=(
            "gtag(",
            "googletagmanager.com/gtm.js",
            "googletagmanager.com/gtag/js",
            "google-analytics.com/analytics.js",
            "GoogleAnalyticsObject",
        ),
    ),
    Tracker(
        owner="Google Ads / DoubleClick",
        category="advertising",
        cookies=(
            "_gcl_au",
            "_gcl_aw",
            "_gcl_dc",
            "_gcl_gb",
            "_gcl_gs",
            "_gcl_*",
            "__gads",
            "__gpi",
            "__gsas",
            "IDE",
            "DSID",
            "FLC",
            "RUL",
            "AID",
            "TAID",
            "test_cookie",
        ),
        hosts=(
            "googleadservices.com",
            "googlesyndication.com",
            "doubleclick.net",
            "adservice.google.com",
            "google.com/pagead",
            "google.com/ads",
        ),
        inline=("adsbygoogle", "googletag.cmd", "googleadservices.com/pagead"),
        click_ids=("gclid", "gclsrc", "gbraid", "wbraid", "dclid"),
    ),
    Tracker(
        owner="Meta",
        category="advertising",
        cookies=("_fbp", "_fbc"),
        hosts=("connect.facebook.net", "facebook.com/tr"),
        inline=("fbq(", "connect.facebook.net/en_US/fbevents.js"),
        click_ids=("fbclid",),
    ),
    Tracker(
        owner="Microsoft Advertising",
        category="advertising",
        cookies=("_uetsid", "_uetvid", "_uetmsclkid", "MUID"),
        hosts=("bat.bing.com", "bat.r.msn.com"),
        inline=("bat.bing.com/bat.js", "uetq"),
        click_ids=("msclkid",),
    ),
    Tracker(
        owner="Microsoft Clarity",
        category="analytics",
        cookies=("_clck", "_clsk", "CLID", "ANONCHK", "SM", "MR"),
        hosts=("clarity.ms",),
        inline=("clarity.ms/tag/",),
    ),
    Tracker(
        owner="TikTok",
        category="advertising",
        cookies=("_ttp", "_tt_enable_cookie", "ttcsid", "ttcsid_*"),
        hosts=("analytics.tiktok.com", "analytics-sg.tiktok.com"),
        inline=("ttq.load(", "ttq.page(", "TiktokAnalyticsObject"),
        click_ids=("ttclid",),
    ),
    Tracker(
        owner="LinkedIn",
        category="advertising",
        cookies=(
            "li_fat_id",
            "li_sugr",
            "_li_dcdm_c",
            "li_gc",
            "lidc",
            "bcookie",
            "UserMatchHistory",
            "AnalyticsSyncHistory",
            "ln_or",
        ),
        hosts=("snap.licdn.com", "px.ads.linkedin.com", "dc.ads.linkedin.com"),
        inline=(
            "_linkedin_partner_id",
            "lintrk(",
            "snap.licdn.com/li.lms-analytics/insight.min.js",
        ),
        click_ids=("li_fat_id",),
    ),
    Tracker(
        owner="Hotjar",
        category="analytics",
        cookies=(
            "_hjSessionUser_*",
            "_hjSession_*",
            "_hjid",
            "_hjFirstSeen",
            "_hjIncludedInSessionSample_*",
            "_hjAbsoluteSessionInProgress",
            "_hjTLDTest",
            "_hj*",
        ),
        hosts=("hotjar.com", "hotjar.io"),
        inline=("_hjSettings", "static.hotjar.com/c/hotjar-"),
    ),
    Tracker(
        owner="HubSpot",
        category="analytics",
        cookies=("__hstc", "hubspotutk", "__hssc", "__hssrc"),
        hosts=(
            "hs-scripts.com",
            "hs-analytics.net",
            "hsadspixel.net",
            "track.hubspot.com",
        ),
        inline=("_hsq.push",),
        click_ids=("_hsenc", "_hsmi"),
    ),
    Tracker(
        owner="Yandex Metrica",
        category="analytics",
        cookies=("_ym_uid", "_ym_d", "_ym_isad", "_ym_visorc", "_ym_*", "yandexuid"),
        hosts=("mc.yandex.ru", "mc.yandex.com", "mc.yandex.by", "mc.yandex.kz"),
        inline=("mc.yandex.ru/metrika/", "yandex_metrika"),
        click_ids=("yclid",),
    ),
    Tracker(
        owner="Kakao",
        category="advertising",
        cookies=("_kadu", "_kadub", "_kau", "_kp_*"),
        hosts=(
            "t1.daumcdn.net/kas/static/kp.js",
            "t1.daumcdn.net/adfit/static/kp.js",
            "bc.ad.daum.net",
        ),
        inline=("kakaoPixel(",),
    ),
    Tracker(
        owner="Naver",
        category="analytics",
        cookies=("wcs_bt", "NA_CO", "NA_SA", "NA_SAC", "NA_SAS", "NA_MI", "NWB"),
        hosts=("wcs.naver.net", "wcs.naver.com"),
        inline=("wcs_do(", "wcs_add", "wcs.naver.net/wcslog.js"),
        click_ids=("NaPm", "n_media", "n_query", "n_rank", "n_ad_group", "n_ad", "n_keyword"),
    ),
)


def _owner_itself(category: str, owner: str) -> str:
    return owner


def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """Compile a cookie-name pattern where ``*`` stands for any run of characters."""
    return re.compile(re.escape(pattern).replace(r"\*", ".*") + r"\Z")


class Matcher:
    """Classify cookie names, URLs and inline scripts by consent category.

    ``trackers`` are looked at in order; for cookie names an exact name wins
    over a wildcard, and a later tracker overrides an earlier one with the
    same owner (so a policy can replace a built-in entry)::

        matcher = Matcher(BUILTIN_TRACKERS)
        matcher.cookie_category("_ga_X1Y2")   # "analytics"
        matcher.url_category("https://connect.facebook.net/en_US/fbevents.js")
    """

    _CACHE_LIMIT = 4096

    def __init__(
        self,
        trackers: tuple[Tracker, ...] | list[Tracker],
        *,
        fallback: Matcher | None = None,
        replaces: Iterable[str] | None = None,
    ) -> None:
        by_owner: dict[str, Tracker] = {}
        for tracker in trackers:
            # A service's embeds are apart from its tracking (TikTok's player and
            # TikTok's pixel): neither replaces the other.
            key = "\0embed:" + tracker.owner if tracker.embed else tracker.owner
            by_owner.pop(key, None)
            by_owner[key] = tracker
        #: this matcher's own entries (the hand-written ones and the policy's);
        #: ``fallback`` (the shipped registry) answers what they do not know, less
        #: the vendors named in ``replaces`` (by default every owner here), so an
        #: entry of the policy replaces a vendor whole
        self.trackers: tuple[Tracker, ...] = tuple(by_owner.values())
        #: the embedded players and widgets among them, by owner (service name)
        self.embeds: dict[str, Tracker] = {t.owner: t for t in self.trackers if t.embed}
        #: the HTML rewriter's plans, one per allowed set (see consent_mw.html.plan)
        self.plans: dict[frozenset[str], Any] = {}
        self._fallback = fallback
        self._owners = frozenset(
            (t.owner for t in by_owner.values() if not t.embed) if replaces is None else replaces
        )
        self._exact: dict[str, tuple[str, str]] = {}
        wildcard: list[tuple[re.Pattern[str], str, str]] = []
        prefixes: dict[str, tuple[str, str]] = {}
        self._hosts: dict[str, list[tuple[str, str, str]]] = {}
        self._signatures: list[tuple[str, str, str]] = []
        click_ids: set[str] = set()
        for tracker in self.trackers:
            for pattern in tracker.cookies:
                if "*" not in pattern:
                    self._exact[pattern] = (tracker.category, tracker.owner)
                elif pattern.index("*") == len(pattern) - 1:
                    # `prefix*`, nearly every pattern: found by slicing, not by regex
                    prefixes[pattern[:-1]] = (tracker.category, tracker.owner)
                else:
                    wildcard.append((wildcard_regex(pattern), tracker.category, tracker.owner))
            for host in tracker.hosts:
                name, _, path = host.lower().partition("/")
                self._hosts.setdefault(name, []).append(
                    ("/" + path if path else "", tracker.category, tracker.owner)
                )
            for signature in tracker.inline:
                self._signatures.append((signature, tracker.category, tracker.owner))
            click_ids.update(tracker.click_ids)
        # Longer (more specific) wildcard patterns first: `_hjSession_*` before `_hj*`.
        wildcard.sort(key=lambda item: -len(item[0].pattern))
        self._wildcard = wildcard
        self._prefixes = prefixes
        #: by first character, the prefix lengths to try, longest (most specific)
        #: first: `_hjSession_` before `_hj`
        lengths: dict[str, set[int]] = {}
        for prefix in prefixes:
            lengths.setdefault(prefix[:1], set()).add(len(prefix))
        self._prefix_lengths = {c: sorted(n, reverse=True) for c, n in lengths.items()}
        signed = list(self.trackers)
        categories = {t.category for t in self.trackers}
        self._click_owners: dict[str, set[str]] = {}
        for tracker in self.trackers:
            for click_id in tracker.click_ids:
                self._click_owners.setdefault(click_id, set()).add(tracker.owner)
        if fallback is not None:
            # What the fallback's vendors add, less the replaced ones (computed once
            # by the fallback, filtered here: a policy is built in well under a ms).
            signed += [t for t in fallback.signed if t.owner not in self._owners]
            self._signatures += [s for s in fallback._signatures if s[2] not in self._owners]
            categories |= fallback.categories
            for click_id, owners in fallback._click_owners.items():
                if owners - self._owners:
                    click_ids.add(click_id)
        self.click_ids: frozenset[str] = frozenset(click_ids)
        #: the entries whose snippets an inline script is judged by (the fallback's
        #: vendors with a signature, beside this matcher's own entries)
        self.signed: tuple[Tracker, ...] = tuple(signed)
        #: every category some entry, own or fallback, belongs to
        self.categories: frozenset[str] = frozenset(categories)
        #: the service an owner stands for in a category (a policy sets its own, see
        #: :meth:`consent_mw.policy.Policy.service_of`), and the categories the
        #: policy lists services in
        self.service_of: Callable[[str, str], str] = _owner_itself
        self.listed: frozenset[str] = frozenset()
        self._cookie_cache: dict[str, tuple[str, str] | None] = {}

    def _fallen(self, found: tuple[str, str] | None) -> tuple[str, str] | None:
        """A fallback answer, unless this matcher names its owner itself."""
        return None if found is None or found[1] in self._owners else found

    def cookie_owner(self, name: str) -> tuple[str, str] | None:
        """``(category, owner)`` for a cookie name, or None when unknown."""
        try:
            return self._cookie_cache[name]
        except KeyError:
            pass
        found = self._exact.get(name)
        if found is None:
            for length in self._prefix_lengths.get(name[:1], ()):
                found = self._prefixes.get(name[:length])
                if found is not None:
                    break
        if found is None:
            for regex, category, owner in self._wildcard:
                if regex.match(name):
                    found = (category, owner)
                    break
        if found is None and self._fallback is not None:
            found = self._fallen(self._fallback.cookie_owner(name))
        remember(self._cookie_cache, name, found, self._CACHE_LIMIT)
        return found

    def cookie_category(self, name: str) -> str | None:
        found = self.cookie_owner(name)
        return found[0] if found else None

    def url_owner(self, url: str) -> tuple[str, str] | None:
        """``(category, owner)`` for a script/pixel/iframe URL, or None."""
        url = url.strip()
        if url.startswith("//"):
            url = "https:" + url
        try:
            parts = urlsplit(url)
        except ValueError:
            return None
        if parts.scheme not in ("http", "https"):
            return None
        host = (parts.hostname or "").rstrip(".")
        path = parts.path or "/"
        found = self.place_owner(host, path)
        if found is None and self._fallback is not None:
            found = self._fallback.place_owner(host, path, self._owners)
        return found

    def place_owner(
        self, host: str, path: str, skip: frozenset[str] = frozenset()
    ) -> tuple[str, str] | None:
        """``(category, owner)`` of the first entry for ``host`` (or a parent domain)
        and ``path`` whose owner is not in ``skip``."""
        while host:
            for prefix, category, owner in self._hosts.get(host, ()):
                # A path prefix matches whole segments: /tr and /tr/… but not /travel.
                if owner in skip:
                    continue
                if not prefix or path == prefix or path.startswith(prefix + "/"):
                    return category, owner
            _, _, host = host.partition(".")
        return None

    def host_category(self, host: str) -> str | None:
        """The category of the first entry for ``host`` or a parent domain, whatever path
        the entry names (``www.facebook.com``: "advertising", from ``facebook.com/tr``)."""
        host = whole = host.lower().rstrip(".")
        while host:
            entries = self._hosts.get(host)
            if entries:
                return entries[0][1]
            _, _, host = host.partition(".")
        if self._fallback is not None:
            return self._fallback.host_category_of(whole, self._owners)
        return None

    def host_category_of(self, host: str, skip: frozenset[str]) -> str | None:
        """The category of the first whole-host entry for ``host`` or a parent domain
        whose owner is not in ``skip``: the registry's path entries (``google.com/ccm``)
        do not make a whole host a tracker's."""
        while host:
            for prefix, category, owner in self._hosts.get(host, ()):
                if not prefix and owner not in skip:
                    return category
            _, _, host = host.partition(".")
        return None

    def url_category(self, url: str) -> str | None:
        found = self.url_owner(url)
        return found[0] if found else None

    def inline_owner(self, script: str) -> tuple[str, str] | None:
        """``(category, owner)`` for the body of an inline script, or None."""
        for signature, category, owner in self._signatures:
            if signature in script:
                return category, owner
        return None

    def inline_category(self, script: str) -> str | None:
        found = self.inline_owner(script)
        return found[0] if found else None
