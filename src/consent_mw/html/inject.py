"""The block injected at the top of HTML pages: Consent Mode defaults and the banner.

Google Consent Mode v2 needs ``gtag('consent', 'default', …)`` to run before
any tag; the server knows the visitor's real state, so it emits the true
default rather than "denied + wait_for_update". With a CSP nonce the default is
an inline script carrying the nonce; without one nothing inline is emitted
(a strict CSP would block it) and the same code is loaded from
``{prefix}/defaults.js``, answered per visitor.
"""

from __future__ import annotations

import json
from html import escape

from ..core.consent import Decision

__all__ = ["consent_mode_script", "injection"]


def consent_mode_script(decision: Decision) -> str:
    """JavaScript that declares the Consent Mode v2 default for this visitor."""
    modes = decision.consent_mode()
    lines = [
        "window.dataLayer=window.dataLayer||[];",
        "function gtag(){dataLayer.push(arguments);}",
        f"gtag('consent','default',{json.dumps(modes, separators=(',', ':'))});",
    ]
    if modes["ad_storage"] == "denied":
        # Without ad_storage, strip ad-click identifiers from Google's own requests too.
        lines.append("gtag('set','ads_data_redaction',true);")
    return "".join(lines)


def injection(
    decision: Decision,
    *,
    prefix: str,
    nonce: str | None,
    banner: bool,
    consent_mode: bool,
    locale: str | None = None,
) -> bytes:
    """The HTML block placed right after ``<head>`` (see :mod:`consent_mw.rewrite`)."""
    parts: list[str] = []
    nonce_attr = f' nonce="{escape(nonce, quote=True)}"' if nonce else ""
    if consent_mode:
        if nonce:
            parts.append(f"<script{nonce_attr}>{consent_mode_script(decision)}</script>")
        else:
            parts.append(f'<script src="{escape(prefix)}/defaults.js"></script>')
    if banner:
        locale_attr = f' data-locale="{escape(locale, quote=True)}"' if locale else ""
        parts.append(
            f'<script src="{escape(prefix)}/banner.js" defer data-endpoint="{escape(prefix)}"'
            f"{locale_attr}{nonce_attr}></script>"
        )
    return "".join(parts).encode("utf-8")
