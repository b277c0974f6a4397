"""Policy loading and validation, locales, text hashes and versions."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from consent_mw import Policy, PolicyError
from consent_mw.policy import CONSENT_MODE_TYPES
from support.harness import custom_policy_dict

# -- presets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("regime", "default_on", "lifetime"),
    [("gdpr", False, 182), ("pipa", False, 365), ("ccpa", True, 365)],
)
def test_presets(regime: str, default_on: bool, lifetime: int) -> None:
    policy = Policy.preset(regime)
    assert policy.regime == regime
    assert [c.id for c in policy.categories] == [
        "necessary",
        "functional",
        "analytics",
        "advertising",
    ]
    assert policy.required_ids == frozenset({"necessary"})
    assert policy.optional_ids == ("functional", "analytics", "advertising")
    assert [c.default_on for c in policy.categories[1:]] == [default_on] * 3
    assert policy.category("necessary").default_on is False
    assert set(policy.locales) == {"en", "ko"}
    assert policy.lifetime_days(policy.regime_for(None)) == lifetime
    for category in policy.categories:
        assert category.title["ko"] and category.title["en"]
        assert set(category.consent_mode) <= set(CONSENT_MODE_TYPES)


def test_preset_overrides() -> None:
    policy = Policy.preset("gdpr", version="7", compatible_versions=["6"])
    assert policy.version == "7"
    assert policy.accepts_version("6")


def test_unknown_preset() -> None:
    with pytest.raises(PolicyError) as info:
        Policy.preset("hipaa")
    assert info.value.key == "regime"


def test_category_lookup() -> None:
    policy = Policy.preset("gdpr")
    assert policy.category("analytics").id == "analytics"
    assert policy.has_category("analytics") and not policy.has_category("chat")
    with pytest.raises(KeyError):
        policy.category("chat")


# -- TOML -----------------------------------------------------------------------------------

POLICY_TOML = """
version = "2026-03"
locales = ["ko", "en"]
compatible_versions = ["2026-01"]
consent_lifetime_days = 300
announced = 2026-02-01
effective = "2026-03-01"
gpc_last_update = 2026-02-15

[regime]
default = "pipa"
countries = { de = "gdpr", KR = "pipa" }

[[processors]]
id = "ga"
name = "Google"
purpose = { ko = "이용 통계", en = "Usage statistics" }
country = "US"

[[categories]]
id = "necessary"
title = { ko = "필수", en = "Necessary" }
description = { ko = "필수 쿠키", en = "Needed" }
cookies = [{ name = "session", owner = "us", lifetime = { ko = "세션", en = "Session" } }]

[[categories]]
id = "analytics"
title = { ko = "분석", en = "Analytics" }
description = "Statistics"
processors = ["ga"]
retention_days = 400
cookies = ["_pk_*"]
hosts = ["stats.example.net"]

[[categories]]
id = "advertising"
title = { ko = "광고", en = "Advertising" }
description = { ko = "광고", en = "Advertising" }

[[trackers]]
owner = "Matomo"
category = "analytics"
cookies = ["_pk_id.*"]
hosts = ["matomo.example.org"]
click_ids = ["mtm_cid"]

[texts.ko]
title = "쿠키 선택"

