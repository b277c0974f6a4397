"""Comparing policy versions: what changed, major or minor, and the announcement rules."""

from __future__ import annotations

import copy
import datetime as dt
import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from consent_mw.demo import POLICY_PATH
from consent_mw.exceptions import PolicyError
from consent_mw.policy import Policy
from consent_mw.policy.diff import (
    Change,
    PolicyDiff,
    check_schedule,
    diff_files,
    diff_policies,
    render_diff,
)

Edit = Callable[[dict[str, Any]], None]

with open(POLICY_PATH, "rb") as _file:
    DEMO: dict[str, Any] = tomllib.load(_file)


def edited(edit: Edit) -> dict[str, Any]:
    data = copy.deepcopy(DEMO)
    edit(data)
    return data


def diff_after(edit: Edit) -> PolicyDiff:
    return diff_policies(Policy.from_dict(DEMO), Policy.from_dict(edited(edit)))


def category(data: dict[str, Any], cid: str) -> dict[str, Any]:
    return next(c for c in data["categories"] if c["id"] == cid)


def both(text: str) -> dict[str, str]:
    return {"ko": text, "en": text}


NEW_CATEGORY = {"id": "chat", "title": both("Chat"), "description": both("Live chat")}
NEW_ITEM = {"item": both("Birthday"), "category": "functional"}
NEW_TRACKER = {"owner": "Matomo", "category": "analytics", "hosts": ["matomo.example"]}
NEW_THIRD_PARTY = {
    "name": both("Promoter"),
    "purpose": both("Tickets"),
    "items": both("Name"),
    "retention": both("1 month"),
}
NEW_ROW = {"record": both("Chat logs"), "law": both("Some Act"), "keep": both("1 year")}


