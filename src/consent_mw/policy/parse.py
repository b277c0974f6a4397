"""Turn a policy dict (from TOML or code) into the validated fields of a :class:`Policy`.

What each key is and how it is checked is the table in :mod:`consent_mw.policy.fields`;
this reads the top level with it. Every error names the key that is wrong, in the
dotted/indexed form a person would use to find it in the file: ``categories[2].title.ko``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..exceptions import PolicyError
from .fields import POLICY
from .kinds import Reading
from .schema import read_fields

__all__ = ["policy_fields"]


def policy_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The validated fields of a policy read from ``data`` (the keyword arguments of
    :class:`~consent_mw.policy.model.Policy`); a problem is a :class:`PolicyError`.

    The sections only the notice reads are checked to be known keys and kept verbatim
    in ``raw`` (:func:`~consent_mw.policy.notice_source.read_source` reads them)."""
    if not isinstance(data, Mapping):
        raise PolicyError("<root>", f"must be a table, not {type(data).__name__}")
    known = POLICY.keys()
    for name in data:
        if name not in known:
            raise PolicyError(name, "is not a policy key (typo?)")
    reading = Reading({})
    fields = [field for field in POLICY.fields if not field.notice]
    read_fields(reading, fields, data, "", reading.top)
    reading.finish()
    return {**reading.top, "raw": dict(data)}
