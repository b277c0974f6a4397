"""Policy versions over time: which one is in force today, and which is coming.

A site announces a new policy version before it takes effect (7 days ahead, 30
for a major change: see :mod:`consent_mw.policy_diff`). Give the middlewares
every version, oldest first::

    ConsentMiddleware(app, policy=["policy-2026-05.toml", "policy-2026-11.toml"], ...)

Between the new version's announcement and effective dates the old one is
enforced and the banner shows a notice of the coming change. On the effective
date the new one is enforced: after a major change everyone is asked again; a
minor change keeps earlier choices (the old version is compatible).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from ..exceptions import PolicyError
from .diff import check_schedule, diff_policies
from .model import Policy

__all__ = ["PolicySchedule", "Version"]


@dataclass(frozen=True)
class Version:
    policy: Policy
    #: the first day it is enforced (None: from the start)
    effective: dt.date | None
    #: whether it changes items collected or purposes compared with the previous version
    major: bool


class PolicySchedule:
    """Validated versions, in the order they take effect."""

    def __init__(self, policies: Sequence[Policy]) -> None:
        if not policies:
            raise PolicyError("policy", "give at least one policy version")
        versions: list[Version] = [Version(policies[0], policies[0].effective, False)]
        for index, policy in enumerate(policies[1:], start=1):
            previous = versions[-1].policy
            key = f"policy[{index}]"
            if policy.version == previous.version:
                raise PolicyError(f"{key}.version", f"{policy.version!r} is used twice")
            if policy.effective is None or policy.announced is None:
                raise PolicyError(
                    f"{key}.effective", "a later version needs announced and effective dates"
                )
            if previous.effective is not None and policy.effective <= previous.effective:
                raise PolicyError(
                    f"{key}.effective", "versions must be listed in the order they take effect"
                )
            major = diff_policies(previous, policy).major
            check_schedule(policy, major=major)
            if not major:
                # A minor change keeps every choice that stood under the previous version.
                policy = dataclasses.replace(
                    policy,
                    compatible_versions=policy.compatible_versions
                    | previous.compatible_versions
                    | {previous.version},
                )
            versions.append(Version(policy, policy.effective, major))
        self.versions: tuple[Version, ...] = tuple(versions)

    def index(self, today: dt.date) -> int:
        """The position of the version in force on ``today``."""
        current = 0
        for index, version in enumerate(self.versions):
            if index == 0 or (version.effective is not None and version.effective <= today):
                current = index
        return current

    def upcoming(self, today: dt.date) -> Version | None:
        """The announced version that is not in force yet, if any."""
        following = self.index(today) + 1
        if following < len(self.versions):
            version = self.versions[following]
            announced = version.policy.announced
            if announced is not None and announced <= today:
                return version
        return None
