"""The click-to-load placeholder of an embedded player (:mod:`consent_mw.html.placeholder`)
and its buttons (``js/src/embeds.js`` reads their labels from the placeholder).
``{service}`` is the service's name."""

from __future__ import annotations

__all__ = ["EMBED_TEXTS"]

EMBED_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "{service} content",
        "blocked": (
            "This {service} content is not loaded until you allow it: {service} may set"
            " cookies and learn that you visited this page."
        ),
        "open": "Open it on {service}",
        "privacy": "{service} privacy notice",
        "once": "Load this once",
        "always": "Always allow {service}",
    },
    "ko": {
        "title": "{service} 콘텐츠",
        "blocked": (
            "이 {service} 콘텐츠는 허용하기 전까지 불러오지 않습니다. {service}은(는) 쿠키를"
            " 저장하고 이 페이지 방문 사실을 알 수 있습니다."
        ),
        "open": "{service}에서 보기",
        "privacy": "{service} 개인정보 처리방침",
        "once": "이번만 불러오기",
        "always": "{service} 항상 허용",
    },
}
