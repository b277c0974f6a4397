"""``Consent.create``, ``decide()`` and the app's view of a ``Decision``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from consent_mw import Consent, Policy
from consent_mw.core.consent import Decision, decide, judge
from consent_mw.policy import CONSENT_MODE_TYPES
from support.harness import custom_policy_dict

NOW = 1_790_000_000
DAY = 86400
GDPR = Policy.preset("gdpr")
CCPA = Policy.preset("ccpa")
CUSTOM = Policy.from_dict(custom_policy_dict())
SHORT = Policy.preset("gdpr", consent_lifetime_days=30)
POLICIES = {"gdpr": GDPR, "ccpa": CCPA, "custom": CUSTOM, "short": SHORT}
ALL_ON = {"functional": True, "analytics": True, "advertising": True}


def consent(
    policy: Policy,
    choices: dict[str, bool],
    *,
    age_days: float = 1,
    version: str | None = None,
    gpc_override: bool = False,
    action: str = "custom",
) -> Consent:
    at = int(NOW - age_days * DAY)
    return Consent(
        id="AbCdEfGhIjKlMnOpQrStUv",
        policy_version=version or policy.version,
        choices=choices,
        given_at=at,
        updated_at=at,
        action=action,  # type: ignore[arg-type]
        gpc=gpc_override,
        gpc_override=gpc_override,
    )


@dataclass(frozen=True)
class Case:
    id: str
    policy: str
    choices: dict[str, bool] | None  # None: no consent cookie
    allowed: set[str]
    reason: str | None
    consent: dict[str, Any] = field(default_factory=dict)
    signals: dict[str, Any] = field(default_factory=dict)


N = "necessary"
CASES = [
    Case("undecided", "gdpr", None, {N}, "undecided"),
    Case("decided", "gdpr", {**ALL_ON, "advertising": False}, {N, "functional", "analytics"}, None),
    Case("accept_all", "gdpr", ALL_ON, {N, "functional", "analytics", "advertising"}, None),
    Case("policy changed", "gdpr", ALL_ON, {N}, "policy_changed", {"version": "0"}),
    Case(
        "compatible version",
        "custom",
        {"chat": True, "analytics": False, "advertising": False},
        {N, "chat"},
        None,
        {"version": "2"},
    ),
    Case("incompatible version", "custom", {"chat": True}, {N}, "policy_changed", {"version": "1"}),
    Case("gdpr lifetime not reached", "gdpr", ALL_ON, {N, *ALL_ON}, None, {"age_days": 182}),
    Case("gdpr lifetime passed", "gdpr", ALL_ON, {N}, "expired", {"age_days": 182.01}),
    Case(
        "country regime lifetime",
        "gdpr",
        ALL_ON,
        {N, *ALL_ON},
        None,
        {"age_days": 300},
        {"country": "KR"},
    ),
    Case("policy lifetime", "short", ALL_ON, {N}, "expired", {"age_days": 31}),
    Case("policy lifetime not reached", "short", ALL_ON, {N, *ALL_ON}, None, {"age_days": 29}),
    Case("ccpa lifetime passed", "ccpa", {}, {N, *ALL_ON}, "expired", {"age_days": 366}),
    Case(
        "new category",
        "custom",
        {"analytics": True, "advertising": False},
        {N, "analytics"},
        "new_category",
    ),
    Case(
        "GPC removes advertising",
        "gdpr",
        ALL_ON,
        {N, "functional", "analytics"},
        None,
        signals={"gpc": True},
    ),
    Case(
        "override beats GPC",
        "gdpr",
        ALL_ON,
        {N, *ALL_ON},
        None,
        {"gpc_override": True},
        {"gpc": True},
    ),
    Case(
        "override survives a new category",
        "custom",
        {"analytics": False, "advertising": True},
        {N, "advertising"},
        "new_category",
        {"gpc_override": True},
        {"gpc": True},
    ),
    Case(
        "override does not survive a policy change",
        "ccpa",
        ALL_ON,
        {N, "functional", "analytics"},
        "policy_changed",
        {"gpc_override": True, "version": "0"},
        {"gpc": True},
    ),
    Case(
        "child beats override",
        "gdpr",
        ALL_ON,
        {N, "functional", "analytics"},
        None,
        {"gpc_override": True},
        {"gpc": True, "child": True},
    ),
    Case("child", "gdpr", ALL_ON, {N, "functional", "analytics"}, None, signals={"child": True}),
    Case("ccpa defaults", "ccpa", None, {N, *ALL_ON}, "undecided"),
    Case(
        "ccpa GPC", "ccpa", None, {N, "functional", "analytics"}, "undecided", signals={"gpc": True}
    ),
    Case(
        "ccpa child",
        "ccpa",
        None,
        {N, "functional", "analytics"},
        "undecided",
        signals={"child": True},
    ),
    Case("ccpa opt-out", "ccpa", dict.fromkeys(ALL_ON, False), {N}, None),
    Case("ccpa policy changed", "ccpa", {}, {N, *ALL_ON}, "policy_changed", {"version": "0"}),
    Case(
        "gdpr policy in a ccpa country", "gdpr", None, {N}, "undecided", signals={"country": "US"}
    ),
    Case(
        "choices that are not True",
        "gdpr",
        {"analytics": 1, "functional": "yes", "advertising": False},
        {N},
        None,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_decide(case: Case) -> None:
    policy = POLICIES[case.policy]
    given = None if case.choices is None else consent(policy, case.choices, **case.consent)
    decision = decide(policy, given, now=NOW, **case.signals)
    assert decision.allowed == frozenset(case.allowed)
    assert decision.prompt_reason == case.reason
    assert decision.needs_prompt is (case.reason is not None)
    assert decision.decided is (case.reason is None)
    assert decision.gpc is case.signals.get("gpc", False)
    assert decision.child is case.signals.get("child", False)
    assert decision.consent is given


def test_regime_and_country() -> None:
    assert decide(GDPR, None, country="KR", now=NOW).regime == "pipa"
    assert decide(GDPR, None, country="US", now=NOW).regime == "ccpa"
    assert decide(GDPR, None, country=None, now=NOW).regime == "gdpr"
    assert decide(GDPR, None, country="KR", now=NOW).country == "KR"


def test_country_regime_changes_the_defaults() -> None:
    # A CCPA (opt-out) policy applied to a visitor in a GDPR country: opt-in applies.
    assert decide(CCPA, None, country="DE", now=NOW).allowed == frozenset({N})


def test_decide_defaults_to_the_clock() -> None:
    import time

    fresh = consent(GDPR, ALL_ON, age_days=(NOW - time.time()) / DAY + 1)
    assert decide(GDPR, fresh).prompt_reason is None
    stale = consent(GDPR, ALL_ON, age_days=(NOW - time.time()) / DAY + 200)
    assert decide(GDPR, stale).prompt_reason == "expired"


# -- Consent.create --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choices", "action", "gpc", "stored", "override"),
    [
        ({}, "reject_all", False, dict.fromkeys(ALL_ON, False), False),
        (ALL_ON, "accept_all", False, ALL_ON, False),
        (ALL_ON, "accept_all", True, {**ALL_ON, "advertising": False}, False),
        (
            {"advertising": True},
            "custom",
            True,
            {**dict.fromkeys(ALL_ON, False), "advertising": True},
            True,
        ),
        (
            {"analytics": True},
            "custom",
            True,
            {**dict.fromkeys(ALL_ON, False), "analytics": True},
            False,
        ),
        (
            {"necessary": False, "chat": True, "analytics": True},
            "custom",
            False,
            {**dict.fromkeys(ALL_ON, False), "analytics": True},
            False,
        ),
    ],
)
def test_create(
    choices: dict[str, bool], action: str, gpc: bool, stored: dict[str, bool], override: bool
) -> None:
    created = Consent.create(GDPR, choices, action=action, gpc=gpc, now=NOW)  # type: ignore[arg-type]
    assert dict(created.choices) == stored
    assert created.gpc is gpc
    assert created.gpc_override is override
    assert created.policy_version == GDPR.version
    assert created.given_at == created.updated_at == NOW
    assert created.action == action
    assert 16 <= len(created.id) <= 43


def test_create_keeps_the_subject_and_first_time() -> None:
    first = Consent.create(GDPR, ALL_ON, action="accept_all", now=NOW - 100)
    second = Consent.create(GDPR, {}, action="withdraw", previous=first, now=NOW)
    assert second.id == first.id
    assert second.given_at == NOW - 100
    assert second.updated_at == NOW
    third = Consent.create(GDPR, {}, action="reject_all", now=NOW)
    assert third.id != first.id


# -- the app's view --------------------------------------------------------------------------------


def test_consent_mode_gives_all_seven_types() -> None:
    none = decide(GDPR, None, now=NOW).consent_mode()
    assert list(none) == list(CONSENT_MODE_TYPES)
    assert len(none) == 7
    assert {k for k, v in none.items() if v == "granted"} == {"security_storage"}
    everything = decide(GDPR, consent(GDPR, ALL_ON), now=NOW).consent_mode()
    assert set(everything.values()) == {"granted"}
    no_ads = decide(GDPR, consent(GDPR, ALL_ON), gpc=True, now=NOW).consent_mode()
    assert {k for k, v in no_ads.items() if v == "denied"} == {
        "ad_storage",
        "ad_user_data",
        "ad_personalization",
    }


def test_consent_mode_of_a_custom_category() -> None:
    chat = {"chat": True, "analytics": False, "advertising": False}
    mode = decide(CUSTOM, consent(CUSTOM, chat), now=NOW).consent_mode()
    assert {k for k, v in mode.items() if v == "granted"} == {
        "security_storage",
        "functionality_storage",
    }


def test_mark_child() -> None:
    decision = decide(GDPR, consent(GDPR, ALL_ON), now=NOW)
    assert decision.personalised_ads is True
    decision.mark_child()
    assert decision.child is True
    assert decision.allows("advertising") is False
    assert decision.personalised_ads is False
    assert decision.allowed == frozenset({N, "functional", "analytics"})
    assert decision.consent_mode()["ad_storage"] == "denied"
    assert decision.state()["child"] is True


def test_mark_child_does_not_leak_into_other_decisions() -> None:
    given = consent(GDPR, ALL_ON)
    first = decide(GDPR, given, now=NOW)
    first.mark_child()
    assert decide(GDPR, given, now=NOW).allows("advertising") is True


# How to read each public attribute of a Decision; a new attribute must be added here.
_READS: dict[str, Any] = {
    "allows": lambda d: d.allows("analytics"),
    "services": lambda d: d.services("advertising"),
    "state": lambda d: d.state(),
    "login": lambda d: d.login("user-1"),
    "with_consent": lambda d: d.with_consent(consent(GDPR, ALL_ON)),
    "mark_child": lambda d: d.mark_child(),
    "consent_mode": lambda d: d.consent_mode(),
    "choices": lambda d: d.choices(),
}


def test_every_public_attribute_is_read_in_the_walk() -> None:
    public = {name for name in dir(Decision) if not name.startswith("_")}
    methods = {name for name in public if callable(getattr(Decision, name))}
    assert methods == set(_READS)


@pytest.mark.parametrize("name", sorted(name for name in dir(Decision) if not name.startswith("_")))
def test_every_public_read_marks_the_decision_consulted(name: str) -> None:
    # Whatever the app learns may shape its response, so every read makes it private.
    for given in (None, consent(GDPR, ALL_ON)):
        decision = Decision(judge(GDPR, given, now=NOW), lambda facts, d: {"ip": None}, None)
        assert decision._consulted is False
        read = _READS.get(name)
        if read is None:
            getattr(decision, name)
        else:
            read(decision)
        assert decision._consulted is True, name


def test_the_middlewares_own_reads_mark_nothing() -> None:
    decision = decide(GDPR, consent(GDPR, ALL_ON), now=NOW)
    assert "analytics" in decision._allowed
    assert repr(decision).startswith("Decision(")
    assert decision._consulted is False


def test_state() -> None:
    given = consent(GDPR, {"functional": False, "analytics": True, "advertising": False})
    state = decide(GDPR, given, now=NOW).state(show_banner=False)
    assert state == {
        "decided": True,
        "choices": {"functional": False, "analytics": True, "advertising": False},
        "allowed": ["analytics", "necessary"],
        "needs_prompt": False,
        "prompt_reason": None,
        "gpc": False,
        "child": False,
        "personalised_ads": False,
        "regime": "gdpr",
        "show_banner": False,
        "consent_id": given.id,
        "policy_version": "1",
        "consent_mode": decide(GDPR, given, now=NOW).consent_mode(),
        "services": {},
    }


def test_with_consent_keeps_the_signals() -> None:
    decision = decide(GDPR, None, gpc=True, country="FR", child=False, now=NOW)
    after = decision.with_consent(Consent.create(GDPR, ALL_ON, action="accept_all", now=NOW))
    assert after.gpc is True and after.country == "FR"
    assert after.allowed == frozenset({N, "functional", "analytics"})
    assert after.decided
