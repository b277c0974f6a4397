"""The wording of ``consent-mw policy diff`` (:func:`consent_mw.policy.diff.render_diff`)."""

from __future__ import annotations

__all__ = ["DIFF_WORDS"]

DIFF_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "head": "Policy {old} → {new}: {count} changes ({majors} major)",
        "none": "Policy {old} → {new}: no differences.",
        "major_rule": "Major change: announce it at least 30 days before it takes effect.",
        "minor_rule": "Minor change: announce it at least 7 days before it takes effect.",
        "major": "major",
        "minor": "minor",
        "added": "added",
        "removed": "removed",
        "changed": "changed",
        "was": "was",
        "now": "now",
        "warnings": "Warnings:",
    },
    "ko": {
        "head": "개인정보처리방침 {old} → {new}: 변경 {count}건 (중요 {majors}건)",
        "none": "개인정보처리방침 {old} → {new}: 차이가 없습니다.",
        "major_rule": "중요 변경: 시행 30일 전까지 공지해야 합니다.",
        "minor_rule": "일반 변경: 시행 7일 전까지 공지해야 합니다.",
        "major": "중요",
        "minor": "일반",
        "added": "추가",
        "removed": "삭제",
        "changed": "변경",
        "was": "이전",
        "now": "이후",
        "warnings": "주의:",
    },
}
