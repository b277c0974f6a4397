"""The ``stats`` answer: current subjects per policy version and category.

Built from the store's maintained counters (``counts()``), never by reading subjects,
so it costs the same for a thousand subjects as for ten million.
"""

from __future__ import annotations

from typing import TypedDict

from ..policy.model import Policy

__all__ = ["CategoryCount", "StatsAnswer", "VersionStats", "stats_of"]


class CategoryCount(TypedDict):
    granted: int
    denied: int


class VersionStats(TypedDict):
    policy_version: str
    current: bool | None
    subjects: int
    categories: dict[str, CategoryCount]


class StatsAnswer(TypedDict):
    subjects: int
    current_policy_version: str | None
    policy_versions: list[VersionStats]


def stats_of(counts: dict[tuple[str, str, bool], int], policy: Policy | None) -> StatsAnswer:
    """Counters per ``(version, category, granted)`` as per-version tables. A version's
    ``subjects`` is the largest granted + denied of its categories: every record of a
    version carries every optional category of that version."""
    versions: dict[str, dict[str, CategoryCount]] = {}
    for (version, category, granted), n in counts.items():
        cell = versions.setdefault(version, {}).setdefault(category, {"granted": 0, "denied": 0})
        cell["granted" if granted else "denied"] += n
    tables: list[VersionStats] = []
    for version in sorted(versions):
        categories = dict(sorted(versions[version].items()))
        subjects = max((c["granted"] + c["denied"] for c in categories.values()), default=0)
        current = None if policy is None else policy.accepts_version(version)
        tables.append(
            {
                "policy_version": version,
                "current": current,
                "subjects": subjects,
                "categories": categories,
            }
        )
    return {
        "subjects": sum(t["subjects"] for t in tables),
        "current_policy_version": policy.version if policy is not None else None,
        "policy_versions": tables,
    }
