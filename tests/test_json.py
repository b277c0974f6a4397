"""The bulk JSON helper writes and reads the same JSON with or without orjson."""

from __future__ import annotations

import dataclasses
import json

import pytest

from consent_mw import _json
from consent_mw.stores.base import Event, Record
from consent_mw.stores.records import minimised_event
from support.query import make_record

SAMPLES = [
    {"results": [{"id": "s-1", "found": True, "state": {"time": 1795929511.1191576}}]},
    {"text": '동의 철회 — naïve \u2028 "quoted" \\ slash', "n": None, "ok": False},
    [0.1, 2.5, -0.0, 12345678901234567, 3, 1795929511.0],
    {"huge": 2**80},  # beyond 64 bits: orjson refuses, the standard library writes it
]


@pytest.fixture(params=["orjson", "stdlib"])
def flavour(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "stdlib":
        monkeypatch.setattr(_json, "orjson", None)
    elif _json.orjson is None:
        pytest.fail("orjson is a dev dependency: the fast path must be tested")
    return str(request.param)


@pytest.mark.parametrize("value", SAMPLES)
def test_dumps_writes_what_the_standard_library_writes(value: object, flavour: str) -> None:
    expected = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    assert _json.dumps(value) == expected


def test_exponent_floats_are_the_same_number(flavour: str) -> None:
    value = [1e-7, 1e21, 5e-324]
    assert json.loads(_json.dumps(value)) == value


def test_records_decode_the_same(flavour: str) -> None:
    records = [make_record(f"s{i}", advertising=i % 2 == 0, extra={"by": "한"}) for i in range(5)]
    assert Record.many_from_json([r.to_json().encode() for r in records]) == records


def test_loads_own_reads_nan_and_refuses_garbage(flavour: str) -> None:
    value = _json.loads_own(b'{"a": NaN}')["a"]
    assert value != value
    with pytest.raises(ValueError):
        _json.loads_own(b'{"a": ')


EVENTS = [
    Event(
        1795929511.1191576, "request", "necessary", 1803705511.25, "/shows/1", 200, "203.0.113.9"
    ),
    Event(
        1795929511.5,
        "device",
        "analytics",
        1795929512.0,
        '/쇼/"x"\\\n\u2028\x00',
        404,
        None,
        "s-1",
        "user \ud7a3",
        False,
        {"type": "mobile", "brand": None, "os": "Android", "model": "SM-S911B"},
    ),
    Event(1700000000, "login", "necessary", float("inf"), "/", 302, bot=True, device={"n": 1}),
    Event(float("nan"), "x", "y", -0.0, "/", True, device={"b": True, "f": 1.5}),
]


@pytest.mark.parametrize("event", EVENTS)
def test_event_json_is_what_the_standard_encoder_writes(event: Event) -> None:
    # Event.to_json writes its fields one by one: the same text, field for field.
    fields = {**event.__dict__, "device": dict(event.device)}
    expected = json.dumps(fields, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    assert event.to_json() == event.to_json() == expected  # twice: the device memo
    assert Event.from_json(event.to_json()).to_json() == expected


@pytest.mark.parametrize("event", EVENTS)
def test_the_recorders_events_are_the_dataclasss_field_for_field(event: Event) -> None:
    # minimised_event sets the fields without the frozen dataclass's __init__.
    fields = dataclasses.fields(Event)
    made = minimised_event(**{f.name: getattr(event, f.name) for f in fields})
    assert made == event and type(made) is Event
    assert list(made.__dict__) == [f.name for f in fields]
    assert made.to_json() == event.to_json()
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.path = "/elsewhere"  # type: ignore[misc]
    # Without a device: an empty mapping of its own, as the dataclass's default gives.
    bare = minimised_event(1.0, "request", "necessary", 2.0, "/", 200)
    assert bare == Event(1.0, "request", "necessary", 2.0, "/", 200)
    assert bare.device == {} and bare.device is not minimised_event(1, "r", "n", 2, "/", 1).device
