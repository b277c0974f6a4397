"""The click-to-load placeholder put before a refused embedded player or widget.

An ``<iframe>`` or ``<script>`` that loads from an embed service of the policy's
``[embeds]`` table (:mod:`consent_mw.policy.embeds`) and whose category is refused is
neutralised as any tracker is (``data-consent-src``) and also hidden, and this
placeholder goes right before it. It is plain server-rendered HTML that works
without JavaScript: a labelled group that names the service, says why the content
is not shown, links to the content (an iframe's URL) and to the service's privacy
notice, and takes the iframe's width and height (or its aspect) so the page does
not move when it loads. ``js/src/embeds.js`` adds "load this once" and "always
allow <service>" buttons to it, with the labels it carries, and removes it when
the element it stands for is restored. Texts: :mod:`consent_mw.i18n.embeds`.
"""

from __future__ import annotations

import re
from html import escape
from typing import Final

from ..i18n import in_locale
from ..i18n.embeds import EMBED_TEXTS
from ..policy.trackers import Tracker

__all__ = ["placeholder", "size_style"]

#: an HTML dimension: a number of CSS pixels or a percentage
_LENGTH: Final = re.compile(r"\s*(\d{1,5}(?:\.\d{1,3})?)\s*(px|%)?\s*", re.ASCII)
_BOX: Final = (
    "box-sizing:border-box;overflow:auto;border:1px solid;padding:1em;word-break:keep-all;"
)


def size_style(width: str | None, height: str | None) -> str:
    """CSS that gives the placeholder the size the iframe's ``width`` and ``height``
    attributes give it (an iframe without them is 300 by 150 pixels); it narrows to
    its container keeping the aspect."""
    w = _LENGTH.fullmatch(width) if width is not None else None
    h = _LENGTH.fullmatch(height) if height is not None else None
    w_pc = w is not None and w.group(2) == "%"
    h_pc = h is not None and h.group(2) == "%"
    wv = w.group(1) if w is not None else "300"
    hv = h.group(1) if h is not None else "150"
    if w_pc or h_pc or (w is not None and float(wv) == 0) or (h is not None and float(hv) == 0):
        return (
            f"width:{wv}{'%' if w_pc else 'px'};max-width:100%;height:{hv}{'%' if h_pc else 'px'};"
        )
    return f"width:{wv}px;max-width:100%;aspect-ratio:{wv}/{hv};"


def placeholder(
    service: Tracker,
    locale: str,
    *,
    url: str | None,
    style: str,
) -> bytes:
    """The placeholder for ``service``'s embed of ``url`` (None: no content link, as
    for a widget script), in ``locale``, sized by ``style``."""
    texts = in_locale(EMBED_TEXTS, locale)
    name = service.owner

    def say(key: str) -> str:
        return escape(texts[key].format(service=name), quote=True)

    title = say("title")
    links = []
    if url:
        links.append(f'<a href="{escape(url, quote=True)}" rel="noopener">{say("open")}</a>')
    if service.privacy:
        links.append(
            f'<a href="{escape(service.privacy, quote=True)}" rel="noopener">{say("privacy")}</a>'
        )
    html = (
        f'<div class="consent-embed" role="group" aria-label="{title}" lang="{escape(locale)}"'
        f' data-embed-service="{escape(name, quote=True)}"'
        f' data-embed-category="{escape(service.category, quote=True)}"'
        f' data-embed-once="{say("once")}" data-embed-always="{say("always")}"'
        f' style="{_BOX}{escape(style, quote=True)}">'
        f'<p class="consent-embed-title"><strong>{title}</strong></p>'
        f'<p class="consent-embed-text">{say("blocked")}</p>'
        f'<p class="consent-embed-links">{" · ".join(links)}</p>'
        "</div>"
    )
    # Character references: right whatever ASCII-compatible encoding the page is in.
    return html.encode("ascii", "xmlcharrefreplace")
