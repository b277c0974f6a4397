"""The notice's wording lives in :mod:`consent_mw.i18n.notice` with every other interface
string; its tables stay importable from here."""

from __future__ import annotations

from ..i18n import in_locale
from ..i18n.notice import AUTOMATIC_ITEMS, LABELS, RIGHTS

__all__ = ["AUTOMATIC_ITEMS", "LABELS", "RIGHTS", "labels"]


def labels(locale: str) -> dict[str, str]:
    """The labels of ``locale``, English for a locale without its own table."""
    return in_locale(LABELS, locale)
