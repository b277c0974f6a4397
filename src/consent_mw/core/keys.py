"""Signing keys: where a deployment takes them from, and which are refused.

::

    from consent_mw import ConsentMiddleware, secret_from_env
    app = ConsentMiddleware(app, policy="policy.toml", secret_key=secret_from_env())

A key that is missing, short, or a placeholder someone published (in a README, an
example, a tutorial) lets anyone sign consent cookies and form tokens for the site,
so each of these stops the application at start-up, never on a visitor's request.
"""

from __future__ import annotations

import os
import re

from ..exceptions import ConfigError

__all__ = ["ENV_VAR", "check_key", "is_placeholder", "secret_from_env"]

#: the environment variable the examples and the demo read the key from
ENV_VAR = "CONSENT_MW_SECRET"
MIN_LENGTH = 16
_GENERATE = "generate one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
# Words of the placeholders that examples and tutorials print in place of a key,
# compared without case, spaces or punctuation ("change-me", "CHANGE_ME", ...).
_PLACEHOLDER_WORDS = (
    "changeme",
    "changethis",
    "replaceme",
    "replacethis",
    "yoursecret",
    "insertyour",
    "putyour",
    "secretkeyhere",
    "notsecret",
)
_NOT_ALNUM = re.compile(rb"[^a-z0-9]+")


def is_placeholder(key: bytes) -> bool:
    """Whether ``key`` reads like a published placeholder rather than a secret."""
    plain = _NOT_ALNUM.sub(b"", key.lower())
    return any(word.encode() in plain for word in _PLACEHOLDER_WORDS)


def check_key(key: object, what: str = "A secret_key") -> bytes:
    """``key`` as bytes, or :class:`ConfigError` saying what is wrong with ``what``."""
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, bytes) or len(key) < MIN_LENGTH:
        raise ConfigError(f"{what} must be at least {MIN_LENGTH} characters; {_GENERATE}.")
    if is_placeholder(key):
        raise ConfigError(
            f"{what} is a placeholder, not a secret: anyone could sign consent cookies"
            f" with it. Use a long random secret; {_GENERATE}."
        )
    return key


def secret_from_env(name: str = ENV_VAR) -> str:
    """The signing key from the environment variable ``name``; a missing, short or
    placeholder value is a :class:`ConfigError` that names the variable."""
    value = os.environ.get(name, "")
    if not value.strip():
        raise ConfigError(
            f"The environment variable {name} is not set: set it to the site's signing"
            f" key (a long random secret); {_GENERATE}."
        )
    check_key(value, f"The environment variable {name}")
    return value
