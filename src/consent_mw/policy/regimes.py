"""Legal regimes: how consent works where the visitor is.

``gdpr``  opt-in; reject on the first layer; ask again after 6 months by
          default and never later than 13 months (CNIL guidance).
``pipa``  Korea: opt-in with a separate consent per optional item (PIPA
          Art. 22); under-14 needs a guardian's consent and never gets
          customised advertising (KCC/KISA 2017 guideline); advertising consent
          is re-confirmed every 2 years (Network Act Art. 50).
``ccpa``  California and similar US states: optional processing may run until
          the visitor opts out of sale/sharing/targeted ads; a GPC signal is a
          valid opt-out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["COUNTRY_REGIMES", "REGIMES", "Regime", "RegimeName"]

RegimeName = Literal["gdpr", "pipa", "ccpa"]


@dataclass(frozen=True)
class Regime:
    name: RegimeName
    opt_in: bool
    default_lifetime_days: int
    max_lifetime_days: int
    child_age: int


REGIMES: dict[str, Regime] = {
    "gdpr": Regime(
        "gdpr", opt_in=True, default_lifetime_days=182, max_lifetime_days=395, child_age=16
    ),
    "pipa": Regime(
        "pipa", opt_in=True, default_lifetime_days=365, max_lifetime_days=730, child_age=14
    ),
    "ccpa": Regime(
        "ccpa", opt_in=False, default_lifetime_days=365, max_lifetime_days=730, child_age=16
    ),
}

# EEA members, the United Kingdom and Switzerland apply GDPR-style rules.
_GDPR_COUNTRIES = [
    "AT",
    "BE",
    "BG",
    "HR",
    "CY",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "HU",
    "IE",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SK",
    "SI",
    "ES",
    "SE",
    "IS",
    "LI",
    "NO",
    "GB",
    "CH",
]

COUNTRY_REGIMES: dict[str, str] = {
    **{country: "gdpr" for country in _GDPR_COUNTRIES},
    "KR": "pipa",
    "US": "ccpa",
}
