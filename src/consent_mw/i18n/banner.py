"""The banner's texts (also those of the consent API and the no-JS pages' notes).

A policy may override any of them per locale under ``[texts.<locale>]``
(:meth:`~consent_mw.policy.Policy.ui_texts`); :data:`TEXT_KEYS` are the keys it may use.
Category titles and descriptions are not here: they belong to the policy.
"""

from __future__ import annotations

__all__ = ["DEFAULT_TEXTS", "TEXT_KEYS"]

DEFAULT_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Your privacy choices",
        "intro": (
            "We use cookies that the site needs to work. With your permission we also use "
            "cookies for extra features, usage statistics and customised advertising. "
            "Refusing them never limits the service."
        ),
        "accept_all": "Accept all",
        "reject_all": "Reject all",
        "preferences": "Preferences",
        "save": "Save my choices",
        "back": "Back",
        "close": "Close",
        "always_on": "Always on",
        "cookies": "Cookies",
        "processors": "Processed by",
        "retention": "Kept for",
        "services": "Services",
        "policy_link": "Privacy policy",
        "reopen": "Privacy choices",
        "withdraw": "Withdraw consent",
        "gpc_honoured": (
            "Your browser sent a Global Privacy Control signal, so customised advertising is off."
        ),
        "child_rule": "Customised advertising is never used for children under 14.",
        "saved": "Your choices were saved.",
        "pending": "Your choices apply now and will be saved when the connection returns.",
        "change_notice": "Our privacy policy changes on {date}.",
    },
    "ko": {
        "title": "개인정보 수집 선택",
        "intro": (
            "사이트 운영에 꼭 필요한 쿠키를 사용합니다. 동의하시면 부가 기능, 이용 통계, "
            "맞춤형 광고를 위한 쿠키도 사용합니다. 동의하지 않아도 서비스 이용은 제한되지 않습니다."
        ),
        "accept_all": "모두 동의",
        "reject_all": "모두 거부",
        "preferences": "항목별 설정",
        "save": "선택 저장",
        "back": "이전",
        "close": "닫기",
        "always_on": "항상 사용",
        "cookies": "쿠키",
        "processors": "처리 위탁",
        "retention": "보유 기간",
        "services": "서비스",
        "policy_link": "개인정보처리방침",
        "reopen": "개인정보 설정",
        "withdraw": "동의 철회",
        "gpc_honoured": (
            "브라우저가 보낸 GPC(Global Privacy Control) 신호에 따라 맞춤형 광고를 끕니다."
        ),
        "child_rule": "만 14세 미만 아동에게는 맞춤형 광고를 하지 않습니다.",
        "saved": "선택이 저장되었습니다.",
        "pending": "선택이 지금 적용되었으며 연결이 복구되면 저장됩니다.",
        "change_notice": "개인정보처리방침이 {date}에 변경됩니다.",
    },
}

TEXT_KEYS: frozenset[str] = frozenset(DEFAULT_TEXTS["en"])
