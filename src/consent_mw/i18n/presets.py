"""The titles and descriptions of the four preset categories (:meth:`Policy.preset`).

A preset policy speaks every locale of this table.
"""

from __future__ import annotations

__all__ = ["PRESET_CATEGORIES"]

PRESET_CATEGORIES: dict[str, dict[str, dict[str, str]]] = {
    "en": {
        "necessary": {
            "title": "Strictly necessary",
            "description": (
                "Sign-in, security, fraud prevention and remembering your privacy choices."
            ),
        },
        "functional": {
            "title": "Functional",
            "description": "Extra features such as notifications and remembered preferences.",
        },
        "analytics": {
            "title": "Analytics",
            "description": "Usage statistics that help us improve the service.",
        },
        "advertising": {
            "title": "Customised advertising",
            "description": (
                "Advertising chosen from your visits and interests, measured across sites."
            ),
        },
    },
    "ko": {
        "necessary": {
            "title": "필수",
            "description": "로그인, 보안, 부정 이용 방지와 개인정보 선택 저장에 필요합니다.",
        },
        "functional": {
            "title": "기능",
            "description": "알림, 설정 기억 등 부가 기능에 사용합니다.",
        },
        "analytics": {
            "title": "분석",
            "description": "서비스 개선을 위한 이용 통계에 사용합니다.",
        },
        "advertising": {
            "title": "맞춤형 광고",
            "description": "방문 기록과 관심사에 따라 맞춤형 광고를 제공하고 효과를 측정합니다.",
        },
    },
}