# (name, edit, a path the change must have, major?)
CASES: list[tuple[str, Edit, str, bool]] = [
    # categories: purposes and what they collect
    ("category added", lambda d: d["categories"].append(NEW_CATEGORY), "categories[chat]", True),
    (
        "category removed",
        lambda d: (d["categories"].pop(4), d["collected"]["optional"].pop(1)),
        "categories[marketing]",
        True,
    ),
    (
        "category description",
        lambda d: category(d, "analytics")["description"].update(en="Profiling"),
        "categories[analytics].description.en",
        True,
    ),
    (
        "category title wording",
        lambda d: category(d, "analytics")["title"].update(en="Usage stats"),
        "categories[analytics].title.en",
        False,
    ),
    (
        "cookie added",
        lambda d: category(d, "analytics")["cookies"].append({"name": "_gid"}),
        "categories[analytics].cookies[_gid]",
        True,
    ),
    (
        "cookie lifetime",
        lambda d: category(d, "analytics")["cookies"][0]["lifetime"].update(en="3 years"),
        "categories[analytics].cookies[_ga].lifetime.en",
        True,
    ),
    (
        "host added",
        lambda d: category(d, "advertising").update(hosts=["ads.example"]),
        "categories[advertising].hosts",
        True,
    ),
    (
        "category made required",
        lambda d: category(d, "functional").update(required=True),
        "categories[functional].required",
        True,
    ),
    (
        "category on by default",
        lambda d: category(d, "functional").update(default_on=True),
        "categories[functional].default_on",
        True,
    ),
    (
        "processor given to a category",
        lambda d: category(d, "functional")["processors"].append("google"),
        "categories[functional].processors",
        True,
    ),
    (
        "processor taken from a category",
        lambda d: category(d, "necessary")["processors"].remove("payments"),
        "categories[necessary].processors",
        False,
    ),
    (
        "consent mode type added",
        lambda d: category(d, "analytics").update(consent_mode=["analytics_storage", "ad_storage"]),
        "categories[analytics].consent_mode",
        True,
    ),
    (
        "consent mode type removed",
        lambda d: category(d, "advertising").update(consent_mode=["ad_storage"]),
        "categories[advertising].consent_mode",
        False,
    ),
    (
        "category retention lengthened",
        lambda d: category(d, "analytics").update(retention_days=800),
        "categories[analytics].retention_days",
        True,
    ),
    (
        "category retention shortened",
        lambda d: category(d, "analytics").update(retention_days=200),
        "categories[analytics].retention_days",
        False,
    ),
    (
        "category retention wording, days unchanged",
        lambda d: category(d, "analytics")["retention"].update(en="14 months"),
        "categories[analytics].retention.en",
        False,
    ),
    (
        "category retention text without a day count",
        lambda d: category(d, "marketing")["retention"].update(en="5 years"),
        "categories[marketing].retention_period.en",
        True,
    ),
    # [collected]
    (
        "collected item added",
        lambda d: d["collected"]["optional"].append(NEW_ITEM),
        "collected",
        True,
    ),
    (
        "collected item reworded",
        lambda d: d["collected"]["automatic"][1]["item"].update(en="IP address (full)"),
        "collected.automatic",
        True,
    ),
    ("collected section dropped", lambda d: d.pop("collected"), "collected", True),
    # processors
    (
        "processor added",
        lambda d: d["processors"].append({"id": "crm", "name": "CRM", "purpose": "Mailing"}),
        "processors[crm]",
        True,
    ),
    (
        "processor removed",
        lambda d: (d["processors"].pop(3), category(d, "analytics")["processors"].remove("naver")),
        "processors[naver]",
        False,
    ),
    (
        "processor purpose",
        lambda d: d["processors"][2]["purpose"].update(en="Analytics and ads"),
        "processors[google].purpose.en",
        True,
    ),
    (
        "processor country",
        lambda d: d["processors"][0].update(country="US"),
        "processors[hosting].country",
        True,
    ),
    (
        "processor name wording",
        lambda d: d["processors"][0]["name"].update(en="Cloud host"),
        "processors[hosting].name.en",
        False,
    ),
    # trackers and third parties
    ("tracker added", lambda d: d.update(trackers=[NEW_TRACKER]), "trackers[Matomo]", True),
    (
        "third party added",
        lambda d: d.update(third_parties=[NEW_THIRD_PARTY]),
        "third_parties",
        True,
    ),
    # statutory retention
    (
        "statutory period lengthened",
        lambda d: d["retention"][6].update(keep_days=365, keep=both("1 year")),
        "retention[서비스 로그인 기록].keep_days",
        True,
    ),
    (
        "statutory period shortened",
        lambda d: d["retention"][0].update(keep_days=1095, keep=both("3 years")),
        ".keep_days",
        False,
    ),
    ("statutory row added", lambda d: d["retention"].append(NEW_ROW), "retention[Chat logs]", True),
    (
        "statutory row removed",
        lambda d: d["retention"].pop(),
        "retention[서비스 로그인 기록]",
        False,
    ),
    (
        "statutory law wording",
        lambda d: d["retention"][4]["law"].update(en="Electronic Financial Transactions Act."),
        "retention[전자금융 거래에 관한 기록].law.en",
        False,
    ),
    # policy-wide settings
    (
        "consent lifetime lengthened",
        lambda d: d.update(consent_lifetime_days=700),
        "consent_lifetime_days",
        True,
    ),
    (
        "consent lifetime shortened",
        lambda d: d.update(consent_lifetime_days=180),
        "consent_lifetime_days",
        False,
    ),
    ("regime", lambda d: d.update(regime={"default": "gdpr"}), "regime", True),
    ("default locale", lambda d: d.update(default_locale="en"), "default_locale", False),
    ("banner text", lambda d: d.update(texts={"en": {"title": "Cookies"}}), "texts.en", False),
    # notice-only sections
    ("contact phone", lambda d: d["contacts"][0].update(phone="119"), ".phone", False),
    (
        "contact added",
        lambda d: d["contacts"].append({"name": both("PIPC"), "phone": "02-0000-0000"}),
        "contacts[PIPC]",
        False,
    ),
    (
        "security wording",
        lambda d: d["security"][2]["measure"].update(en="All traffic uses TLS."),
        "security",
        False,
    ),
    (
        "privacy officer",
        lambda d: d["controller"].update(privacy_officer=both("Lee")),
        "controller.privacy_officer.en",
        False,
    ),
    (
        "history entry added",
        lambda d: d["history"].append({"version": "2025-01", "summary": both("Draft")}),
        "history[2025-01]",
        False,
    ),
    (
        "notice paragraph",
        lambda d: d["notice"]["extra"].update(security=both("We also do audits.")),
        "notice.extra.security",
        False,
    ),
    (
        "rights statement added",
        lambda d: d["rights"].update(extra=[both("More")]),
        "rights.extra",
        False,
    ),
    ("child age raised", lambda d: d["rights"].update(child_age=16), "rights.child_age", False),
    ("version", lambda d: d.update(version="2026-12"), "version", False),
]


