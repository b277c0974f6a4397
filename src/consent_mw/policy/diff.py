"""Compare two policy versions and check that a new one is announced in time.

A changed policy is posted before it takes effect: 7 days ahead, and 30 days
ahead when the change is *major* (PIPA practice, and the founding policy's
own rule: major changes to users' rights are announced at least 30 days
before). Which changes are major::

    diff = diff_files("policy-2026-11.toml", "policy-2026-12.toml")
    print(render_diff(diff, "ko"))
    check_schedule(Policy.from_toml("policy-2026-12.toml"), major=diff.major)

**Major** (what is collected, why, by whom outside the controller, for how long):

- a category added or removed; its description (the purpose) changed; any
  change to its cookies or hosts; a category becoming required, or on by
  default; a processor or a Consent Mode type added to it;
- any change to ``[collected]``;
- a processor added, or its purpose or country changed;
- a tracker added or changed (it declares more cookies or hosts for a
  category), a third party added or changed;
- a retention period lengthened: a category's ``retention_days`` or a
  statutory row's ``keep_days`` grown or dropped (unbounded), a statutory row
  added; where a period has no day count, any change to its text (it cannot
  be compared, so it counts as lengthened);
- ``consent_lifetime_days`` lengthened; the default regime or a country's
  regime changed;
- ``[rights]``: a statement removed, or ``child_age`` lowered.

**Minor**: everything else — titles, banner texts, processor names, the
wording of a retention whose day count did not grow, things removed (a
processor, tracker, third party, statutory row, host from a tracker),
contacts, the controller's details, security measures, history, the
notice's own paragraphs, locales, dates and the version itself.

The rule errs towards major: announcing a minor change 30 days ahead is
allowed, taking a major one into effect after 7 days is not. Each key's weight is
its ``major`` in the field table (:mod:`consent_mw.policy.fields`); the lists above
are what that table says.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from os import PathLike
from typing import Any, Literal

from ..exceptions import PolicyError
from ..i18n import in_locale
from ..i18n.diff import DIFF_WORDS
from .fields import POLICY
from .model import Policy
from .notice_source import read_source
from .schema import Major, Table
from .snapshot import Coll, Seq, plain, snapshot

__all__ = [
    "MAJOR_NOTICE_DAYS",
    "MINOR_NOTICE_DAYS",
    "Change",
    "PolicyDiff",
    "check_schedule",
    "diff_files",
    "diff_policies",
    "render_diff",
]

MINOR_NOTICE_DAYS = 7
MAJOR_NOTICE_DAYS = 30

ChangeKind = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class Change:
    """One difference; ``path`` reads like the policy file: ``categories[ads].hosts``."""

    kind: ChangeKind
    path: str
    old: Any
    new: Any
    major: bool


@dataclass(frozen=True)
class PolicyDiff:
    """The changes from ``old_version`` to ``new_version``, and what looks wrong."""

    old_version: str
    new_version: str
    changes: tuple[Change, ...]
    warnings: tuple[str, ...] = ()

    @property
    def major(self) -> bool:
        return any(change.major for change in self.changes)

    def __bool__(self) -> bool:
        return bool(self.changes)


def _path(segments: tuple[str, ...]) -> str:
    out = ""
    for seg in segments:
        out += seg if seg.startswith("[") or not out else f".{seg}"
    return out


def _longer(kind: ChangeKind, old: Any, new: Any) -> bool:
    if isinstance(old, int) and isinstance(new, int):
        return new > old
    return new is None  # no longer bounded: lengthened; newly bounded: shortened


def _lowered(kind: ChangeKind, old: Any, new: Any) -> bool:
    return isinstance(old, int) and isinstance(new, int) and new < old


# What each weight in the field table (consent_mw.policy.fields) means.
_WEIGHS: dict[Major, Callable[[ChangeKind, Any, Any], bool]] = {
    "always": lambda kind, old, new: True,
    "never": lambda kind, old, new: False,
    "added": lambda kind, old, new: kind == "added",
    "not_removed": lambda kind, old, new: kind != "removed",
    "removed": lambda kind, old, new: kind == "removed",
    "turned_on": lambda kind, old, new: new is True,
    "longer": _longer,
    "lowered": _lowered,
}


def _is_major(kind: ChangeKind, segments: tuple[str, ...], old: Any, new: Any) -> bool:
    """Whether the change at ``segments`` is major: the weight of the deepest field on
    its path that has one of its own (see the field table)."""
    weight: Major = "never"
    table: Table | None = POLICY
    for name in (s for s in segments if not s.startswith("[")):
        found = table.rules().get(name) if table is not None else None
        if found is None:
            break
        own, table = found
        weight = own or weight
    return _WEIGHS[weight](kind, old, new)


class _Differ:
    def __init__(self) -> None:
        self.changes: list[Change] = []

    def emit(self, segments: tuple[str, ...], old: Any, new: Any) -> None:
        kind: ChangeKind = "added" if old is None else "removed" if new is None else "changed"
        major = _is_major(kind, segments, old, new)
        self.changes.append(Change(kind, _path(segments), plain(old), plain(new), major))

    def walk(self, segments: tuple[str, ...], old: Any, new: Any) -> None:
        if old == new:
            return
        if isinstance(old, Seq) and isinstance(new, Seq):
            self.pair(segments, old, new)
        elif isinstance(old, Mapping) and isinstance(new, Mapping):
            keyed = isinstance(old, Coll) or isinstance(new, Coll)
            for name in [*old, *(k for k in new if k not in old)]:
                sub = (*segments, f"[{name}]" if keyed else name)
                if name not in new:
                    self.emit(sub, old[name], None)
                elif name not in old:
                    self.emit(sub, None, new[name])
                else:
                    self.walk(sub, old[name], new[name])
        elif isinstance(old, frozenset) and isinstance(new, frozenset):
            for member in sorted(new - old):
                self.emit(segments, None, member)
            for member in sorted(old - new):
                self.emit(segments, member, None)
        else:
            self.emit(segments, old, new)

    def pair(self, segments: tuple[str, ...], old: Seq, new: Seq) -> None:
        olds = list(old.entries)
        news = list(new.entries)
        pairs: list[tuple[str, Any, Any]] = []
        for entry in list(olds):
            match = next((n for n in news if n[0] == entry[0]), None)
            if match is not None:
                olds.remove(entry)
                news.remove(match)
                pairs.append((entry[0], entry[1], match[1]))
        # What is left is reworded (paired in order) or really added/removed.
        while olds and news:
            (_, old_value), (new_key, new_value) = olds.pop(0), news.pop(0)
            pairs.append((new_key, old_value, new_value))
        for name, old_value, new_value in pairs:
            self.walk((*segments, f"[{name}]"), old_value, new_value)
        for name, value in olds:
            self.emit((*segments, f"[{name}]"), value, None)
        for name, value in news:
            self.emit((*segments, f"[{name}]"), None, value)


def diff_policies(old: Policy, new: Policy) -> PolicyDiff:
    """Every difference from ``old`` to ``new``, each classed as major or minor."""
    differ = _Differ()
    differ.walk((), snapshot(old), snapshot(new))
    changes = tuple(differ.changes)
    major = any(c.major for c in changes)
    warnings: list[str] = []
    meaningful = [
        c for c in changes if not c.path.startswith(("history", "announced", "effective"))
    ]
    if meaningful and old.version == new.version:
        warnings.append(
            f"The policy changed but its version is still {new.version!r}: give it a new "
            "version so consents are recorded against the text they were given to."
        )
    if major and old.version != new.version and old.version in new.compatible_versions:
        warnings.append(
            f"The change is major but compatible_versions lists {old.version!r}: visitors "
            "who consented to it will not be asked again."
        )
    for entry in read_source(new).history:
        if entry.version == new.version and entry.major is False and major:
            warnings.append(
                f"[[history]] marks version {new.version!r} as major = false, "
                "but the changes are major."
            )
    return PolicyDiff(old.version, new.version, changes, tuple(warnings))


def diff_files(old_path: str | PathLike[str], new_path: str | PathLike[str]) -> PolicyDiff:
    """:func:`diff_policies` of two policy TOML files."""
    return diff_policies(Policy.from_toml(old_path), Policy.from_toml(new_path))


def _missing(policy: Policy, key: str, when: str) -> PolicyError:
    return PolicyError(
        key, f"is missing: version {policy.version!r} needs the date {when} ({key} = 2026-11-01)"
    )


def check_schedule(policy: Policy, *, major: bool) -> None:
    """Raise PolicyError unless ``policy`` takes effect long enough after it is announced.

    7 days for any change, 30 days for a major one (see the module docstring).
    """
    announced, effective = policy.announced, policy.effective
    if announced is None:
        raise _missing(policy, "announced", "it is posted")
    if effective is None:
        raise _missing(policy, "effective", "it takes effect")
    needed = MAJOR_NOTICE_DAYS if major else MINOR_NOTICE_DAYS
    gap = (effective - announced).days
    if gap < needed:
        earliest = announced + dt.timedelta(days=needed)
        what = "a major change" if major else "a change"
        raise PolicyError(
            "effective",
            f"is {gap} days after announced ({announced.isoformat()}), but {what} "
            f"takes effect at least {needed} days after it is posted: set effective to "
            f"{earliest.isoformat()} or later, or announce earlier",
        )


# -- text listing ------------------------------------------------------------------


def _show(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_diff(diff: PolicyDiff, locale: str = "en") -> str:
    """A readable listing of ``diff``, major changes first."""
    words = in_locale(DIFF_WORDS, locale)
    names = {"old": diff.old_version, "new": diff.new_version}
    if not diff.changes:
        lines = [words["none"].format(**names)]
    else:
        majors = sum(c.major for c in diff.changes)
        lines = [
            words["head"].format(count=len(diff.changes), majors=majors, **names),
            words["major_rule" if diff.major else "minor_rule"],
            "",
        ]
        width = max(len(words[k]) for k in ("added", "removed", "changed"))
        for change in sorted(diff.changes, key=lambda c: not c.major):
            tag = words["major" if change.major else "minor"]
            lines.append(f"[{tag}] {words[change.kind]:<{width}}  {change.path}")
            if change.old is not None:
                lines.append(f"      {words['was']}: {_show(change.old)}")
            if change.new is not None:
                lines.append(f"      {words['now']}: {_show(change.new)}")
    if diff.warnings:
        lines += ["", words["warnings"], *(f"  - {w}" for w in diff.warnings)]
    return "\n".join(lines) + "\n"
