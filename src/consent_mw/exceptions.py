"""Exceptions raised by consent_mw.

Configuration problems are raised when the middleware or a store is built,
so a broken deployment fails at start-up rather than on a visitor's request.
Bad input from a visitor never escapes as an exception: it becomes
"undecided" consent or a JSON 4xx answer.

::

    ConsentError
    ├── ConfigError          bad middleware options
    ├── PolicyError          a policy file or dict that does not validate
    └── StoreError           the ledger could not complete an operation
        └── StoreUnavailable the ledger is down or timed out (retry later)
"""

from __future__ import annotations

__all__ = ["ConfigError", "ConsentError", "PolicyError", "StoreError", "StoreUnavailable"]


class ConsentError(Exception):
    """Base class of every exception consent_mw raises."""


class ConfigError(ConsentError, ValueError):
    """A middleware option has a value that cannot work."""


class PolicyError(ConsentError, ValueError):
    """A policy does not validate; ``key`` names the offending entry."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"policy key {key!r}: {problem}")


class StoreError(ConsentError):
    """The ledger could not complete an operation."""


class StoreUnavailable(StoreError):
    """The ledger is unreachable or too slow; the operation may be retried."""
