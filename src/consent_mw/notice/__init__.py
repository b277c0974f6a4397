"""The privacy notice rendered from the policy: data, layout, HTML, markdown, texts."""

from __future__ import annotations

from .render import (
    FORMAT,
    HEADINGS,
    SECTION_IDS,
    NoticeLinks,
    check_notice,
    notice_hash,
    render_notice,
)

__all__ = [
    "FORMAT",
    "HEADINGS",
    "SECTION_IDS",
    "NoticeLinks",
    "check_notice",
    "notice_hash",
    "render_notice",
]
