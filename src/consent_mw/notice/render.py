"""The privacy notice (개인정보처리방침), rendered from the policy.

One policy file drives enforcement and the notice, so what the notice says
is what the middleware does. The notice has the sections PIPA Art. 30 and
GDPR Art. 13 ask for, each under a stable anchor (:data:`SECTION_IDS`), and
comes as a script-free HTML document, markdown, or a JSON-ready dict::

    html = render_notice(policy, "ko", fmt="html", nonce=request_nonce)
    data = render_notice(policy, "en", fmt="json")
    proof = notice_hash(policy, "ko")   # which notice was in force

Beyond the categories and processors, the notice reads these sections of a
policy file. Every ``text`` is a string or a table ``{ ko = "…", en = "…" }``;
required texts need every locale of the policy::

    [controller]                  # who is responsible, and the privacy officer
    name = text; privacy_officer = text; department = text; address = text
    helpdesk = "1588-0000"; phone = "…"; email = "…"; country = "KR"
    aliases = ["Ticketbox"]       # cookie owners that mean the controller itself

    [collected]                   # what is collected; each item is a text or a table
    required  = [{ item = text, purpose = text, when = text, category = "necessary" }]
    optional  = [...]             # `purpose` defaults to the category's title
    automatic = [...]             # generated while the service is used
    # Without [collected]: one item per category, and the usual automatic items.

    [[retention]]                 # records a law requires to be kept
    record = text; law = text; keep = text; keep_days = 1826

    [[third_parties]]             # provision to third parties (none when absent)
    name = text; purpose = text; items = text; retention = text; country = "US"

    [[security]]                  # kind: administrative | technical | physical
    kind = "technical"; measure = text

    [[contacts]]                  # external bodies for reports and disputes
    name = text; role = text; phone = "118"; url = "https://…"; email = "…"

    [[history]]                   # earlier (and the current) versions
    version = "2026-03"; announced = 2026-02-01; effective = 2026-03-03
    summary = text; major = true; url = "https://…"

    [rights]
    how = text                    # how to use the rights besides the links
    extra = [text, ...]           # statements added to the standard list
    child_age = 14                # default: the regime's (pipa 14, gdpr/ccpa 16)

    [notice]
    title = text; intro = text
    [notice.extra]                # paragraphs added to a section, by section id
    destruction = [text, ...]

Problems in these sections raise :class:`~consent_mw.exceptions.PolicyError`
naming the key, from :func:`check_notice` (call it at start-up) or on the
first render.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal, overload

from ..i18n import in_locale
from ..i18n.notice import HEADINGS, LABELS
from ..policy.model import Policy, register_notice_hash
from ..policy.notice_source import SECTION_IDS, read_source
from .data import FORMAT, build_notice
from .html import to_html
from .layout import layout
from .links import NoticeLinks
from .markdown import to_markdown

__all__ = [
    "FORMAT",
    "HEADINGS",
    "SECTION_IDS",
    "NoticeLinks",
    "check_notice",
    "notice_hash",
    "render_notice",
]


def _data(policy: Policy, locale: str, links: NoticeLinks) -> dict[str, Any]:
    locale = policy.pick_locale(locale)
    source = read_source(policy)
    headings = {
        key: text.format(age=source.rights.child_age)
        for key, text in in_locale(HEADINGS, locale).items()
    }
    return build_notice(policy, source, locale, headings, links)


@overload
def render_notice(
    policy: Policy,
    locale: str,
    *,
    fmt: Literal["json"],
    links: NoticeLinks = ...,
    nonce: str | None = ...,
) -> dict[str, Any]: ...


@overload
def render_notice(
    policy: Policy,
    locale: str,
    *,
    fmt: Literal["html", "markdown"] = ...,
    links: NoticeLinks = ...,
    nonce: str | None = ...,
) -> str: ...


def render_notice(
    policy: Policy,
    locale: str,
    *,
    fmt: Literal["html", "markdown", "json"] = "html",
    links: NoticeLinks = NoticeLinks(),  # noqa: B008 - frozen, so sharing it is safe
    nonce: str | None = None,
) -> str | dict[str, Any]:
    """The privacy notice of ``policy`` in ``locale`` (or the closest policy locale).

    ``fmt="json"`` gives a JSON-serialisable dict; HTML and markdown are written
    from that same dict. ``nonce`` goes on the HTML ``<style>`` element for a
    Content-Security-Policy; the HTML never contains a script.
    """
    data = _data(policy, locale, links)
    if fmt == "json":
        return data
    doc = layout(data)
    if fmt == "html":
        return to_html(doc, nonce=nonce)
    if fmt == "markdown":
        return to_markdown(doc, post_note=in_locale(LABELS, data["locale"])["post"])
    raise ValueError(f"fmt must be 'html', 'markdown' or 'json', not {fmt!r}")


def notice_hash(policy: Policy, locale: str, *, links: NoticeLinks = NoticeLinks()) -> str:  # noqa: B008
    """SHA-256 (hex) of the JSON notice: proof of which notice was in force."""
    data = _data(policy, locale, links)
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_notice(policy: Policy) -> None:
    """Validate the notice sections of ``policy`` and render it once in every locale.

    Raises :class:`~consent_mw.exceptions.PolicyError` naming the key at fault.
    """
    for locale in policy.locales:
        _data(policy, locale, NoticeLinks())


# The ledger's proof of what was shown (Policy.text_hash) covers the notice too.
register_notice_hash(notice_hash)
