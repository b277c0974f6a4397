"""A policy that lists services in two categories, for the per-service tests."""

from __future__ import annotations

from typing import Any

from consent_mw import Policy

POLICY_DICT: dict[str, Any] = {
    "version": "1",
    "regime": {"default": "gdpr"},
    "categories": [
        {"id": "necessary", "title": "N", "description": "d"},
        {
            "id": "analytics",
            "title": "A",
            "description": "d",
            "services": [{"name": "Google Analytics", "purpose": {"en": "Statistics"}}, "Hotjar"],
        },
        {
            "id": "advertising",
            "title": "Ads",
            "description": "d",
            "cookies": [{"name": "_fbp", "owner": "Meta", "lifetime": "3 months"}],
            "services": [
                {
                    "name": "Meta",
                    "purpose": "Ads on Facebook and Instagram",
                    "retention": "6 months",
                },
                "Kakao",
                "TikTok",
            ],
        },
    ],
}


def gdpr_with_ad_services(*services: Any) -> Policy:
    """The gdpr preset with its advertising category listing ``services`` (names or
    tables, as a policy file writes them)."""
    categories = Policy.preset("gdpr").raw["categories"]
    return Policy.preset(
        "gdpr",
        version="2026-11",
        categories=[*categories[:3], {**categories[3], "services": list(services)}],
    )


#: Google (its ads owner) and Meta listed under advertising
GOOGLE_AND_META = ({"name": "Google", "owners": ["Google Ads / DoubleClick"]}, "Meta")
