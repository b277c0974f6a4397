"""What the query surface answers about a subject: JSON-ready views of ledger records.

The views never carry the device data a record keeps as proof (the truncated IP and
the user agent): the advertising team needs the consent facts, not the device.
``personalised_ads`` and ``prompt_reason`` are judged under the *current* policy by the
middleware's own rules (:func:`consent_mw.consent.judge`): an outdated policy version,
an expired choice or a GPC signal without an explicit override turn advertising off.
A child flag is not in the ledger, so it is not considered.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypedDict, cast

from .._memo import remember
from ..core.consent import Action, Consent, Source, consent_mode_of, judge
from ..policy.model import Policy
from ..stores import Record

__all__ = ["CSV_FIELDS", "AdsJudge", "RecordView", "SubjectState", "record_view", "state_of"]


class SubjectState(TypedDict):
    """A subject's current state (its latest record) and what it allows now."""

    subject_id: str
    user_id: str | None
    record_id: str
    time: float
    policy_version: str
    action: str
    source: str
    regime: str
    country: str | None
    gpc: bool
    gpc_override: bool
    choices: dict[str, bool]
    #: categories chosen service by service: category -> service -> allowed
    services: dict[str, dict[str, bool]]
    personalised_ads: bool | None
    prompt_reason: str | None


class RecordView(TypedDict):
    """One proof-of-consent record as the query surface shows it (no IP, no user agent)."""

    record_id: str
    subject_id: str
    user_id: str | None
    time: float
    policy_version: str
    text_hash: str
    choices: dict[str, bool]
    services: dict[str, dict[str, bool]]
    action: str
    source: str
    regime: str
    country: str | None
    locale: str | None
    gpc: bool
    gpc_override: bool
    extra: dict[str, Any]


#: Columns of a CSV export before the per-category ``choice:<id>`` columns.
CSV_FIELDS: tuple[str, ...] = (
    "subject_id",
    "user_id",
    "record_id",
    "time",
    "policy_version",
    "action",
    "source",
    "regime",
    "country",
    "gpc",
    "gpc_override",
    "personalised_ads",
    "prompt_reason",
)

_MEMO_MAX = 4096


class AdsJudge:
    """``judge(record, now) -> (personalised_ads, prompt_reason)`` under ``policy``
    (``(None, None)`` without one), memoised on the only inputs the rules read, so a
    batch of a thousand records costs a dictionary lookup each."""

    def __init__(self, policy: Policy | None, *, version_blind: bool = False) -> None:
        # version_blind: judge a record as if its policy version were the current one
        # (for a past time, when that version may well have been in force; the ledger
        # does not say when each version took effect). Expiry and GPC still count.
        self.policy = policy
        self.version_blind = version_blind
        self._memo: dict[tuple[Any, ...], tuple[bool, str | None, bool]] = {}
        self._lifetimes: dict[str | None, int] = {}

    def _lifetime(self, policy: Policy, country: str | None) -> int:
        seconds = self._lifetimes.get(country)
        if seconds is None:
            seconds = policy.lifetime_days(policy.regime_for(country)) * 86400
            self._lifetimes[country] = seconds
        return seconds

    def __call__(self, record: Record, now: float) -> tuple[bool | None, str | None]:
        if self.policy is None:
            return None, None
        found = self._judged(record, now)
        return found[0], found[1]

    def google_ads(self, record: Record, now: float) -> bool | None:
        """Whether Google's ad types (``ad_user_data``, ``ad_personalization``) are
        granted, as Consent Mode grants them on the page: advertising allowed whole, or
        the service Google's tags belong to (None without a policy)."""
        if self.policy is None:
            return None
        return self._judged(record, now)[2]

    def _judged(self, record: Record, now: float) -> tuple[bool, str | None, bool]:
        policy = self.policy
        assert policy is not None
        updated = int(record.time)
        expired = now - updated > self._lifetime(policy, record.country)
        version = policy.version if self.version_blind else record.policy_version
        key = (
            version,
            tuple(record.choices.items()),
            tuple((c, tuple(s.items())) for c, s in record.services.items()),
            record.country,
            record.gpc,
            record.gpc_override,
            expired,
        )
        found = self._memo.get(key)
        if found is None:
            consent = Consent(
                id=record.subject_id,
                policy_version=version,
                choices=dict(record.choices),
                given_at=updated,
                updated_at=updated,
                source=cast(Source, record.source),
                action=cast(Action, record.action),
                gpc=record.gpc,
                gpc_override=record.gpc_override,
                services={c: dict(s) for c, s in record.services.items()},
            )
            verdict = judge(policy, consent, gpc=record.gpc, country=record.country, now=now)
            modes = consent_mode_of(policy, verdict.allowed)
            found = (
                "advertising" in verdict.allowed,
                verdict.prompt_reason,
                modes["ad_user_data"] == "granted",
            )
            remember(self._memo, key, found, _MEMO_MAX)
        return found


def state_of(
    record: Record,
    judged: Callable[[Record, float], tuple[bool | None, str | None]],
    now: float | None = None,
) -> SubjectState:
    """The :class:`SubjectState` view of a current-state record."""
    ads, reason = judged(record, time.time() if now is None else now)
    return {
        "subject_id": record.subject_id,
        "user_id": record.user_id,
        "record_id": record.record_id,
        "time": record.time,
        "policy_version": record.policy_version,
        "action": record.action,
        "source": record.source,
        "regime": record.regime,
        "country": record.country,
        "gpc": record.gpc,
        "gpc_override": record.gpc_override,
        "choices": dict(record.choices),
        "services": {c: dict(s) for c, s in record.services.items()},
        "personalised_ads": ads,
        "prompt_reason": reason,
    }


def record_view(record: Record) -> RecordView:
    """The :class:`RecordView` of a proof record."""
    return {
        "record_id": record.record_id,
        "subject_id": record.subject_id,
        "user_id": record.user_id,
        "time": record.time,
        "policy_version": record.policy_version,
        "text_hash": record.text_hash,
        "choices": dict(record.choices),
        "services": {c: dict(s) for c, s in record.services.items()},
        "action": record.action,
        "source": record.source,
        "regime": record.regime,
        "country": record.country,
        "locale": record.locale,
        "gpc": record.gpc,
        "gpc_override": record.gpc_override,
        "extra": dict(record.extra),
    }