[controller]
name = "Example Corp."
"""


def test_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY_TOML, encoding="utf-8")
    policy = Policy.from_toml(path)
    assert Policy.from_toml(str(path)) == policy
    assert policy.version == "2026-03"
    assert policy.locales == ("ko", "en") and policy.default_locale == "ko"
    assert policy.regime == "pipa"
    assert policy.regime_for("DE").name == "gdpr"
    assert policy.regime_for("US").name == "ccpa"
    assert policy.regime_for(None).name == "pipa"
    assert policy.regime_for("ZZ").name == "pipa"
    assert policy.consent_lifetime_days == 300
    assert policy.lifetime_days(policy.regime_for("DE")) == 300
    assert policy.accepts_version("2026-01") and not policy.accepts_version("2025-12")
    assert policy.announced == dt.date(2026, 2, 1)
    assert policy.effective == dt.date(2026, 3, 1)
    assert policy.gpc_last_update == dt.date(2026, 2, 15)
    analytics = policy.category("analytics")
    assert analytics.processors == ("ga",)
    assert analytics.retention_days == 400
    assert analytics.description == {"ko": "Statistics", "en": "Statistics"}
    assert analytics.consent_mode == ("analytics_storage",)
    assert policy.processors[0].name == {"ko": "Google", "en": "Google"}
    assert policy.ui_texts("ko")["title"] == "쿠키 선택"
    assert policy.ui_texts("en")["title"] == "Your privacy choices"
    assert policy.raw["controller"] == {"name": "Example Corp."}
    matcher = policy.matcher
    assert matcher.cookie_category("_pk_id.1.abcd") == "analytics"
    assert matcher.cookie_category("_pk_ses") == "analytics"
    assert matcher.cookie_category("session") == "necessary"
    assert matcher.url_category("https://stats.example.net/p.js") == "analytics"
    assert "mtm_cid" in matcher.click_ids


@pytest.mark.parametrize(("country", "regime"), [("KR", "pipa"), ("kr", "pipa"), ("de", "gdpr")])
def test_regime_for_ignores_case(country: str, regime: str) -> None:
    assert Policy.preset("ccpa").regime_for(country).name == regime


def test_from_toml_equals_from_dict(tmp_path: Path) -> None:
    import tomllib

    path = tmp_path / "policy.toml"
    path.write_text(POLICY_TOML, encoding="utf-8")
    assert Policy.from_toml(path) == Policy.from_dict(tomllib.loads(POLICY_TOML))


# -- invalid policies -----------------------------------------------------------------------


def edit(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    data = copy.deepcopy(custom_policy_dict())
    change(data)
    return data


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change that sets ``data[a][b]…`` for ``path`` like ``categories.1.title``."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value

    return change


def _drop_necessary(data: dict[str, Any]) -> None:
    data["categories"] = data["categories"][1:]


def _duplicate(data: dict[str, Any]) -> None:
    data["categories"].append(copy.deepcopy(data["categories"][2]))


INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("missing ko text", edit(_set("categories.1.title", {"en": "Chat"})), "categories[1].title.ko"),
    ("blank ko text", edit(_set("categories.1.title.ko", "  ")), "categories[1].title.ko"),
    (
        "missing description",
        edit(lambda d: d["categories"][2].pop("description")),
        "categories[2].description",
    ),
    ("text not a string", edit(_set("categories.1.title.en", 5)), "categories[1].title.en"),
    ("blank title string", edit(_set("categories.1.title", "  ")), "categories[1].title"),
    ("empty processor name", edit(_set("processors.0.name", "")), "processors[0].name"),
    ("bad category id", edit(_set("categories.1.id", "Chat")), "categories[1].id"),
    ("category id with a dash", edit(_set("categories.1.id", "live-chat")), "categories[1].id"),
    ("category id not a string", edit(_set("categories.1.id", 1)), "categories[1].id"),
    ("duplicate id", edit(_duplicate), "categories[4].id"),
    ("missing necessary", edit(_drop_necessary), "categories"),
    (
        "necessary not required",
        edit(_set("categories.0.required", False)),
        "categories[0].required",
    ),
    ("required not a bool", edit(_set("categories.1.required", "yes")), "categories[1].required"),
    (
        "unknown processor",
        edit(_set("categories.1.processors", ["chatco", "nope"])),
        "categories[1].processors[1]",
    ),
    (
        "bad consent_mode type",
        edit(_set("categories.1.consent_mode", ["ad_storag"])),
        "categories[1].consent_mode[0]",
    ),
    (
        "consent_mode not a list",
        edit(_set("categories.1.consent_mode", "ad_storage")),
        "categories[1].consent_mode",
    ),
    (
        "lifetime above the regime maximum",
        edit(_set("consent_lifetime_days", 731)),
        "consent_lifetime_days",
    ),
    (
        "lifetime above the gdpr maximum",
        edit(lambda d: d.update(regime="gdpr", consent_lifetime_days=396)),
        "consent_lifetime_days",
    ),
    ("lifetime of zero", edit(_set("consent_lifetime_days", 0)), "consent_lifetime_days"),
    ("lifetime as bool", edit(_set("consent_lifetime_days", True)), "consent_lifetime_days"),
    ("unknown top-level key", edit(_set("categroies", [])), "categroies"),
    (
        "effective before announced",
        edit(lambda d: d.update(announced="2026-03-01", effective="2026-02-01")),
        "effective",
    ),
    ("bad date", edit(_set("announced", "1 March")), "announced"),
    ("missing version", edit(lambda d: d.pop("version")), "version"),
    ("long version", edit(_set("version", "v" * 33)), "version"),
    ("blank version", edit(_set("version", " ")), "version"),
    ("no locales", edit(_set("locales", [])), "locales"),
    ("bad locale tag", edit(_set("locales", ["ko", "EN"])), "locales[1]"),
    ("default locale not listed", edit(_set("default_locale", "ja")), "default_locale"),
    ("unknown regime", edit(_set("regime", "hipaa")), "regime.default"),
    (
        "unknown country regime",
        edit(_set("regime", {"countries": {"KR": "kisa"}})),
        "regime.countries.KR",
    ),
    ("categories missing", edit(lambda d: d.pop("categories")), "categories"),
    ("categories not a list", edit(_set("categories", {})), "categories"),
    (
        "bad cookie name",
        edit(_set("categories.1.cookies", ["chat id"])),
        "categories[1].cookies[0].name",
    ),
    (
        "cookie name only a wildcard",
        edit(_set("categories.1.cookies", ["*"])),
        "categories[1].cookies[0].name",
    ),
    (
        "retention_days zero",
        edit(_set("categories.1.retention_days", 0)),
        "categories[1].retention_days",
    ),
    (
        "tracker with unknown category",
        edit(_set("trackers", [{"owner": "X", "category": "chat2"}])),
        "trackers[0].category",
    ),
    ("unknown text key", edit(_set("texts", {"en": {"titel": "x"}})), "texts.en.titel"),
    (
        "processor without a name",
        edit(lambda d: d["processors"][0].pop("name")),
        "processors[0].name",
    ),
]


@pytest.mark.parametrize(("data", "key"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_policy_names_the_key(data: dict[str, Any], key: str) -> None:
    with pytest.raises(PolicyError) as info:
        Policy.from_dict(data)
    assert info.value.key == key
    assert repr(key) in str(info.value)


def test_the_base_of_the_invalid_table_is_valid() -> None:
    Policy.from_dict(custom_policy_dict())


@pytest.mark.parametrize("data", [[], "policy", None, 1])
def test_root_must_be_a_table(data: Any) -> None:
    with pytest.raises(PolicyError) as info:
        Policy.from_dict(data)
    assert info.value.key == "<root>"


def test_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('version = "1"\ncategories = [', encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        Policy.from_toml(path)
    assert info.value.key == "<file>"
    assert "not valid TOML" in info.value.problem


@pytest.mark.parametrize("name", ["missing.toml", "."])
def test_unreadable_file(tmp_path: Path, name: str) -> None:
    with pytest.raises(PolicyError) as info:
        Policy.from_toml(tmp_path / name)
    assert info.value.key == "<file>"
    assert "cannot read" in info.value.problem


def test_invalid_content_in_a_toml_file_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY_TOML.replace('id = "advertising"', 'id = "Ads"'), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        Policy.from_toml(path)
    assert info.value.key == "categories[2].id"


# -- locales ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wanted", "accept_language", "locale"),
    [
        (None, None, "ko"),
        ("en", None, "en"),
        ("EN", None, "en"),
        ("en-US", None, "en"),
        ("fr", None, "ko"),
        ("", "en", "en"),
        ("ko", "en", "ko"),
        ("fr", "en", "en"),
        (None, "en-GB,en;q=0.9", "en"),
        (None, "fr-CH, fr;q=0.9, en;q=0.8, ko;q=0.7", "en"),
        (None, "ko;q=0.5, en;q=0.9", "en"),
        (None, "en;q=0, ko;q=0.1", "ko"),
        (None, "en;q=0", "ko"),
        (None, "en;q=abc, ko", "ko"),
        (None, "*", "ko"),
        (None, "", "ko"),
        (None, ",,,;", "ko"),
        (None, "fr, " * 30 + "en", "ko"),  # only the first 20 entries are read
    ],
)
def test_pick_locale(wanted: str | None, accept_language: str | None, locale: str) -> None:
    policy = Policy.from_dict(custom_policy_dict())
    assert policy.pick_locale(wanted, accept_language) == locale


def test_text_falls_back_to_the_default_locale() -> None:
    policy = Policy.from_dict(custom_policy_dict())
    assert policy.text({"ko": "한국어", "en": "English"}, "en") == "English"
    assert policy.text({"ko": "한국어"}, "en") == "한국어"
    assert policy.text({"en": "English"}, "ja") == "English"


# -- text hashes ------------------------------------------------------------------------------


def test_text_hash_differs_by_locale() -> None:
    policy = Policy.from_dict(custom_policy_dict())
    assert policy.text_hash("ko") != policy.text_hash("en")
    assert len(policy.text_hash("ko")) == 64
    assert policy.text_hash("ja") == policy.text_hash("ko")  # unknown: the default locale


def test_text_hash_is_stable() -> None:
    a, b = Policy.from_dict(custom_policy_dict()), Policy.from_dict(custom_policy_dict())
    assert a.text_hash("en") == b.text_hash("en")


@pytest.mark.parametrize(
    "change",
    [
        _set("categories.2.description.en", "Usage statistics!"),
        _set("categories.1.title.en", "Live chat"),
        _set("categories.1.retention.en", "2 years"),
        _set("version", "4"),
        _set("texts", {"en": {"intro": "Hello"}}),
        _set("categories.1.required", True),
    ],
)
def test_text_hash_changes_with_the_text(change: Callable[[dict[str, Any]], None]) -> None:
    before = Policy.from_dict(custom_policy_dict())
    after = Policy.from_dict(edit(change))
    assert after.text_hash("en") != before.text_hash("en")


def test_text_hash_ignores_other_locales_text() -> None:
    before = Policy.from_dict(custom_policy_dict())
    after = Policy.from_dict(edit(_set("categories.1.title.ko", "실시간 채팅")))
    assert after.text_hash("en") == before.text_hash("en")
    assert after.text_hash("ko") != before.text_hash("ko")


# -- versions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("compatible", "version", "accepted"),
    [
        ([], "3", True),
        ([], "2", False),
        (["2"], "2", True),
        (["2"], "1", False),
        (["1", "2"], "1", True),
        (["2"], "", False),
    ],
)
def test_accepts_version(compatible: list[str], version: str, accepted: bool) -> None:
    policy = Policy.from_dict(edit(_set("compatible_versions", compatible)))
    assert policy.accepts_version(version) is accepted


def test_numeric_version_is_a_string() -> None:
    assert Policy.from_dict(edit(_set("version", 4))).version == "4"
