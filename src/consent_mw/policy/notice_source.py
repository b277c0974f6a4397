"""Read the policy sections only the notice uses (kept verbatim in ``Policy.raw``).

The core parser checks what enforcement needs and keeps these sections as they are;
this reads them with the same table (:mod:`consent_mw.policy.fields`) and the same
dotted key names in its :class:`~consent_mw.exceptions.PolicyError` messages, into the
frozen records (:mod:`consent_mw.policy.parts`) that :mod:`consent_mw.notice` renders
and :mod:`consent_mw.policy.diff` compares. The TOML format of every section is
described in :mod:`consent_mw.notice`.
"""

from __future__ import annotations

from .fields import POLICY
from .kinds import Reading
from .model import Policy
from .parts import (
    SECTION_IDS,
    Collected,
    Contact,
    Controller,
    HistoryEntry,
    Item,
    Measure,
    NoticeOptions,
    NoticeSource,
    Rights,
    StatutoryRecord,
    ThirdParty,
)
from .schema import read_fields

__all__ = [
    "SECTION_IDS",
    "Collected",
    "Contact",
    "Controller",
    "HistoryEntry",
    "Item",
    "Measure",
    "NoticeOptions",
    "NoticeSource",
    "Rights",
    "StatutoryRecord",
    "ThirdParty",
    "read_source",
]


def read_source(policy: Policy) -> NoticeSource:
    """Validate the notice sections of ``policy``; raises PolicyError naming the key."""
    reading = Reading(dict(vars(policy)))
    fields = [field for field in POLICY.fields if field.notice]
    source = read_fields(reading, fields, policy.raw, "", {})
    reading.finish()
    return NoticeSource(**source)
