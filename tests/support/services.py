"""A policy that lists services in two categories, for the per-service tests."""

from __future__ import annotations

from typing import Any

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
