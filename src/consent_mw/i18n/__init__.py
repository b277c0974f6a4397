"""Every interface string the package shows, per locale: the one place a translator edits.

One module per thing that speaks, each a table ``{locale: …}`` with the same keys (or
as many entries) in every locale (``tests/test_i18n.py`` checks it)::

    banner.py    the banner and the consent API's texts (a policy overrides them
                 under [texts.<locale>])
    embeds.py    the click-to-load placeholders of embedded players and their buttons
    pages.py     the no-JavaScript pages (customised advertising, the visitor's records)
    notice.py    the privacy notice: headings, labels, standard statements, language names
    presets.py   the titles and descriptions of the preset categories
    diff.py      the listing of ``consent-mw policy diff``
    demo.py      the demo site

A table is read with :func:`in_locale`, whose rule is the only fallback: the locale's
own entry, else English. To add a language, add its entry to every table here.

Texts a policy file declares (category titles, the notice's own paragraphs…) are the
site's data, not interface strings: they stay in the policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

__all__ = ["FALLBACK", "in_locale"]

#: the locale every table has, used where a table lacks the one asked for
FALLBACK = "en"

_T = TypeVar("_T")


def in_locale(table: Mapping[str, _T], locale: str) -> _T:
    """``table``'s entry for ``locale``, or the English one when it has none."""
    return table.get(locale) or table[FALLBACK]
