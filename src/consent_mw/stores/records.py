"""The ledger's entries: the proof-of-consent :class:`Record`, the :class:`Event` of
automatically collected data, and the checks every store applies to ids."""

from __future__ import annotations

import copy
import json
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._json import loads_own
from .._memo import remember

__all__ = [
    "STATUTORY_HOLD_KINDS",
    "Event",
    "Record",
    "check_proof",
    "counted",
    "id_list",
    "latest",
    "minimised_event",
    "new_record_id",
    "require_id",
    "state_at",
]


#: One encoder for every event body: ``json.dumps`` with options builds a new encoder
#: per call, a noticeable share of an event's cost when a batch holds thousands.
_EVENT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode

#: JSON string literals as _EVENT_JSON writes them (non-ASCII kept)
_string = json.encoder.encode_basestring


def _float(value: float) -> str:
    """A float as _EVENT_JSON writes it (NaN and the infinities too)."""
    if type(value) is float and value - value == 0.0:
        return float.__repr__(value)
    return _EVENT_JSON(value)


_BOOLS = {True: "true", False: "false"}


def _int(value: int) -> str:
    return int.__repr__(value) if type(value) is int else _EVENT_JSON(value)


def _optional(value: str | None) -> str:
    return "null" if value is None else _string(value)


def _device_json(device: Mapping[str, Any]) -> str:
    """The device facts' JSON: the same few dicts over and over (one per user agent),
    so remembered (bounded) when every value is a string or None."""
    if not device:
        return "{}"
    key = tuple(device.items())
    text = _DEVICE_JSON.get(key)
    if text is None:
        text = _EVENT_JSON(dict(device))
        if all(type(v) is str or v is None for v in device.values()):
            remember(_DEVICE_JSON, key, text, 1024)
    return text


_DEVICE_JSON: dict[tuple[tuple[str, Any], ...], str] = {}

#: Event kinds a data-subject deletion keeps: login records must be kept for 3 months
#: (Protection of Communications Secrets Act); they still expire at ``expires_at``.
STATUTORY_HOLD_KINDS: frozenset[str] = frozenset({"login"})


def new_record_id(now: float | None = None) -> str:
    """A time-ordered, unguessable record id: 12 hex digits of milliseconds + 16 random."""
    millis = int((time.time() if now is None else now) * 1000)
    return f"{millis:012x}{secrets.token_hex(8)}"


@dataclass(frozen=True)
class Record:
    """One proof-of-consent entry. Append-only: a change is a new record."""

    record_id: str
    subject_id: str
    time: float
    policy_version: str
    text_hash: str
    choices: Mapping[str, bool]
    action: str
    source: str
    regime: str
    country: str | None = None
    locale: str | None = None
    gpc: bool = False
    gpc_override: bool = False
    user_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: the categories chosen service by service: category -> service name -> allowed
    #: (the category itself is ``False`` in ``choices``); absent from older records
    services: Mapping[str, Mapping[str, bool]] = field(default_factory=dict)

    def choice(self, category: str) -> bool | dict[str, bool] | None:
        """The choice for ``category``: a boolean, service name -> boolean, or None."""
        chosen = self.services.get(category)
        return dict(chosen) if chosen is not None else self.choices.get(category)

    def allows(self, category: str, service: str | None = None) -> bool:
        """Whether the record allows the category whole, or ``service`` in it."""
        if self.choices.get(category) is True:
            return True
        return service is not None and self.services.get(category, {}).get(service) is True

    def to_dict(self) -> dict[str, Any]:
        # Every field but three is a scalar: copy those, not the whole tree (asdict).
        data = dict(self.__dict__)
        data["choices"] = dict(self.choices)
        data["services"] = {c: dict(s) for c, s in self.services.items()}
        data["extra"] = copy.deepcopy(dict(self.extra)) if self.extra else {}
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Record:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    @classmethod
    def from_json(cls, text: str | bytes) -> Record:
        return cls.from_dict(json.loads(text))

    @classmethod
    def many_from_json(cls, texts: Sequence[bytes]) -> list[Record]:
        """Records from many :meth:`to_json` texts (as a store returns them), decoded as one
        JSON array: the batch path of ``lookup``, about twice as fast as
        :meth:`from_json` one by one."""
        if not texts:
            return []
        records: list[Record] = []
        new, setattr_, fields = object.__new__, object.__setattr__, _RECORD_FIELDS
        for data in loads_own(b",".join(texts).join((b"[", b"]"))):
            if data.keys() == fields:
                # Every field and nothing else (what to_json writes): the decoded dict
                # becomes the frozen instance's __dict__ instead of going through 17
                # object.__setattr__ calls in __init__.
                record = new(cls)
                setattr_(record, "__dict__", data)
                records.append(record)
            else:  # written by another version: fields added or removed since
                records.append(cls.from_dict(data))
        return records


