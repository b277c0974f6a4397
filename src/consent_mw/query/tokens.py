"""Bearer tokens of the query API, kept only as SHA-256 hashes.

Make one with the CLI; it prints the token once (hand it to the client) and the line
the server is configured with (``name:scope:sha256:<64 hex digits>``)::

    $ consent-mw token create --scope read --name ads-dashboard
    token (shown once; give it to the client):
      cmwq_Jx4…
    configure the server with:
      ads-dashboard:read:sha256:9f86d0…

Configure the app with such lines (``create_app(tokens=[...])``, or the environment
variable ``CONSENT_MW_QUERY_TOKENS``: lines separated by commas or newlines). Scopes:
``read`` answers queries; ``admin`` also purges, deletes and reads the access log.

A presented token is hashed and compared with every configured hash by
:func:`hmac.compare_digest` (no early exit), so neither the hashes at rest nor the
time a comparison takes tells anything about a valid token. The access log names the
token (``name``) and its id (the first 12 hex digits of the hash), never the token.
A token is 256 random bits: a plain SHA-256 suffices (no password stretching needed).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from ..exceptions import ConfigError

__all__ = [
    "SCOPES",
    "Scope",
    "TokenRing",
    "TokenSpec",
    "hash_token",
    "new_token",
    "parse_token_lines",
]

Scope = Literal["read", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "admin")
TOKEN_PREFIX = "cmwq_"
MAX_TOKEN_LENGTH = 512
_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
_HEX = re.compile(r"[0-9a-f]{64}")


def new_token() -> str:
    """A new bearer token: ``cmwq_`` and 256 random bits, URL-safe."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The hex SHA-256 of ``token`` (what the server stores)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TokenSpec:
    """A configured token: its name (in the access log), scope and SHA-256."""

    name: str
    scope: Scope
    sha256: str

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ConfigError(
                f"Token name {self.name!r} must be 1-64 letters, digits, '.', '_' or '-'."
            )
        if self.scope not in SCOPES:
            raise ConfigError(f"Token scope must be read or admin, not {self.scope!r}.")
        if not _HEX.fullmatch(self.sha256):
            raise ConfigError(
                f"Token {self.name!r}: the hash must be 64 lower-case hex digits (SHA-256)."
            )

    @property
    def token_id(self) -> str:
        return self.sha256[:12]

    @property
    def line(self) -> str:
        return f"{self.name}:{self.scope}:sha256:{self.sha256}"

    @classmethod
    def parse(cls, line: str) -> TokenSpec:
        """``name:scope:sha256:<hex>`` (as ``consent-mw token create`` prints it)."""
        parts = line.strip().split(":")
        if len(parts) != 4 or parts[2] != "sha256":
            raise ConfigError(
                "A token line is name:scope:sha256:<64 hex digits>"
                " (consent-mw token create prints one)."
            )
        name, scope, _, digest = parts
        if scope not in SCOPES:
            raise ConfigError(f"Token {name!r}: scope must be read or admin, not {scope!r}.")
        return cls(name, "admin" if scope == "admin" else "read", digest.lower())


def parse_token_lines(text: str) -> list[TokenSpec]:
    """Token lines separated by commas or newlines (blank entries and ``#`` lines skipped)."""
    items = (item.strip() for line in text.splitlines() for item in line.split(","))
    return [TokenSpec.parse(item) for item in items if item and not item.startswith("#")]


class TokenRing:
    """The configured tokens; :meth:`verify` finds the one a request presents."""

    def __init__(self, tokens: Iterable[TokenSpec | str]) -> None:
        specs = [t if isinstance(t, TokenSpec) else TokenSpec.parse(t) for t in tokens]
        if not specs:
            raise ConfigError(
                "The query API needs at least one token: run consent-mw token create and"
                " configure the line it prints."
            )
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise ConfigError(
                "Token names must be unique: the access log tells tokens apart by name."
            )
        if len({s.sha256 for s in specs}) != len(specs):
            raise ConfigError("The same token hash is configured twice.")
        self.specs = tuple(specs)
        self._digests = [(bytes.fromhex(s.sha256), s) for s in specs]

    def verify(self, presented: str) -> TokenSpec | None:
        """The spec whose hash matches ``presented``, or ``None``."""
        if not presented or len(presented) > MAX_TOKEN_LENGTH:
            return None
        digest = hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest()
        found: TokenSpec | None = None
        for expected, spec in self._digests:  # every comparison runs: no early exit
            if hmac.compare_digest(digest, expected):
                found = spec
        return found
