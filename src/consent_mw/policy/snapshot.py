"""A policy as plain, comparable data: what :mod:`consent_mw.policy.diff` walks.

Built field by field from the table in :mod:`consent_mw.policy.fields`. Entries with
ids (categories, processors, trackers, cookies) become :class:`Coll` mappings, so an id
that appears or disappears is an entry added or removed. Entries without ids (statutory
records, contacts, collected items…) become :class:`Seq` lists keyed by their text, so
a reworded entry can still be paired with its old self.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .fields import POLICY
from .model import Localised, Policy
from .notice_source import read_source
from .schema import Coll, Seq, snapshot_field

__all__ = ["Coll", "Seq", "plain", "snapshot"]


def snapshot(policy: Policy) -> dict[str, Any]:
    source = read_source(policy)

    def text_of(value: Localised) -> str:
        return policy.text(value, policy.default_locale)

    snapshot: dict[str, Any] = {}
    for field in POLICY.fields:
        snapshot.update(snapshot_field(field, source if field.notice else policy, text_of))
    return snapshot


def plain(value: Any) -> Any:
    """JSON-friendly: sets become sorted lists, collections plain dicts and lists."""
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, Seq):
        return [plain(v) for _, v in value.entries]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