_RECORD_FIELDS = frozenset(Record.__dataclass_fields__)


@dataclass(frozen=True)
class Event:
    """One automatically collected fact (a request, a login), already minimised.

    The recorder builds events from the decision: ``device`` holds only what the
    visitor allowed. ``expires_at`` comes from the retention of ``purpose``'s
    category (or the statutory period for login records); stores drop the event
    then (Redis TTL, ``purge`` elsewhere).
    """

    time: float
    kind: str
    purpose: str
    expires_at: float
    path: str
    status: int
    ip: str | None = None
    subject_id: str | None = None
    user_id: str | None = None
    bot: bool = False
    device: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        # scalars, and device: a flat mapping of scalars
        return {**self.__dict__, "device": dict(self.device)}

    def to_json(self) -> str:
        # What _EVENT_JSON writes, put together field by field: a batch of requests
        # turns into thousands of events, and this takes a third of the encoder's time.
        d = self.__dict__
        bot = d["bot"]
        try:
            return (
                f'{{"bot":{_BOOLS[bot] if type(bot) is bool else _EVENT_JSON(bot)},'
                f'"device":{_device_json(self.device)},'
                f'"expires_at":{_float(d["expires_at"])},"ip":{_optional(d["ip"])},'
                f'"kind":{_string(d["kind"])},"path":{_string(d["path"])},'
                f'"purpose":{_string(d["purpose"])},"status":{_int(d["status"])},'
                f'"subject_id":{_optional(d["subject_id"])},"time":{_float(d["time"])},'
                f'"user_id":{_optional(d["user_id"])}}}'
            )
        except TypeError:  # a field of another type than declared: the encoder says
            return _EVENT_JSON({**d, "device": dict(self.device)})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    @classmethod
    def from_json(cls, text: str | bytes) -> Event:
        return cls.from_dict(json.loads(text))


_new = object.__new__


def minimised_event(
    time: float,
    kind: str,
    purpose: str,
    expires_at: float,
    path: str,
    status: int,
    ip: str | None = None,
    subject_id: str | None = None,
    user_id: str | None = None,
    bot: bool = False,
    device: Mapping[str, Any] | None = None,
) -> Event:
    """``Event(...)`` for the recorder, which makes one or two per recorded request:
    the fields set at once instead of through the frozen dataclass's ``__init__`` (a
    ``setattr`` call per field, three times the cost). The same event, field for field
    (tested)."""
    event = _new(Event)
    event.__dict__.update(
        {
            "time": time,
            "kind": kind,
            "purpose": purpose,
            "expires_at": expires_at,
            "path": path,
            "status": status,
            "ip": ip,
            "subject_id": subject_id,
            "user_id": user_id,
            "bot": bot,
            "device": {} if device is None else device,
        }
    )
    return event


def require_id(value: object, what: str = "subject_id") -> str:
    """``value`` if it is a non-empty string; stores refuse anything else."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, not {value!r}.")
    return value


def counted(record: Record) -> list[tuple[str, bool]]:
    """What a record adds to the ledger's counters: ``(category, granted)`` for each
    category, and ``("category/service", granted)`` for each service chosen on its own
    (a category id has no ``/``). Visitors who allow a service: the category's granted
    count plus the service's."""
    items = [(category, bool(granted)) for category, granted in record.choices.items()]
    for category, services in record.services.items():
        items += ((f"{category}/{name}", bool(flag)) for name, flag in services.items())
    return items


def check_proof(subject_id: str, proof: Record) -> None:
    """The deletion proof must be a ``delete`` record of the subject being deleted."""
    if proof.subject_id != subject_id or proof.action != "delete":
        raise ValueError(
            f"proof must be a record with action 'delete' for subject {subject_id!r}, "
            f"not action {proof.action!r} for subject {proof.subject_id!r}."
        )


def id_list(subject_ids: Iterable[str]) -> list[str]:
    """``subject_ids`` as a list of distinct ids, first occurrence first."""
    if isinstance(subject_ids, str | bytes):
        raise TypeError("lookup() takes an iterable of subject ids, not one string.")
    ids = list(dict.fromkeys(subject_ids))
    if not set(map(type, ids)) <= {str} or "" in ids:  # checked in C: lookups are large
        ids = [require_id(s) for s in ids]
    return ids


def latest(records: Iterable[Record | None]) -> Record | None:
    """The most recent of ``records`` (by time, then record id), ignoring ``None``."""
    found = [r for r in records if r is not None]
    return max(found, key=lambda r: (r.time, r.record_id)) if found else None


def state_at(newest_first: Iterable[Record], at: float) -> Record | None:
    """The state a history (newest first, as stores keep it) stood at at time ``at``:
    the first record with ``time <= at``; ``None`` if there is none or it is a deletion
    proof (which carries no consent)."""
    for record in newest_first:
        if record.time <= at:
            return None if record.action == "delete" else record
    return None