@pytest.mark.parametrize(
    ("edit", "path", "major"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_kind_of_change(edit: Edit, path: str, major: bool) -> None:
    diff = diff_after(edit)
    assert diff.changes, "the edit should show"
    assert any(path in change.path for change in diff.changes), [c.path for c in diff.changes]
    assert diff.major is major, render_diff(diff)
    for change in diff.changes:
        json.dumps([change.old, change.new], ensure_ascii=False)


def test_fewer_rights_is_major() -> None:
    with_extra = edited(lambda d: d["rights"].update(extra=[both("Portability")]))
    without = edited(lambda d: None)
    diff = diff_policies(Policy.from_dict(with_extra), Policy.from_dict(without))
    assert diff.major and [c.kind for c in diff.changes] == ["removed"]
    lowered = edited(lambda d: d["rights"].update(child_age=13))
    assert diff_policies(Policy.from_dict(DEMO), Policy.from_dict(lowered)).major


def test_removals_that_narrow_are_minor() -> None:
    with_tracker = Policy.from_dict(edited(lambda d: d.update(trackers=[NEW_TRACKER])))
    with_party = Policy.from_dict(edited(lambda d: d.update(third_parties=[NEW_THIRD_PARTY])))
    demo = Policy.from_dict(DEMO)
    assert not diff_policies(with_tracker, demo).major
    assert not diff_policies(with_party, demo).major


def test_change_records_kind_path_and_values() -> None:
    diff = diff_after(lambda d: d["contacts"][0].update(phone="119"))
    assert diff.changes == (
        Change(
            kind="changed",
            path="contacts[개인정보침해신고센터 (한국인터넷진흥원)].phone",
            old="118",
            new="119",
            major=False,
        ),
    )
    added = diff_after(lambda d: category(d, "advertising").update(hosts=["ads.example"]))
    assert added.changes == (
        Change("added", "categories[advertising].hosts", None, "ads.example", True),
    )


def test_a_reworded_entry_pairs_with_its_old_self() -> None:
    diff = diff_after(lambda d: d["retention"][0]["record"].update(ko="계약·청약철회 기록"))
    assert [(c.kind, c.path) for c in diff.changes] == [
        ("changed", "retention[계약·청약철회 기록].record.ko")
    ]
    assert not diff.major


def test_identical_policies() -> None:
    diff = diff_policies(Policy.from_dict(DEMO), Policy.from_toml(POLICY_PATH))
    assert not diff and not diff.major and diff.changes == () and diff.warnings == ()
    assert render_diff(diff) == "Policy 2026-11 → 2026-11: no differences.\n"
    assert "차이가 없습니다" in render_diff(diff, "ko")


def test_warnings() -> None:
    same_version = diff_after(lambda d: category(d, "analytics")["title"].update(en="Stats"))
    assert "version is still '2026-11'" in same_version.warnings[0]

    def major_but_compatible(d: dict[str, Any]) -> None:
        d.update(version="2026-12", compatible_versions=["2026-11"])
        d["categories"].append(NEW_CATEGORY)
        d["history"][0].update(version="2026-12")

    diff = diff_after(major_but_compatible)
    assert diff.major
    assert any("compatible_versions lists '2026-11'" in w for w in diff.warnings)
    assert any("major = false" in w for w in diff.warnings)


def test_render_diff_lists_major_changes_first() -> None:
    def edit(d: dict[str, Any]) -> None:
        d["version"] = "2026-12"
        d["contacts"][0]["phone"] = "119"
        category(d, "analytics")["description"]["en"] = "<b>Profiling</b>"

    diff = diff_after(edit)
    text = render_diff(diff)
    lines = text.splitlines()
    assert lines[0] == "Policy 2026-11 → 2026-12: 3 changes (1 major)"
    assert lines[1].startswith("Major change: announce it at least 30 days")
    assert lines[3] == "[major] changed  categories[analytics].description.en"
    assert '      now: "<b>Profiling</b>"' in lines
    assert text.index("[minor] changed  version") > text.index("[major]")
    ko = render_diff(diff, "ko")
    assert ko.splitlines()[0] == "개인정보처리방침 2026-11 → 2026-12: 변경 3건 (중요 1건)"
    assert "[중요] 변경" in ko and "[일반] 변경" in ko
    assert render_diff(diff, "fr") == text


def test_diff_files(tmp_path: Path) -> None:
    new = Path(POLICY_PATH).read_text(encoding="utf-8").replace('phone = "118"', 'phone = "119"')
    path = tmp_path / "new.toml"
    path.write_text(new, encoding="utf-8")
    diff = diff_files(POLICY_PATH, path)
    assert [c.path for c in diff.changes] == [
        "contacts[개인정보침해신고센터 (한국인터넷진흥원)].phone"
    ]


# -- announcement schedule -----------------------------------------------------------


def scheduled(days: int) -> Policy:
    announced = dt.date(2026, 12, 1)
    effective = announced + dt.timedelta(days=days)
    return Policy.from_dict(edited(lambda d: d.update(announced=announced, effective=effective)))


@pytest.mark.parametrize(
    ("days", "major", "ok"),
    [(6, False, False), (7, False, True), (29, True, False), (30, True, True), (29, False, True)],
)
def test_schedule_boundaries(days: int, major: bool, ok: bool) -> None:
    policy = scheduled(days)
    if ok:
        check_schedule(policy, major=major)
        return
    with pytest.raises(PolicyError) as info:
        check_schedule(policy, major=major)
    assert info.value.key == "effective"
    needed = 30 if major else 7
    assert f"at least {needed} days" in str(info.value)
    earliest = dt.date(2026, 12, 1) + dt.timedelta(days=needed)
    assert earliest.isoformat() in str(info.value)


@pytest.mark.parametrize("missing", ["announced", "effective"])
def test_schedule_needs_both_dates(missing: str) -> None:
    policy = Policy.from_dict(edited(lambda d: d.pop(missing)))
    with pytest.raises(PolicyError) as info:
        check_schedule(policy, major=False)
    assert info.value.key == missing
    assert "is missing" in str(info.value)


def test_demo_schedule_is_valid_for_its_own_history() -> None:
    # The demo's current version is marked minor and announced 7 days ahead.
    check_schedule(Policy.from_dict(DEMO), major=False)
    with pytest.raises(PolicyError):
        check_schedule(Policy.from_dict(DEMO), major=True)
