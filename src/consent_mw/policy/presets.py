"""The four standard categories, as a policy dict that presets start from."""

from __future__ import annotations

from typing import Any

from ..exceptions import PolicyError
from .regimes import REGIMES

_CATEGORIES: list[dict[str, Any]] = [
    {
        "id": "necessary",
        "required": True,
        "title": {"en": "Strictly necessary", "ko": "필수"},
        "description": {
            "en": "Sign-in, security, fraud prevention and remembering your privacy choices.",
            "ko": "로그인, 보안, 부정 이용 방지와 개인정보 선택 저장에 필요합니다.",
        },
    },
    {
        "id": "functional",
        "title": {"en": "Functional", "ko": "기능"},
        "description": {
            "en": "Extra features such as notifications and remembered preferences.",
            "ko": "알림, 설정 기억 등 부가 기능에 사용합니다.",
        },
    },
    {
        "id": "analytics",
        "title": {"en": "Analytics", "ko": "분석"},
        "description": {
            "en": "Usage statistics that help us improve the service.",
            "ko": "서비스 개선을 위한 이용 통계에 사용합니다.",
        },
    },
    {
        "id": "advertising",
        "title": {"en": "Customised advertising", "ko": "맞춤형 광고"},
        "description": {
            "en": "Advertising chosen from your visits and interests, measured across sites.",
            "ko": "방문 기록과 관심사에 따라 맞춤형 광고를 제공하고 효과를 측정합니다.",
        },
    },
]


def preset_dict(regime: str) -> dict[str, Any]:
    if regime not in REGIMES:
        raise PolicyError("regime", f"{regime!r} is not one of {sorted(REGIMES)}")
    categories = [dict(c) for c in _CATEGORIES]
    if not REGIMES[regime].opt_in:
        for category in categories:
            if not category.get("required"):
                category["default_on"] = True
    return {
        "version": "1",
        "locales": ["en", "ko"],
        "regime": {"default": regime},
        "categories": categories,
    }
