"""The IAB Global Privacy Platform (GPP) string of a decision, written on the server.

Written from the IAB Tech Lab's published specification (GPP v1.1: "Consent String
Specification", "US National Privacy Technical Specification" and the state sections):

- a string is sections joined by ``~``, the header first; a section is segments joined
  by ``.``, its core segment first;
- a segment is a bit string (fields of fixed widths, in the specification's order),
  padded with zeros to whole bytes and then to whole sextets, written in the URL-safe
  Base64 alphabet without ``=`` padding;
- the header is Type 3 (6 bits), Version 1 (6 bits) and the ids of the sections that
  follow, as a Fibonacci range (a 12-bit count of groups; each group a bit "is a range",
  then Fibonacci-coded integers, each an offset from the value before);
- the usnat (id 7, version 2) and usca (id 8, version 1) core segments are the notices
  and opt-outs, two bits each: 0 not applicable, 1 yes / opted out, 2 no / did not opt
  out; their optional GPC segment is SubsectionType 1 (2 bits) and the GPC flag (1 bit).

What a decision says, in those fields: a visitor without ``advertising`` has opted out
of the sale and sharing of personal information and of targeted advertising; so has a
visitor who sent GPC (CCPA regulations section 7025: the signal is an opt-out request).
The notices are "provided": the banner and the policy's notice are the site's own.
Sensitive data and children's consents are "not applicable": this server records none.

The JS tests decode these strings with the IAB's own library (``@iabgpp/cmpapi``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Final

from ..policy.parts import GPP_SECTIONS, GppOptions

__all__ = ["GPP_VERSION", "NOT_APPLICABLE", "gpp_data", "gpp_string"]

#: the version of the CMP API the page's ``__gpp`` answers for
GPP_VERSION: Final = "1.1"
#: ``applicableSections`` when no section applies to the visitor (CMP API v1.1)
NOT_APPLICABLE: Final = (-1,)

_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

# Two-bit values (the specification's "notice" and "opt-out" fields).
_NA, _YES, _NO = 0, 1, 2


def _int(value: int, width: int) -> str:
    return format(value, f"0{width}b")


def _fibonacci(value: int) -> str:
    """``value`` (at least 1) as a Fibonacci code: Zeckendorf bits from the smallest
    term (1, 2, 3, 5, …), then a closing 1."""
    terms = [1, 2]
    while terms[-1] + terms[-2] <= value:
        terms.append(terms[-1] + terms[-2])
    bits = ["0"] * len(terms)
    rest = value
    for i in range(len(terms) - 1, -1, -1):
        if terms[i] <= rest:
            bits[i] = "1"
            rest -= terms[i]
    return "".join(bits).rstrip("0") + "1"


def _fibonacci_range(ids: list[int]) -> str:
    groups: list[list[int]] = []
    for value in sorted(ids):
        if groups and groups[-1][-1] + 1 == value:
            groups[-1].append(value)
        else:
            groups.append([value])
    out = [_int(len(groups), 12)]
    offset = 0
    for group in groups:
        if len(group) == 1:
            out.append("0" + _fibonacci(group[0] - offset))
            offset = group[0]
        else:
            out.append("1" + _fibonacci(group[0] - offset) + _fibonacci(group[-1] - group[0]))
            offset = group[-1]
    return "".join(out)


def _base64(bits: str) -> str:
    bits += "0" * (-len(bits) % 8)
    bits += "0" * (-len(bits) % 6)
    return "".join(_ALPHABET[int(bits[i : i + 6], 2)] for i in range(0, len(bits), 6))


def _segment(fields: list[tuple[str, int | list[int], int]]) -> str:
    bits: list[str] = []
    for _name, value, width in fields:
        for item in value if isinstance(value, list) else [value]:
            bits.append(_int(item, width))
    return _base64("".join(bits))


def _core_fields(name: str, opted_out: bool, mspa: bool) -> list[tuple[str, int | list[int], int]]:
    opt_out = _YES if opted_out else _NO
    # MSPA: covered 1 / not covered 2. A covered site is in opt-out option mode (it
    # offers the opt-outs itself), so not in service provider mode: the two exclude
    # each other; not covered, neither applies.
    covered = _YES if mspa else _NO
    option_mode, provider_mode = (_YES, _NO) if mspa else (_NA, _NA)
    if name == "usnat":
        return [
            ("Version", 2, 6),
            ("SharingNotice", _YES, 2),
            ("SaleOptOutNotice", _YES, 2),
            ("SharingOptOutNotice", _YES, 2),
            ("TargetedAdvertisingOptOutNotice", _YES, 2),
            ("SensitiveDataProcessingOptOutNotice", _NA, 2),
            ("SensitiveDataLimitUseNotice", _NA, 2),
            ("SaleOptOut", opt_out, 2),
            ("SharingOptOut", opt_out, 2),
            ("TargetedAdvertisingOptOut", opt_out, 2),
            ("SensitiveDataProcessing", [_NA] * 16, 2),
            ("KnownChildSensitiveDataConsents", [_NA] * 3, 2),
            ("PersonalDataConsents", _NA, 2),
            ("MspaCoveredTransaction", covered, 2),
            ("MspaOptOutOptionMode", option_mode, 2),
            ("MspaServiceProviderMode", provider_mode, 2),
        ]
    # usca: California has no separate targeted-advertising field ("sharing" is it).
    return [
        ("Version", 1, 6),
        ("SaleOptOutNotice", _YES, 2),
        ("SharingOptOutNotice", _YES, 2),
        ("SensitiveDataLimitUseNotice", _NA, 2),
        ("SaleOptOut", opt_out, 2),
        ("SharingOptOut", opt_out, 2),
        ("SensitiveDataProcessing", [_NA] * 9, 2),
        ("KnownChildSensitiveDataConsents", [_NA] * 2, 2),
        ("PersonalDataConsents", _NA, 2),
        ("MspaCoveredTransaction", covered, 2),
        ("MspaOptOutOptionMode", option_mode, 2),
        ("MspaServiceProviderMode", provider_mode, 2),
    ]


def _section(name: str, opted_out: bool, gpc: bool, mspa: bool) -> tuple[str, dict[str, Any]]:
    fields = _core_fields(name, opted_out, mspa)
    encoded = _segment(fields) + "." + _segment([("GpcSegmentType", 1, 2), ("Gpc", int(gpc), 1)])
    parsed: dict[str, Any] = {key: value for key, value, _width in fields}
    parsed.update(GpcSegmentType=1, Gpc=gpc)
    return encoded, parsed


def gpp_string(sections: tuple[str, ...], *, opted_out: bool, gpc: bool, mspa: bool) -> str:
    """The GPP string of ``sections`` (their names) for one state of the visitor."""
    return _build(tuple(sections), opted_out, gpc, mspa)[0]


@lru_cache(maxsize=64)
def _build(
    sections: tuple[str, ...], opted_out: bool, gpc: bool, mspa: bool
) -> tuple[str, dict[str, Any]]:
    ordered = sorted(set(sections), key=GPP_SECTIONS.__getitem__)
    ids = [GPP_SECTIONS[name] for name in ordered]
    parts = [_base64(_int(3, 6) + _int(1, 6) + _fibonacci_range(ids))]
    parsed: dict[str, Any] = {}
    for name in ordered:
        encoded, fields = _section(name, opted_out, gpc, mspa)
        parts.append(encoded)
        parsed[name] = fields
    return "~".join(parts), parsed


def gpp_data(options: GppOptions, *, opted_out: bool, gpc: bool, applies: bool) -> dict[str, Any]:
    """What the page's ``__gpp`` answers with for one state of the visitor: the string,
    the sections in it, the ones that apply (``applies``: the visitor is under a US
    regime) and the decoded fields (``parsedSections``).

    The visitor's state is not known (the jurisdiction is a country), so when usnat is
    written it is the one that applies (the IAB's "national approach"), the state
    sections riding along for readers that want them; a policy that writes only state
    sections says its US visitors are there."""
    string, parsed = _build(options.sections, opted_out, gpc, options.mspa_covered_transaction)
    ids = sorted(GPP_SECTIONS[name] for name in set(options.sections))
    applicable = [GPP_SECTIONS["usnat"]] if "usnat" in options.sections else ids
    return {
        "gppString": string,
        "sectionList": ids,
        "applicableSections": applicable if applies else list(NOT_APPLICABLE),
        "supportedAPIs": [f"{GPP_SECTIONS[name]}:{name}" for name in GPP_SECTIONS],
        "parsedSections": parsed,
    }
