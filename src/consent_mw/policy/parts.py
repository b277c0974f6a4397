"""The parts of a policy: categories, their cookies, processors, the Consent Mode types
each standard category controls, and the sections only the privacy notice reads. Plain
frozen data, no behaviour: :mod:`consent_mw.policy.fields` says how each is read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "EmbedsSpec",
    "CONSENT_MODE_TYPES",
    "DEFAULT_CONSENT_MODE",
    "GPP_SECTIONS",
    "SIGNAL_VENDORS",
    "Category",
    "Collected",
    "Contact",
    "Controller",
    "CookieSpec",
    "GppOptions",
    "HistoryEntry",
    "Item",
    "Localised",
    "Measure",
    "MeasureKind",
    "NoticeOptions",
    "NoticeSource",
    "Processor",
    "Rights",
    "SECTION_IDS",
    "Service",
    "Signals",
    "StatutoryRecord",
    "ThirdParty",
]

CONSENT_MODE_TYPES: tuple[str, ...] = (
    "ad_storage",
    "ad_user_data",
    "ad_personalization",
    "analytics_storage",
    "functionality_storage",
    "personalization_storage",
    "security_storage",
)

Localised = Mapping[str, str]
"""A text per locale: ``{"ko": "…", "en": "…"}``."""

# Google Consent Mode v2 types that each standard category controls.
DEFAULT_CONSENT_MODE: dict[str, tuple[str, ...]] = {
    "necessary": ("security_storage",),
    "functional": ("functionality_storage", "personalization_storage"),
    "analytics": ("analytics_storage",),
    "advertising": ("ad_storage", "ad_user_data", "ad_personalization"),
}


#: the vendors whose own consent call the page makes (see consent_mw.html.signals)
SIGNAL_VENDORS: tuple[str, ...] = ("clarity", "uet", "meta", "tiktok")

#: the IAB GPP sections the server can write, by name: their section ids (GPP spec,
#: "Section Information"); see consent_mw.core.gpp
GPP_SECTIONS: dict[str, int] = {"usnat": 7, "usca": 8}


@dataclass(frozen=True)
class Signals:
    """``[signals]``: how the decision reaches the vendors' tags in the page."""

    #: the vendors whose consent call is made when their tag appears in the page
    vendors: tuple[str, ...] = SIGNAL_VENDORS
    #: Google: strip ad-click identifiers from requests while ad_storage is denied
    ads_data_redaction: bool = True
    #: Google: pass ad-click identifiers through link URLs while cookies are denied
    url_passthrough: bool = False
    #: Google Consent Mode "advanced": Google's tags load with a denied default
    advanced: bool = False


@dataclass(frozen=True)
class GppOptions:
    """``[gpp]``: the IAB Global Privacy Platform string and its ``__gpp`` API."""

    #: the sections written (``usnat``, ``usca``); none: GPP is off
    sections: tuple[str, ...] = ()
    #: whether the site's ad transactions are covered by the IAB MSPA
    mspa_covered_transaction: bool = False


@dataclass(frozen=True)
class CookieSpec:
    """A cookie a category owns: an exact name or a pattern such as ``_ga_*``."""

    name: str
    owner: str = ""
    lifetime: Localised = field(default_factory=dict)
    purpose: Localised = field(default_factory=dict)
    third_party: bool = False


@dataclass(frozen=True)
class Service:
    """A vendor inside a category that a visitor can allow or refuse on its own.

    ``name`` is what the visitor sees and what the cookie and the ledger record; it is a
    tracker registry ``owner`` name (``"Meta"``, ``"Google Analytics"``) or the policy's
    own. ``owners`` are the registry owners the service stands for (default: the name
    itself), ``cookies`` and ``hosts`` what it sets and loads beyond the registry's."""

    name: str
    purpose: Localised = field(default_factory=dict)
    retention: Localised = field(default_factory=dict)
    owners: tuple[str, ...] = ()
    cookies: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Processor:
    """A processor (entrusted party) and what it does."""

    id: str
    name: Localised
    purpose: Localised
    country: str = ""


