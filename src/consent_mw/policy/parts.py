"""The parts of a policy: categories, their cookies, processors, and the Consent Mode
types each standard category controls. Plain frozen data, no behaviour."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "CONSENT_MODE_TYPES",
    "DEFAULT_CONSENT_MODE",
    "Category",
    "CookieSpec",
    "Localised",
    "Processor",
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


@dataclass(frozen=True)
class CookieSpec:
    """A cookie a category owns: an exact name or a pattern such as ``_ga_*``."""

    name: str
    owner: str = ""
    lifetime: Localised = field(default_factory=dict)
    purpose: Localised = field(default_factory=dict)
    third_party: bool = False


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
