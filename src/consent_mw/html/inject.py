"""The block injected at the top of HTML pages: Consent Mode defaults, the vendors'
consent calls, the GPP data and the banner.

Google Consent Mode v2 needs ``gtag('consent', 'default', …)`` to run before
any tag; the server knows the visitor's real state, so it emits the true
default rather than "denied + wait_for_update". The same script arms each vendor's
own consent call (see :mod:`.signals`). It is an inline script whenever the page's
CSP lets one run (see :mod:`.inline`): no request, nothing waited for. Only when
nothing inline can run is it loaded from ``{prefix}/defaults/<modes>.<digest>.js``: a
URL that names the seven Consent Mode states (``g`` granted, ``d`` denied, then ``h``
while the visitor has not chosen) and the script's hash, so its answer is the same for
everyone and cached for a year; a browser fetches it once per decision.

Where the policy writes IAB GPP and the visitor is under a US regime, a JSON data block
with the visitor's GPP strings and the ``__gpp`` API's script follow (see
:func:`gpp_block`, :mod:`consent_mw.core.gpp`).

The block depends on the decision only through its allowed categories, whether a
choice was made, the GPC signal and the regime, so it is built once per such key and
kind (inline, nonce, external) and a page's nonce is filled in (see :class:`Injector`).
"""

from __future__ import annotations

import hashlib
import json
from html import escape
from typing import TYPE_CHECKING, Final

from .._memo import remember
from ..core.consent import Decision
from ..core.gpp import gpp_data
from ..policy.model import CONSENT_MODE_TYPES
from ..policy.parts import Signals
from ..policy.regimes import REGIMES
from .signals import VENDORS, grants_of_modes, vendor_grants, vendor_script, vendor_services

if TYPE_CHECKING:
    from ..core.engine import Engine

__all__ = [
    "MODE_NAMES",
    "NONCE_SLOT",
    "Injector",
    "consent_mode_script",
    "decode_modes",
    "defaults_path",
    "defaults_script",
    "fill",
    "gpp_block",
    "injection",
    "modes_of_code",
]

#: the Consent Mode types in the order they are written (and coded in URLs)
MODE_NAMES: Final = tuple(CONSENT_MODE_TYPES)

#: stands for the page's nonce attribute in a remembered block (see Injector.template)
NONCE_SLOT: Final = b"\x00"

# The [signals] of a policy that has none.
_SIGNALS: Final = Signals()


# Each vendor's service under a policy that lists none: its registry owner.
_OWNERS: Final = tuple(owner for _, _, owner in VENDORS.values())


def defaults_script(
    modes: dict[str, str],
    signals: Signals = _SIGNALS,
    pending: bool = False,
    grants: str | None = None,
    services: tuple[str, ...] = _OWNERS,
) -> str:
    """JavaScript that declares the Consent Mode v2 default ``modes``, then arms each
    vendor's consent call (see :mod:`.signals`); ``pending``: no choice made yet;
    ``grants``: each vendor's own grant (default: what ``modes`` stand for)."""
    lines = [
        "window.dataLayer=window.dataLayer||[];",
        "function gtag(){dataLayer.push(arguments);}",
        f"gtag('consent','default',{json.dumps(modes, separators=(',', ':'))});",
    ]
    if signals.ads_data_redaction and modes["ad_storage"] == "denied":
        # Without ad_storage, strip ad-click identifiers from Google's own requests too.
        lines.append("gtag('set','ads_data_redaction',true);")
    if signals.url_passthrough:
        lines.append("gtag('set','url_passthrough',true);")
    lines.append(vendor_script(grants or grants_of_modes(modes), pending, signals, services))
    return "".join(lines)


def consent_mode_script(decision: Decision) -> str:
    """JavaScript that declares the Consent Mode v2 default for this visitor."""
    verdict = decision._verdict
    policy = verdict.policy
    return defaults_script(
        decision.consent_mode(),
        policy.signals,
        verdict.prompt_reason is not None,
        vendor_grants(policy, decision._allowed),
        vendor_services(policy),
    )


def modes_code(modes: dict[str, str], pending: bool = False, grants: str | None = None) -> str:
    """The URL code of a default: a letter per Consent Mode type, ``h`` while the
    visitor has not chosen, then ``_`` and the vendors' grants where they differ from
    what the modes stand for (a choice made service by service)."""
    code = "".join("g" if modes[name] == "granted" else "d" for name in MODE_NAMES)
    if pending:
        code += "h"
    if grants is not None and grants != grants_of_modes(modes):
        code += "_" + grants
    return code


def modes_of_code(code: str) -> dict[str, str] | None:
    """The modes a URL's code names (None: not a code)."""
    found = decode_modes(code)
    return None if found is None else found[0]


def decode_modes(code: str) -> tuple[dict[str, str], bool, str | None] | None:
    """The modes a URL's code names, whether it says "no choice yet" (``h``: TikTok's
    calls are held) and the vendors' grants when it names them; None: not a code."""
    code, underscore, grants = code.partition("_")
    if underscore and (len(grants) != len(VENDORS) + 1 or not set(grants) <= {"0", "1"}):
        return None
    pending = code.endswith("h")
    code = code.removesuffix("h")
    if len(code) != len(MODE_NAMES) or not set(code) <= {"g", "d"}:
        return None
    modes = {
        name: "granted" if c == "g" else "denied" for name, c in zip(MODE_NAMES, code, strict=True)
    }
    return modes, pending, grants if underscore else None


