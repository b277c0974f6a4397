"""The ``stats`` answer: current subjects per policy version, category and service.

Built from the store's maintained counters (``counts()``), never by reading subjects,
so it costs the same for a thousand subjects as for ten million.
"""

from __future__ import annotations

from typing import TypedDict

from ..policy.model import Policy

__all__ = [
    "CategoryCount",
    "ServiceCount",
    "StatsAnswer",
    "VersionStats",
    "allowed_in",
    "stats_of",
]


class CategoryCount(TypedDict):
    granted: int
    denied: int


class ServiceCount(TypedDict):
    #: choices made service by service that allow / refuse it
    granted: int
    denied: int
    #: everyone who allows it: its category's whole grants plus ``granted``
    allowed: int


class VersionStats(TypedDict):
    policy_version: str
    current: bool | None
    subjects: int
    categories: dict[str, CategoryCount]
    #: category -> service -> counts (services chosen on their own, and the current
    #: policy's listed services)
    services: dict[str, dict[str, ServiceCount]]


class StatsAnswer(TypedDict):
    subjects: int
    current_policy_version: str | None
    policy_versions: list[VersionStats]


def stats_of(counts: dict[tuple[str, str, bool], int], policy: Policy | None) -> StatsAnswer:
    """Counters per ``(version, category, granted)`` as per-version tables. A version's
    ``subjects`` is the largest granted + denied of its categories: every record of a
    version carries every optional category of that version."""
    versions: dict[str, dict[str, CategoryCount]] = {}
    chosen: dict[str, dict[str, dict[str, CategoryCount]]] = {}
    for (version, key, granted), n in counts.items():
        # "category/service": a service chosen on its own (see stores.records.counted)
        category, _, service = key.partition("/")
        if service:
            table = chosen.setdefault(version, {}).setdefault(category, {})
            cell = table.setdefault(service, {"granted": 0, "denied": 0})
        else:
            cell = versions.setdefault(version, {}).setdefault(key, {"granted": 0, "denied": 0})
        cell["granted" if granted else "denied"] += n
    tables: list[VersionStats] = []
    for version in sorted(versions.keys() | chosen.keys()):
        categories = dict(sorted(versions.get(version, {}).items()))
        subjects = max((c["granted"] + c["denied"] for c in categories.values()), default=0)
        current = None if policy is None else policy.accepts_version(version)
        services: dict[str, dict[str, ServiceCount]] = {}
        for category, named in sorted(chosen.get(version, {}).items()):
            whole = categories.get(category, {"granted": 0, "denied": 0})["granted"]
            services[category] = {
                name: {
                    "granted": c["granted"],
                    "denied": c["denied"],
                    "allowed": whole + c["granted"],
                }
                for name, c in sorted(named.items())
            }
        if current and policy is not None:
            for category_id in policy.optional_ids:
                whole = categories.get(category_id, {"granted": 0, "denied": 0})["granted"]
                for listed in policy.services(category_id):
                    services.setdefault(category_id, {}).setdefault(
                        listed.name, {"granted": 0, "denied": 0, "allowed": whole}
                    )
        tables.append(
            {
                "policy_version": version,
                "current": current,
                "subjects": subjects,
                "categories": categories,
                "services": services,
            }
        )
    return {
        "subjects": sum(t["subjects"] for t in tables),
        "current_policy_version": policy.version if policy is not None else None,
        "policy_versions": tables,
    }


def allowed_in(table: VersionStats, category: str, service: str) -> int:
    """Subjects of one version's table who allow ``service``: the category's whole
    grants, plus those who allowed the service on its own."""
    found = table["services"].get(category, {}).get(service)
    if found is not None:
        return found["allowed"]
    return table["categories"].get(category, {"granted": 0, "denied": 0})["granted"]
