"""The four standard categories, as a policy dict that presets start from (their texts
are in :mod:`consent_mw.i18n.presets`)."""

from __future__ import annotations

from typing import Any

from ..exceptions import PolicyError
from ..i18n.presets import PRESET_CATEGORIES
from .regimes import REGIMES

_IDS = ("necessary", "functional", "analytics", "advertising")

#: the GPP sections the opt-out (US) preset writes: US National and California
US_GPP_SECTIONS = ("usnat", "usca")


def _category(cid: str) -> dict[str, Any]:
    category: dict[str, Any] = {"id": cid}
    if cid == "necessary":
        category["required"] = True
    for text in ("title", "description"):
        category[text] = {locale: table[cid][text] for locale, table in PRESET_CATEGORIES.items()}
    return category


def preset_dict(regime: str) -> dict[str, Any]:
    if regime not in REGIMES:
        raise PolicyError("regime", f"{regime!r} is not one of {sorted(REGIMES)}")
    categories = [_category(cid) for cid in _IDS]
    preset: dict[str, Any] = {
        "version": "1",
        "locales": list(PRESET_CATEGORIES),
        "regime": {"default": regime},
        "categories": categories,
    }
    if not REGIMES[regime].opt_in:
        for category in categories:
            if not category.get("required"):
                category["default_on"] = True
        # The US preset: ad tech reads a GPC visitor's opt-out from the IAB GPP string.
        preset["gpp"] = {"sections": list(US_GPP_SECTIONS)}
    return preset
