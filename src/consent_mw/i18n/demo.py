"""The demo site's own wording (``consent-mw demo``; :mod:`consent_mw.demo`). The shows'
names are the site's data and stay with it."""

from __future__ import annotations

__all__ = ["DEMO_TEXTS"]

DEMO_TEXTS: dict[str, dict[str, str]] = {
    "ko": {
        "home": "공연 예매",
        "member": "회원 ID",
        "sign_in": "로그인",
        "policy": "개인정보처리방침",
        "ads": "맞춤형 광고 설정",
        "records": "나의 동의 기록",
        "server_view": "서버가 본 동의",
    },
    "en": {
        "home": "Book a show",
        "member": "Member ID",
        "sign_in": "Sign in",
        "policy": "Privacy policy",
        "ads": "Customised advertising",
        "records": "My consent records",
        "server_view": "Consent the server sees",
    },
}
