"""The signed consent cookie, and Cookie / Set-Cookie header handling.

Consent cookie format (documented in the README)::

    base64url(compact JSON) "." base64url(HMAC-SHA256 signature)

signed with :class:`itsdangerous.Signer` (salt ``consent_mw.cookie``, HMAC key
derivation, SHA-256). The JSON carries ``v`` (format version), ``p``
(policy version), ``c`` (optional category -> 0/1), ``i`` (consent id), ``t``
and ``u`` (given and updated, Unix seconds), ``s`` (source), ``a`` (action),
``g`` (GPC was sent when choosing) and ``o`` (explicit opt-in despite GPC).
Format 2 adds one shape to ``c``: a category chosen service by service is an
object of service name -> 0/1 (``{"advertising": {"Meta": 1, "TikTok": 0}}``).
A consent with no such category is still written as format 1, so a release that
reads only format 1 keeps reading it; both formats are read.
The payload is readable by the banner on purpose; the signature keeps it honest.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Sequence
from typing import Any, get_args

from itsdangerous import Signer

from .._memo import remember
from ..exceptions import ConfigError
from .consent import Action, Consent, Source
from .keys import check_key

__all__ = ["ConsentCookieCodec", "parse_cookie_header", "set_cookie_name"]

#: the format a consent with per-service choices is written in; without, format 1
FORMAT_VERSION = 2
_FORMATS = frozenset({1, 2})
#: the no-JS pages' form nonce cookie (SameSite=Strict; see consent_mw.pages)
FORM_COOKIE = "consent_mw_form"
SALT = b"consent_mw.cookie"
# Browsers keep at most ~4096 bytes per cookie (RFC 6265 section 6.1); anything
# longer did not come from us.
MAX_COOKIE_SIZE = 4096
_ID = re.compile(r"[A-Za-z0-9_-]{16,43}\Z")
_CATEGORY = re.compile(r"[a-z][a-z0-9_]{0,31}\Z")
# A service name as the policy allows one (policy.checks.SERVICE_NAME); at most this
# many per category, so a cookie stays well under the browsers' 4 KiB.
_SERVICE = re.compile(r"[^\x00-\x1f\x7f\"\\]{1,64}\Z")
MAX_SERVICES = 32
_SOURCES = frozenset(get_args(Source))
_ACTIONS = frozenset(get_args(Action))
# Clock skew tolerated for a cookie's own timestamps.
_SKEW = 300


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class ConsentCookieCodec:
    """Sign and verify consent cookies; rotation: the first key signs, all verify.

    ``loads`` never raises: a tampered, expired, garbled or oversized value
    gives ``None`` ("undecided").
    """

    def __init__(
        self,
        secret_keys: str | bytes | Sequence[str | bytes],
        *,
        max_age_days: int = 730,
        cache_size: int = 10_000,
    ) -> None:
        if isinstance(secret_keys, (str, bytes)):
            secret_keys = [secret_keys]
        if not secret_keys:
            raise ConfigError("secret_key must name at least one key.")
        keys = [check_key(k) for k in secret_keys]
        # itsdangerous signs; the derived keys are computed once here so that
        # verification on the hot path is one HMAC (Signer re-derives per call).
        #: the key that signs (the first); other signers derive their own keys from it
        self.signing_key = keys[0]
        self._signer = Signer(
            keys[0], salt=SALT, key_derivation="hmac", digest_method=hashlib.sha256
        )
        self._macs = [
            hmac.new(
                Signer(
                    k, salt=SALT, key_derivation="hmac", digest_method=hashlib.sha256
                ).derive_key(),
                digestmod=hashlib.sha256,
            )
            for k in keys
        ]
        self.max_age = max_age_days * 86400
        # A visitor sends the same cookie on every request: remember verified values
        # (keyed by the whole signed string, so a changed byte is a miss) to keep
        # the per-request cost at a dict lookup. Bounded; oldest entries go first.
        self._verified: dict[str, Consent] = {}
        self.cache_size = cache_size

    def dumps(self, consent: Consent) -> str:
        choices: dict[str, Any] = {k: int(v) for k, v in consent.choices.items()}
        for category, services in consent.services.items():
            choices[category] = {name: int(flag) for name, flag in services.items()}
        payload: dict[str, Any] = {
            "v": FORMAT_VERSION if consent.services else 1,
            "p": consent.policy_version,
            "c": choices,
            "i": consent.id,
            "t": consent.given_at,
            "u": consent.updated_at,
            "s": consent.source,
            "a": consent.action,
        }
        if consent.gpc:
            payload["g"] = 1
        if consent.gpc_override:
            payload["o"] = 1
        text = _b64encode(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
        return self._signer.sign(text).decode("ascii")

    def loads(self, value: str, *, now: float | None = None) -> Consent | None:
        now = time.time() if now is None else now
        cached = self._verified.get(value)
        if cached is not None:
            if cached.updated_at > now + _SKEW or now - cached.updated_at > self.max_age:
                return None
            return cached
        consent = self._verify(value, now)
        if consent is not None:
            remember(self._verified, value, consent, self.cache_size)
        return consent

    def _verify(self, value: str, now: float) -> Consent | None:
        if not value or len(value) > MAX_COOKIE_SIZE:
            return None
        payload, sep, signature = value.rpartition(".")
        if not sep or not payload:
            return None
        try:
            raw_payload = payload.encode("ascii")
            given = _b64decode(signature)
        except (UnicodeEncodeError, binascii.Error, ValueError):
            return None
        for base in self._macs:
            mac = base.copy()
            mac.update(raw_payload)
            if hmac.compare_digest(mac.digest(), given):
                break
        else:
            return None
        try:
            data = json.loads(_b64decode(payload))
        except (binascii.Error, ValueError):
            return None
        return self._consent(data, now)

    def _consent(self, data: Any, now: float) -> Consent | None:
        # A valid signature over an unexpected shape (an older format, a bug) is
        # still "undecided", never an error.
        if not isinstance(data, dict) or data.get("v") not in _FORMATS:
            return None
        version, choices, cid = data.get("p"), data.get("c"), data.get("i")
        given, updated = data.get("t"), data.get("u")
        source, action = data.get("s", "banner"), data.get("a", "custom")
        if not (isinstance(version, str) and 0 < len(version) <= 32):
            return None
        if not (isinstance(cid, str) and _ID.match(cid)):
            return None
        if not (type(given) is int and type(updated) is int and 0 < given <= updated):
            return None
        if updated > now + _SKEW or now - updated > self.max_age:
            return None
        if not isinstance(choices, dict) or len(choices) > 64:
            return None
        parsed: dict[str, bool] = {}
        services: dict[str, dict[str, bool]] = {}
        for key, flag in choices.items():
            if not _CATEGORY.match(key):
                return None
            if isinstance(flag, dict) and data["v"] >= 2:
                chosen = _services(flag)
                if chosen is None:
                    return None
                parsed[key] = False
                services[key] = chosen
                continue
            if flag not in (0, 1) or isinstance(flag, float):
                return None
            parsed[key] = bool(flag)
        if source not in _SOURCES or action not in _ACTIONS:
            return None
        return Consent(
            id=cid,
            policy_version=version,
            choices=parsed,
            given_at=given,
            updated_at=updated,
            source=source,
            action=action,
            gpc=data.get("g") == 1,
            gpc_override=data.get("o") == 1,
            services=services,
        )


def _services(flags: dict[Any, Any]) -> dict[str, bool] | None:
    """A format-2 category object (service name -> 0/1), or None when malformed."""
    if len(flags) > MAX_SERVICES:
        return None
    chosen: dict[str, bool] = {}
    for name, flag in flags.items():
        if not _SERVICE.match(name) or flag not in (0, 1) or isinstance(flag, float):
            return None
        chosen[name] = bool(flag)
    return chosen


def parse_cookie_header(header: str) -> list[tuple[str, str]]:
    """``name=value`` pairs of a request ``Cookie`` header, in order, duplicates kept.

    Lenient like browsers and Starlette: segments without ``=`` are a value
    with an empty name; nothing here raises.
    """
    pairs = []
    for segment in header.split(";"):
        name, sep, value = segment.partition("=")
        if not sep:
            name, value = "", name
        name, value = name.strip(), value.strip()
        if name or value:
            pairs.append((name, value))
    return pairs


def set_cookie_name(header_value: str) -> str:
    """The cookie name a ``Set-Cookie`` value sets (RFC 6265 section 5.2)."""
    pair = header_value.split(";", 1)[0]
    name, sep, _ = pair.partition("=")
    return name.strip() if sep else ""


def build_set_cookie(
    name: str,
    value: str,
    *,
    max_age: int | None,
    path: str = "/",
    domain: str | None = None,
    secure: bool = False,
    httponly: bool = False,
    samesite: str = "Lax",
) -> str:
    parts = [f"{name}={value}", f"Path={path}"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
        if max_age <= 0:
            parts.append("Expires=Thu, 01 Jan 1970 00:00:00 GMT")
    if domain:
        parts.append(f"Domain={domain}")
    if secure:
        parts.append("Secure")
    if httponly:
        parts.append("HttpOnly")
    if samesite:
        parts.append(f"SameSite={samesite}")
    return "; ".join(parts)
