"""What the site declares: the policy model, its file format (every key once, in the
table of :mod:`consent_mw.policy.fields`), presets, legal regimes, the tracker registry,
versions over time and the diff between two versions."""

from __future__ import annotations

from .model import (
    CONSENT_MODE_TYPES,
    DEFAULT_CONSENT_MODE,
    Category,
    CookieSpec,
    Localised,
    Policy,
    Processor,
)

__all__ = [
    "CONSENT_MODE_TYPES",
    "DEFAULT_CONSENT_MODE",
    "Category",
    "CookieSpec",
    "Localised",
    "Policy",
    "Processor",
]
