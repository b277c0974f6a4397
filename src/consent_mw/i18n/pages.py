"""The no-JavaScript pages' own wording: the customised-advertising page and the
visitor's records (:mod:`consent_mw.web.pages`)."""

from __future__ import annotations

__all__ = ["PAGE_TEXTS"]

PAGE_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "ads_title": "Customised advertising",
        "ads_on": "Customised advertising is on for this browser.",
        "ads_off": "Customised advertising is off for this browser.",
        "turn_off": "Turn customised advertising off",
        "turn_on": "Turn customised advertising on",
        "saved": "Your choice was saved.",
        "records_title": "Your consent records",
        "no_records": "There are no records for this browser.",
        "delete": "Delete my records",
        "withdraw": "Withdraw all optional consent",
        "export": "Download as JSON",
        "notice": "Privacy policy",
        "time": "Time",
        "action": "Action",
        "choices": "Choices",
        "version": "Policy version",
        "prefs_title": "Privacy preferences",
        "prefs_all": "Allow all services in this category",
        "prefs_services": "Or allow services one by one",
        "prefs_retention": "Kept",
        "prefs_cookies": "Cookies",
        "prefs_save": "Save my choices",
    },
    "ko": {
        "ads_title": "맞춤형 광고",
        "ads_on": "이 브라우저에서 맞춤형 광고가 켜져 있습니다.",
        "ads_off": "이 브라우저에서 맞춤형 광고가 꺼져 있습니다.",
        "turn_off": "맞춤형 광고 끄기",
        "turn_on": "맞춤형 광고 켜기",
        "saved": "선택이 저장되었습니다.",
        "records_title": "나의 동의 기록",
        "no_records": "이 브라우저의 기록이 없습니다.",
        "delete": "내 기록 삭제",
        "withdraw": "선택 동의 모두 철회",
        "export": "JSON으로 내려받기",
        "notice": "개인정보처리방침",
        "time": "시각",
        "action": "동작",
        "choices": "선택",
        "version": "방침 버전",
        "prefs_title": "개인정보 선택 설정",
        "prefs_all": "이 항목의 모든 서비스 허용",
        "prefs_services": "또는 서비스별로 허용",
        "prefs_retention": "보관 기간",
        "prefs_cookies": "쿠키",
        "prefs_save": "선택 저장",
    },
}
