"""The field table: one entry per policy key drives reading, the snapshot and the diff.

The claim of :mod:`consent_mw.policy.fields` is tested by adding keys the way its
docstring says (a Field in a table, the attribute on the record it builds) and nothing
else, and seeing each read, refused with its key named, snapshotted and diffed.
"""

from __future__ import annotations

import copy
import dataclasses
import tomllib
from collections.abc import Iterator
from typing import Any

import pytest

from consent_mw.demo import POLICY_PATH
from consent_mw.exceptions import PolicyError
from consent_mw.policy import Policy, Processor
from consent_mw.policy.diff import Change, diff_policies
from consent_mw.policy.fields import CONTROLLER, POLICY, PROCESSOR
from consent_mw.policy.kinds import FLAG, Str, Url
from consent_mw.policy.notice_source import Controller, read_source
from consent_mw.policy.schema import Entries, Field, Section, Table
from consent_mw.policy.snapshot import Coll, Seq, snapshot

with open(POLICY_PATH, "rb") as _file:
    DEMO: dict[str, Any] = tomllib.load(_file)


def edited(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(DEMO)
    data.update(changes)
    return data


# -- a new key is one table entry ----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PolicyWithSupport(Policy):
    support_email: str = ""


def test_a_new_top_level_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        POLICY, "fields", (*POLICY.fields, Field("support_email", Str(), major="always"))
    )
    old = PolicyWithSupport.from_dict(edited(support_email="help@example.com"))
    new = PolicyWithSupport.from_dict(edited(support_email="privacy@example.com"))
    assert new.support_email == "privacy@example.com"
    with pytest.raises(PolicyError) as info:
        PolicyWithSupport.from_dict(edited(support_email=["x"]))
    assert (info.value.key, info.value.problem) == ("support_email", "must be a string, not list")
    assert snapshot(new)["support_email"] == "privacy@example.com"
    assert diff_policies(old, new).changes == (
        Change("changed", "support_email", "help@example.com", "privacy@example.com", True),
    )


@dataclasses.dataclass(frozen=True)
class ProcessorWithContract(Processor):
    contract_signed: bool = False


def test_a_new_key_in_entries_with_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    added = Field("contract_signed", FLAG, major="turned_on")
    monkeypatch.setattr(PROCESSOR, "fields", (*PROCESSOR.fields, added))
    monkeypatch.setattr(PROCESSOR, "model", ProcessorWithContract)
    signed = edited()
    signed["processors"][0]["contract_signed"] = True
    old, new = Policy.from_dict(DEMO), Policy.from_dict(signed)
    hosting = new.processors[0]
    assert isinstance(hosting, ProcessorWithContract) and hosting.contract_signed is True
    assert not Policy.from_dict(DEMO).processors[0].contract_signed  # type: ignore[attr-defined]
    signed["processors"][0]["contract_signed"] = "yes"
    with pytest.raises(PolicyError) as info:
        Policy.from_dict(signed)
    assert info.value.key == "processors[0].contract_signed"
    assert snapshot(new)["processors"][hosting.id]["contract_signed"] is True
    path = f"processors[{hosting.id}].contract_signed"
    assert diff_policies(old, new).changes == (Change("changed", path, False, True, True),)
    assert diff_policies(new, old).changes == (Change("changed", path, True, False, False),)


@dataclasses.dataclass(frozen=True)
class ControllerWithSite(Controller):
    website: str = ""


def test_a_new_key_in_a_notice_section(monkeypatch: pytest.MonkeyPatch) -> None:
    with_site = edited()
    with_site["controller"] = {**DEMO["controller"], "website": "https://example.com"}
    with pytest.raises(PolicyError) as info:
        read_source(Policy.from_dict(with_site))
    assert (info.value.key, info.value.problem) == (
        "controller.website",
        "is not a key of controller (typo?)",
    )
    monkeypatch.setattr(CONTROLLER, "fields", (*CONTROLLER.fields, Field("website", Url())))
    monkeypatch.setattr(CONTROLLER, "model", ControllerWithSite)
    old, new = Policy.from_dict(DEMO), Policy.from_dict(with_site)
    controller = read_source(new).controller
    assert isinstance(controller, ControllerWithSite)
    assert controller.website == "https://example.com"
    scripted = copy.deepcopy(with_site)
    scripted["controller"]["website"] = "javascript:alert(1)"
    with pytest.raises(PolicyError) as info:
        read_source(Policy.from_dict(scripted))
    assert info.value.key == "controller.website"
    assert snapshot(new)["controller"]["website"] == "https://example.com"
    assert diff_policies(old, new).changes == (
        Change("changed", "controller.website", "", "https://example.com", False),
    )


# -- every entry of the table is read, snapshotted and weighed -----------------------------


def tables(table: Table = POLICY) -> Iterator[Table]:
    yield table
    for field in table.fields:
        if isinstance(field.kind, Entries | Section) and field.kind.table is not None:
            yield from tables(field.kind.table)


@pytest.mark.parametrize("table", list(tables())[1:], ids=lambda t: t.model.__name__)
def test_every_field_fills_an_attribute_of_its_record(table: Table) -> None:
    attributes = {f.name for f in dataclasses.fields(table.model)}
    for field in table.fields:
        assert set(field.attrs or (field.key,)) <= attributes, field.key


def test_every_top_level_key_is_known_and_snapshotted() -> None:
    policy = Policy.from_dict(DEMO)
    shot = snapshot(policy)
    names = [name for field in POLICY.fields for name in field.attrs or (field.key,)]
    assert list(shot) == names
    assert set(DEMO) <= POLICY.keys()


def snapshot_paths(value: Any, table: Table | None, prefix: str) -> Iterator[tuple[str, bool]]:
    """``(path, whether the table has a weight for it)`` for each field-level name."""
    if table is None:
        return
    if isinstance(value, Coll):
        for entry in value.values():
            yield from snapshot_paths(entry, table, prefix + "[]")
    elif isinstance(value, Seq):
        for _, entry in value.entries:
            yield from snapshot_paths(entry, table, prefix + "[]")
    elif isinstance(value, dict):
        rules = table.rules()
        for name, below in value.items():
            yield f"{prefix}.{name}", name in rules
            yield from snapshot_paths(below, rules.get(name, (None, None))[1], f"{prefix}.{name}")


def test_every_snapshot_key_has_its_field_in_the_table() -> None:
    found = list(snapshot_paths(snapshot(Policy.from_dict(DEMO)), POLICY, ""))
    assert len(found) > 100
    assert [path for path, known in found if not known] == []