@dataclass(frozen=True)
class Category:
    """One purpose visitors consent to (or that is necessary)."""

    id: str
    required: bool
    title: Localised
    description: Localised
    cookies: tuple[CookieSpec, ...] = ()
    hosts: tuple[str, ...] = ()
    retention: Localised = field(default_factory=dict)
    retention_days: int | None = None
    processors: tuple[str, ...] = ()
    consent_mode: tuple[str, ...] = ()
    default_on: bool = False
    services: tuple[Service, ...] = ()
    #: localStorage/sessionStorage keys the category's scripts leave (``*``: any run);
    #: the page's cleaner removes them when the category is refused
    storage: tuple[str, ...] = ()


@dataclass(frozen=True)
class EmbedsSpec:
    """``[embeds]``: the category embedded players need, and which services count
    (empty: every service :mod:`consent_mw.policy.embeds` ships)."""

    category: str
    services: tuple[str, ...] = ()


# -- the sections only the privacy notice reads (kept verbatim in Policy.raw) ----------

#: the notice's sections, by anchor, in the order it shows them
SECTION_IDS: tuple[str, ...] = (
    "collected",
    "purposes",
    "processors",
    "third-parties",
    "retention",
    "destruction",
    "rights",
    "children",
    "cookies",
    "customised-ads",
    "security",
    "contacts",
    "changes",
)

MeasureKind = Literal["administrative", "technical", "physical"]


@dataclass(frozen=True)
class Item:
    """One collected item; ``category`` ties it to a consent category (or is empty)."""

    item: Localised
    purpose: Localised = field(default_factory=dict)
    when: Localised = field(default_factory=dict)
    category: str = ""


@dataclass(frozen=True)
class Collected:
    required: tuple[Item, ...] = ()
    optional: tuple[Item, ...] = ()
    automatic: tuple[Item, ...] = ()


@dataclass(frozen=True)
class Controller:
    name: Localised = field(default_factory=dict)
    privacy_officer: Localised = field(default_factory=dict)
    department: Localised = field(default_factory=dict)
    address: Localised = field(default_factory=dict)
    helpdesk: str = ""
    phone: str = ""
    email: str = ""
    country: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatutoryRecord:
    record: Localised
    law: Localised
    keep: Localised
    keep_days: int | None = None


@dataclass(frozen=True)
class ThirdParty:
    name: Localised
    purpose: Localised
    items: Localised
    retention: Localised
    country: str = ""


@dataclass(frozen=True)
class Measure:
    measure: Localised
    kind: MeasureKind = "technical"


@dataclass(frozen=True)
class Contact:
    name: Localised
    role: Localised = field(default_factory=dict)
    phone: str = ""
    url: str = ""
    email: str = ""


@dataclass(frozen=True)
class HistoryEntry:
    version: str
    announced: dt.date | None
    effective: dt.date | None
    summary: Localised = field(default_factory=dict)
    major: bool | None = None
    url: str = ""


@dataclass(frozen=True)
class Rights:
    how: Localised = field(default_factory=dict)
    extra: tuple[Localised, ...] = ()
    child_age: int = 14


@dataclass(frozen=True)
class NoticeOptions:
    title: Localised = field(default_factory=dict)
    intro: Localised = field(default_factory=dict)
    extra: Mapping[str, tuple[Localised, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class NoticeSource:
    """Everything the notice needs beyond the enforcement model, validated."""

    controller: Controller
    collected: Collected | None
    retention: tuple[StatutoryRecord, ...]
    third_parties: tuple[ThirdParty, ...]
    security: tuple[Measure, ...]
    contacts: tuple[Contact, ...]
    history: tuple[HistoryEntry, ...]
    rights: Rights
    notice: NoticeOptions
