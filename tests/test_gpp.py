"""The GPP strings the server writes (consent_mw.core.gpp): their bits by hand for one
case, their shape for all, and the cases the JS tests decode with the IAB's own library
(js/test/fixtures/gpp-strings.json, kept equal to what the encoder writes here).

Regenerate the fixture after a deliberate change: ``python tests/test_gpp.py``.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consent_mw import Policy
from consent_mw.core.gpp import _base64, _fibonacci, _fibonacci_range, gpp_data, gpp_string
from consent_mw.exceptions import PolicyError
from consent_mw.policy.parts import GppOptions

FIXTURE = Path(__file__).resolve().parents[1] / "js" / "test" / "fixtures" / "gpp-strings.json"


def cases() -> list[dict[str, Any]]:
    out = []
    for sections, opted_out, gpc, mspa in itertools.product(
        [("usnat",), ("usca",), ("usnat", "usca")], [True, False], [True, False], [True, False]
    ):
        data = gpp_data(
            GppOptions(sections, mspa), opted_out=opted_out or gpc, gpc=gpc, applies=True
        )
        out.append(
            {
                "sections": list(sections),
                "optedOut": opted_out or gpc,
                "gpc": gpc,
                "mspa": mspa,
                "gppString": data["gppString"],
                "parsedSections": data["parsedSections"],
            }
        )
    return out


def test_fibonacci_codes_from_the_specification() -> None:
    # Zeckendorf bits from the smallest term, then a closing 1 (GPP "Fibonacci").
    assert [_fibonacci(n) for n in (1, 2, 3, 4, 5, 6, 7, 8)] == [
        "11",
        "011",
        "0011",
        "1011",
        "00011",
        "10011",
        "01011",
        "000011",
    ]
    # Two groups: 7 alone, then 8 as an offset of 1 from it.
    assert _fibonacci_range([7, 8]) == "000000000001" + "1" + "01011" + "11"
    assert _fibonacci_range([]) == "0" * 12


def _read_fibonacci(bits: str) -> tuple[int, str]:
    """A Fibonacci code read back (the specification's decoding): the value and the rest."""
    end = bits.index("11") + 2
    terms = [1, 2]
    while len(terms) < end:
        terms.append(terms[-1] + terms[-2])
    return sum(t for t, b in zip(terms, bits[: end - 1], strict=False) if b == "1"), bits[end:]


@given(st.integers(min_value=1, max_value=10**6))
def test_fibonacci_codes_read_back(value: int) -> None:
    code = _fibonacci(value)
    assert code.endswith("11") and "11" not in code[:-1]
    assert _read_fibonacci(code) == (value, "")


@given(st.sets(st.integers(min_value=1, max_value=60), max_size=12))
def test_fibonacci_ranges_read_back(ids: set[int]) -> None:
    bits = _fibonacci_range(list(ids))
    count, rest = int(bits[:12], 2), bits[12:]
    found: list[int] = []
    offset = 0
    for _ in range(count):
        is_range, rest = rest[0], rest[1:]
        start, rest = _read_fibonacci(rest)
        start += offset
        if is_range == "1":
            end, rest = _read_fibonacci(rest)
            found += range(start, start + end + 1)
            offset = start + end
        else:
            found.append(start)
            offset = start
    assert rest == "" and found == sorted(ids)


def test_base64_pads_to_bytes_then_sextets() -> None:
    assert _base64("111") == "4A"  # 3 bits -> 8 -> 12: 111000 000000
    assert _base64("0" * 24) == "AAAA"


def test_header_of_an_empty_string_and_of_usnat() -> None:
    assert gpp_string((), opted_out=True, gpc=False, mspa=False) == "DBAA"
    head = gpp_string(("usnat",), opted_out=True, gpc=True, mspa=False).split("~")[0]
    assert head == "DBABLA"  # type 3, version 1, one group: 7


def test_a_gpc_visitor_is_opted_out_with_the_gpc_subsection() -> None:
    data = gpp_data(GppOptions(("usnat",)), opted_out=True, gpc=True, applies=True)
    usnat = data["parsedSections"]["usnat"]
    assert (usnat["SaleOptOut"], usnat["SharingOptOut"], usnat["TargetedAdvertisingOptOut"]) == (
        1,
        1,
        1,
    )
    assert usnat["Gpc"] is True
    assert data["gppString"].split("~")[1].endswith(".YA")  # type 1, GPC 1
    assert data["applicableSections"] == [7]


def test_usnat_applies_when_written_else_the_state_sections() -> None:
    both = gpp_data(GppOptions(("usnat", "usca")), opted_out=False, gpc=False, applies=True)
    assert both["applicableSections"] == [7] and both["sectionList"] == [7, 8]
    state = gpp_data(GppOptions(("usca",)), opted_out=False, gpc=False, applies=True)
    assert state["applicableSections"] == [8]


def test_sections_that_do_not_apply_say_so() -> None:
    data = gpp_data(GppOptions(("usnat",)), opted_out=False, gpc=False, applies=False)
    assert data["applicableSections"] == [-1] and data["sectionList"] == [7]


def test_the_policy_reads_and_checks_its_gpp_and_signals_keys() -> None:
    policy = Policy.preset("ccpa", gpp={"sections": ["usca", "usnat"]})
    assert policy.gpp.sections == ("usca", "usnat")
    assert Policy.preset("gdpr").gpp.sections == ()
    assert Policy.preset("ccpa").gpp.sections == ("usnat", "usca")  # the US preset
    with pytest.raises(PolicyError, match=r"gpp\.sections\[0\]"):
        Policy.preset("ccpa", gpp={"sections": ["usxx"]})
    with pytest.raises(PolicyError, match=r"signals\.vendors\[0\]"):
        Policy.preset("gdpr", signals={"vendors": ["myspace"]})
    with pytest.raises(PolicyError, match="signals"):
        Policy.preset("gdpr", signals={"advance": True})


def test_the_js_fixture_is_what_the_encoder_writes() -> None:
    assert json.loads(FIXTURE.read_text()) == cases()


if __name__ == "__main__":
    FIXTURE.write_text(json.dumps(cases(), indent=1) + "\n")
