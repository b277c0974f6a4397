"""A record's consent in each ad platform's own terms.

- Google Ads API: the ``Consent`` message (``consent.ad_user_data``,
  ``consent.ad_personalization``; values of the ``ConsentStatus`` enum ``GRANTED``,
  ``DENIED``, ``UNSPECIFIED``). A click conversion (``ClickConversion.consent``,
  offline conversion uploads) takes ``ad_user_data`` only: the API accepts
  ``ad_personalization`` only for Customer Match (``OfflineUserDataJobService``,
  ``UserDataService``), so the click-conversion object leaves it out.
- GA4 Measurement Protocol: the request body's ``consent`` object
  (``ad_user_data``, ``ad_personalization``; ``GRANTED`` or ``DENIED``).

Both signals are what Google Consent Mode's ``ad_user_data`` and ``ad_personalization``
say on the page, as the middleware would decide them: granted with the ``advertising``
category allowed whole, or, where it is chosen service by service, the service Google's
tags belong to (``AdsJudge.google_ads`` of :mod:`.views`); an outdated policy version,
an expired choice or an unanswered GPC signal deny them. Without a policy the recorded
choice of ``advertising`` decides. A subject with no record is ``UNSPECIFIED`` to Google Ads
(the API's "not specified") and ``DENIED`` to GA4, which has no third value.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from ..stores import Record

__all__ = ["ConsentStatus", "PlatformConsent", "platform_consent"]

ConsentStatus = Literal["GRANTED", "DENIED", "UNSPECIFIED"]


class _ClickConsent(TypedDict):
    ad_user_data: ConsentStatus


class _FullConsent(TypedDict):
    ad_user_data: ConsentStatus
    ad_personalization: ConsentStatus


class _Wrapped(TypedDict):
    consent: _FullConsent


class _ClickWrapped(TypedDict):
    consent: _ClickConsent


class PlatformConsent(TypedDict):
    """What each platform's upload carries for one subject."""

    google_ads_click_conversion: _ClickWrapped
    google_ads_customer_match: _Wrapped
    ga4_measurement_protocol: _Wrapped


def platform_consent(record: Record | None, allowed: bool | None) -> PlatformConsent:
    """The platform fields for ``record`` (``None``: no record at the time asked);
    ``allowed`` is whether Google's ad types are granted, as judged (``None``: no
    policy to judge by, the recorded choice decides)."""
    if record is None:
        ads: ConsentStatus = "UNSPECIFIED"
        ga4: ConsentStatus = "DENIED"
    else:
        granted = record.choices.get("advertising") is True if allowed is None else allowed
        ads = ga4 = "GRANTED" if granted else "DENIED"
    return {
        "google_ads_click_conversion": {"consent": {"ad_user_data": ads}},
        "google_ads_customer_match": {
            "consent": {"ad_user_data": ads, "ad_personalization": ads},
        },
        "ga4_measurement_protocol": {"consent": {"ad_user_data": ga4, "ad_personalization": ga4}},
    }
