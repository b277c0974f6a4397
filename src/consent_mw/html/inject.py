"""The block injected at the top of HTML pages: Consent Mode defaults and the banner.

Google Consent Mode v2 needs ``gtag('consent', 'default', …)`` to run before
any tag; the server knows the visitor's real state, so it emits the true
default rather than "denied + wait_for_update". The default is an inline script
whenever the page's CSP lets one run (see :mod:`.inline`): no request, nothing
waited for. Only when nothing inline can run is it loaded from
``{prefix}/defaults/<modes>.<digest>.js``: a URL that names the seven Consent Mode
states (``g`` granted, ``d`` denied) and the script's hash, so its answer is the
same for everyone and cached for a year; a browser fetches it once per decision.

The block depends on the decision only through its allowed categories, so it is
built once per allowed set and kind (inline, nonce, external) and a page's nonce
is filled in (see :class:`Injector`).
"""

from __future__ import annotations

import hashlib
import json
from html import escape
from typing import TYPE_CHECKING, Final

from .._memo import remember
from ..core.consent import Decision
from ..policy.model import CONSENT_MODE_TYPES

if TYPE_CHECKING:
    from ..core.engine import Engine

__all__ = [
    "MODE_NAMES",
    "Injector",
    "consent_mode_script",
    "defaults_path",
    "defaults_script",
    "injection",
    "modes_of_code",
]

#: the Consent Mode types in the order they are written (and coded in URLs)
MODE_NAMES: Final = tuple(CONSENT_MODE_TYPES)

# Stands for the page's nonce attribute in a remembered block.
_NONCE: Final = b"\x00"


def defaults_script(modes: dict[str, str]) -> str:
    """JavaScript that declares the Consent Mode v2 default ``modes``."""
    lines = [
        "window.dataLayer=window.dataLayer||[];",
        "function gtag(){dataLayer.push(arguments);}",
        f"gtag('consent','default',{json.dumps(modes, separators=(',', ':'))});",
    ]
    if modes["ad_storage"] == "denied":
        # Without ad_storage, strip ad-click identifiers from Google's own requests too.
        lines.append("gtag('set','ads_data_redaction',true);")
    return "".join(lines)


def consent_mode_script(decision: Decision) -> str:
    """JavaScript that declares the Consent Mode v2 default for this visitor."""
    return defaults_script(decision.consent_mode())


def modes_code(modes: dict[str, str]) -> str:
    return "".join("g" if modes[name] == "granted" else "d" for name in MODE_NAMES)


def modes_of_code(code: str) -> dict[str, str] | None:
    """The modes a URL's code names (None: not a code)."""
    if len(code) != len(MODE_NAMES) or not set(code) <= {"g", "d"}:
        return None
    return {
        name: "granted" if c == "g" else "denied" for name, c in zip(MODE_NAMES, code, strict=True)
    }


def defaults_path(prefix: str, modes: dict[str, str]) -> str:
    """The cacheable URL path of the default script for ``modes``."""
    digest = hashlib.sha256(defaults_script(modes).encode()).hexdigest()[:12]
    return f"{prefix}/defaults/{modes_code(modes)}.{digest}.js"


def injection(
    decision: Decision,
    *,
    prefix: str,
    nonce: str | None,
    banner: bool,
    consent_mode: bool,
    locale: str | None = None,
    inline: bool = True,
    banner_src: str | None = None,
    embeds_src: str | None = None,
    storage: str = "{}",
) -> bytes:
    """The HTML block placed right after ``<head>`` (see :mod:`consent_mw.rewrite`):
    the default inline (with ``nonce`` when given) if ``inline``, else from its URL."""
    parts: list[str] = []
    nonce_attr = f' nonce="{escape(nonce, quote=True)}"' if nonce else ""
    if consent_mode:
        if inline:
            parts.append(f"<script{nonce_attr}>{consent_mode_script(decision)}</script>")
        else:
            src = defaults_path(prefix, decision.consent_mode())
            parts.append(f'<script src="{escape(src)}"{nonce_attr}></script>')
    if banner:
        locale_attr = f' data-locale="{escape(locale, quote=True)}"' if locale else ""
        src = banner_src or f"{prefix}/banner.js"
        parts.append(
            f'<script src="{escape(src)}" defer data-endpoint="{escape(prefix)}"'
            f"{locale_attr}{nonce_attr}></script>"
        )
        if embeds_src:
            # The embed placeholders' buttons and the storage cleaner: what the visitor
            # allows now, and which storage keys and cookies each service leaves.
            allowed = " ".join(sorted(decision._allowed))
            parts.append(
                f'<script src="{escape(embeds_src)}" defer data-endpoint="{escape(prefix)}"'
                f' data-allowed="{escape(allowed, quote=True)}"'
                f' data-storage="{escape(storage, quote=True)}"{nonce_attr}></script>'
            )
    return "".join(parts).encode("utf-8")


class Injector:
    """:func:`injection` for one engine, built once per allowed set and kind."""

    __slots__ = (
        "_banner",
        "_banner_src",
        "_consent_mode",
        "_embeds_src",
        "_memo",
        "_prefix",
        "_storage",
    )

    def __init__(
        self, engine: Engine, banner_src: str | None, embeds_src: str | None = None
    ) -> None:
        config = engine.config
        self._prefix = config.prefix
        self._banner = config.inject_banner
        self._consent_mode = config.consent_mode
        self._banner_src = banner_src
        policy = engine.policy
        # Only where there is something to do: embeds to hold, or storage to clean.
        wanted = policy.embeds is not None or any(c.storage for c in policy.categories)
        self._embeds_src = embeds_src if wanted else None
        self._storage = json.dumps(policy.storage_map, separators=(",", ":"), ensure_ascii=False)
        self._memo: dict[tuple[frozenset[str], bool, bool], bytes] = {}

    @property
    def active(self) -> bool:
        return self._banner or self._consent_mode

    def block(self, decision: Decision, *, inline: bool, nonce: str | None) -> bytes:
        key = (decision._allowed, inline, bool(nonce))
        template = self._memo.get(key)
        if template is None:
            template = injection(
                decision,
                prefix=self._prefix,
                nonce="\x00" if nonce else None,
                banner=self._banner,
                consent_mode=self._consent_mode,
                inline=inline,
                banner_src=self._banner_src,
                embeds_src=self._embeds_src,
                storage=self._storage,
            )
            remember(self._memo, key, template, 256)
        if not nonce:
            return template
        return template.replace(_NONCE, escape(nonce, quote=True).encode("utf-8"))