def defaults_path(
    prefix: str,
    modes: dict[str, str],
    signals: Signals = _SIGNALS,
    pending: bool = False,
    grants: str | None = None,
    services: tuple[str, ...] = _OWNERS,
) -> str:
    """The cacheable URL path of the default script for ``modes``."""
    script = defaults_script(modes, signals, pending, grants, services)
    digest = hashlib.sha256(script.encode()).hexdigest()[:12]
    return f"{prefix}/defaults/{modes_code(modes, pending, grants)}.{digest}.js"


def gpp_block(decision: Decision, src: str, nonce_attr: str) -> str:
    """The visitor's GPP data (a JSON data block: it runs nothing, so any CSP lets it
    be) and the ``__gpp`` API that reads it, loaded only where the policy writes GPP."""
    verdict = decision._verdict
    options = verdict.policy.gpp
    applies = not REGIMES[verdict.regime].opt_in  # always, as injection() uses it
    gpc = verdict.gpc
    data = {
        # what __gpp answers now, and after a choice in the banner (see consent-gpp.js)
        "now": "advertising" not in decision._allowed or gpc,
        "prompt": verdict.prompt_reason is not None,
        "granted": gpp_data(options, opted_out=gpc, gpc=gpc, applies=applies),
        "denied": gpp_data(options, opted_out=True, gpc=gpc, applies=applies),
    }
    text = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return (
        f'<script type="application/json" id="consent-gpp">{text}</script>'
        f'<script src="{escape(src)}"{nonce_attr}></script>'
    )


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
    gpp_src: str | None = None,
    embeds_src: str | None = None,
    storage: str = "{}",
) -> bytes:
    """The HTML block placed right after ``<head>`` (see :mod:`consent_mw.rewrite`):
    the default inline (with ``nonce`` when given) if ``inline``, else from its URL;
    the GPP data and API when the policy writes GPP and the visitor is under an opt-out
    (US) regime (``gpp_src``: the API's URL)."""
    parts: list[str] = []
    nonce_attr = f' nonce="{escape(nonce, quote=True)}"' if nonce else ""
    if consent_mode:
        if inline:
            parts.append(f"<script{nonce_attr}>{consent_mode_script(decision)}</script>")
        else:
            verdict = decision._verdict
            policy = verdict.policy
            src = defaults_path(
                prefix,
                decision.consent_mode(),
                policy.signals,
                verdict.prompt_reason is not None,
                vendor_grants(policy, decision._allowed),
                vendor_services(policy),
            )
            parts.append(f'<script src="{escape(src)}"{nonce_attr}></script>')
    verdict = decision._verdict
    if verdict.policy.gpp.sections and not REGIMES[verdict.regime].opt_in:
        # Only where a US section applies: nobody else pays for the API's request.
        parts.append(gpp_block(decision, gpp_src or f"{prefix}/gpp.js", nonce_attr))
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
        "_gpp",
        "_gpp_src",
        "_memo",
        "_prefix",
        "_storage",
    )

    def __init__(
        self,
        engine: Engine,
        banner_src: str | None,
        gpp_src: str | None = None,
        embeds_src: str | None = None,
    ) -> None:
        config = engine.config
        self._prefix = config.prefix
        self._banner = config.inject_banner
        self._consent_mode = config.consent_mode
        self._banner_src = banner_src
        self._gpp_src = gpp_src
        self._gpp = bool(engine.policy.gpp.sections)
        policy = engine.policy
        # Only where there is something to do: embeds to hold, or storage to clean.
        wanted = policy.embeds is not None or any(c.storage for c in policy.categories)
        self._embeds_src = embeds_src if wanted else None
        self._storage = json.dumps(policy.storage_map, separators=(",", ":"), ensure_ascii=False)
        self._memo: dict[tuple[frozenset[str], bool, bool, bool, bool, str], bytes] = {}

    @property
    def active(self) -> bool:
        return self._banner or self._consent_mode or self._gpp

    def template(self, decision: Decision, *, inline: bool, nonced: bool) -> bytes:
        """The block for ``decision`` with :data:`NONCE_SLOT` where a nonce goes
        (``nonced``) or none; the same object for the same key (:func:`fill` puts a
        page's nonce in)."""
        # Besides the allowed set: "no choice yet" (TikTok holds its calls) and, for
        # GPP, the GPC signal and the regime (whether a US section applies).
        verdict = decision._verdict
        pending = verdict.prompt_reason is not None
        key = (decision._allowed, inline, nonced, pending, verdict.gpc, verdict.regime)
        template = self._memo.get(key)
        if template is None:
            template = injection(
                decision,
                prefix=self._prefix,
                nonce="\x00" if nonced else None,
                banner=self._banner,
                consent_mode=self._consent_mode,
                inline=inline,
                banner_src=self._banner_src,
                gpp_src=self._gpp_src,
                embeds_src=self._embeds_src,
                storage=self._storage,
            )
            remember(self._memo, key, template, 256)
        return template


def fill(template: bytes, nonce: str | None) -> bytes:
    """A block from :meth:`Injector.template` with ``nonce`` in its slots."""
    if not nonce:
        return template
    return template.replace(NONCE_SLOT, escape(nonce, quote=True).encode("utf-8"))
