"""Consent per service: the policy's services, the consent, the decision and its signals."""

from __future__ import annotations

from typing import Any

import pytest

from consent_mw import Consent, Policy, PolicyError
from consent_mw.core.consent import decide, split_choices

NOW = 1_790_000_000


def policy(top: dict[str, Any] | None = None, **advertising: Any) -> Policy:
    return Policy.from_dict(
        {
            **(top or {}),
            "version": "1",
            "regime": {"default": "gdpr"},
            "categories": [
                {"id": "necessary", "title": "N", "description": "d"},
                {
                    "id": "analytics",
                    "title": "A",
                    "description": "d",
                    "services": [
                        {"name": "Google Analytics", "owners": ["Google"], "purpose": "stats"},
                        "Hotjar",
                    ],
                    "cookies": [{"name": "_ga", "owner": "Google"}, "_plain"],
                },
                {
                    "id": "advertising",
                    "title": "Ads",
                    "description": "d",
                    "services": [
                        "Meta",
                        "TikTok",
                        {"name": "Partner", "cookies": ["_pt_*"], "hosts": ["ads.partner.example"]},
                    ],
                    **advertising,
                },
            ],
        }
    )


POLICY = policy()


def chosen(choices: dict[str, Any], *, gpc: bool = False, action: Any = "custom") -> Consent:
    return Consent.create(POLICY, choices, action=action, gpc=gpc, now=NOW)


def test_split_choices() -> None:
    whole, services = split_choices({"analytics": True, "advertising": {"Meta": True}})
    assert whole == {"analytics": True, "advertising": False}
    assert services == {"advertising": {"Meta": True}}


def test_a_category_chosen_per_service_allows_only_those() -> None:
    decision = decide(POLICY, chosen({"advertising": {"Meta": True, "TikTok": False}}), now=NOW)
    assert decision.allows("advertising", service="Meta")
    assert not decision.allows("advertising", service="TikTok")
    assert not decision.allows("advertising", service="Criteo")  # not named: refused
    assert not decision.allows("advertising")  # not whole
    assert not decision.personalised_ads
    assert decision.services("advertising") == frozenset({"Meta"})
    assert decision.choices()["advertising"] == {"Meta": True, "TikTok": False}
    assert decision.choices()["analytics"] is False
    assert "advertising/Meta" in decision.allowed


def test_a_whole_category_allows_every_service() -> None:
    decision = decide(POLICY, chosen({"advertising": True}), now=NOW)
    assert decision.allows("advertising", service="Anything")
    assert decision.services("advertising") is None
    assert decision.choices()["advertising"] is True


def test_registry_owners_map_to_the_declared_service() -> None:
    decision = decide(POLICY, chosen({"analytics": {"Google Analytics": True}}), now=NOW)
    assert decision.allows("analytics", service="Google")
    assert POLICY.service_of("analytics", "policy:analytics:_ga") == "Google Analytics"
    assert POLICY.service_of("analytics", "policy:analytics:_plain") == ""
    assert POLICY.service_of("advertising", "policy:advertising:service:Partner") == "Partner"
    assert POLICY.matcher.cookie_owner("_pt_x") == (
        "advertising",
        "policy:advertising:service:Partner",
    )


def test_gpc_refuses_advertising_services_unless_opted_in_explicitly() -> None:
    accepted = chosen({"advertising": {"Meta": True}}, gpc=True)
    assert accepted.gpc_override  # an explicit per-service opt-in overrides GPC here
    assert decide(POLICY, accepted, gpc=True, now=NOW).allows("advertising", service="Meta")
    carried = Consent.create(
        POLICY, {"advertising": {"Meta": True}}, action="custom", source="server", gpc=True, now=NOW
    )
    assert carried.services["advertising"] == {"Meta": False}
    before = chosen({"advertising": {"Meta": True}})
    assert not decide(POLICY, before, gpc=True, now=NOW).allows("advertising", service="Meta")


def test_child_refuses_advertising_services() -> None:
    decision = decide(POLICY, chosen({"advertising": {"Meta": True}}), child=True, now=NOW)
    assert not decision.allows("advertising", service="Meta")
    decision = decide(POLICY, chosen({"advertising": {"Meta": True}}), now=NOW)
    decision.mark_child()
    assert not decision.allows("advertising", service="Meta")
    assert decision.services("advertising") == frozenset()


def test_consent_mode_follows_google_services() -> None:
    google = decide(POLICY, chosen({"analytics": {"Google Analytics": True}}), now=NOW)
    assert google.consent_mode()["analytics_storage"] == "granted"
    hotjar = decide(POLICY, chosen({"analytics": {"Hotjar": True}}), now=NOW)
    assert hotjar.consent_mode()["analytics_storage"] == "denied"
    meta = decide(POLICY, chosen({"advertising": {"Meta": True}}), now=NOW)
    assert meta.consent_mode()["ad_storage"] == "denied"


def test_known_services() -> None:
    assert POLICY.knows_service("advertising", "Meta")
    assert POLICY.knows_service("advertising", "Partner")
    assert POLICY.knows_service("advertising", "Criteo")  # a registry owner of the category
    assert not POLICY.knows_service("advertising", "Hotjar")  # an analytics owner
    assert not POLICY.knows_service("advertising", "Nobody Ltd")


@pytest.mark.parametrize(
    "service",
    ['Me"ta', "", " Meta", "x" * 65, "tab\there"],
)
def test_bad_service_names_stop_the_policy(service: str) -> None:
    with pytest.raises(PolicyError, match="services"):
        policy(services=[service])


def test_bad_service_cookie_stops_the_policy() -> None:
    with pytest.raises(PolicyError, match="cookies"):
        policy(services=[{"name": "X", "cookies": ["a b"]}])


def test_advanced_consent_mode_keeps_the_services_of_the_tags_it_judges() -> None:
    # Consent Mode's advanced mode gives the rewriter a matcher of its own: it must name
    # the services the policy lists as the policy's matcher does.
    advanced = policy({"signals": {"advanced": True}})
    assert advanced.tag_matcher is not advanced.matcher
    assert advanced.tag_matcher.listed == advanced.matcher.listed == {"analytics", "advertising"}
    assert advanced.tag_matcher.service_of("advertising", "Meta") == "Meta"
