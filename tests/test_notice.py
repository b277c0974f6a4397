"""The privacy notice rendered from a policy: sections, facts, formats, escaping, proof hash."""

from __future__ import annotations

import copy
import html
import json
import re
import tomllib
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from selectolax.lexbor import LexborHTMLParser as Lexbor

from consent_mw.demo import POLICY_PATH
from consent_mw.exceptions import PolicyError
from consent_mw.notice import (
    HEADINGS,
    SECTION_IDS,
    NoticeLinks,
    check_notice,
    notice_hash,
    render_notice,
)
from consent_mw.policy import Policy

LOCALES = ("ko", "en")
FORMATS = ("html", "markdown", "json")
XSS = "<script>alert(1)</script>"


@pytest.fixture
def demo_dict() -> dict[str, Any]:
    with open(POLICY_PATH, "rb") as file:
        return tomllib.load(file)


@pytest.fixture
def demo(demo_dict: dict[str, Any]) -> Policy:
    return Policy.from_dict(demo_dict)


def as_text(policy: Policy, locale: str, fmt: str, **kwargs: Any) -> str:
    """The notice as searchable text: entities decoded, markdown escapes removed."""
    out = render_notice(policy, locale, fmt=fmt, **kwargs)  # type: ignore[call-overload]
    if fmt == "json":
        return json.dumps(out, ensure_ascii=False)
    if fmt == "markdown":
        return re.sub(r"\\(.)", r"\1", out)
    return html.unescape(out)


def loc(value: Any, locale: str) -> str:
    return value if isinstance(value, str) else value[locale]


def demo_facts(data: dict[str, Any], locale: str) -> list[str]:
    """What the demo policy file says that its notice must show."""
    facts: list[str] = []
    for row in data["retention"]:
        facts += [loc(row["record"], locale), loc(row["law"], locale), loc(row["keep"], locale)]
    for p in data["processors"]:
        facts += [loc(p["name"], locale), loc(p["purpose"], locale), p["country"]]
    for c in data["categories"]:
        facts += [loc(c["title"], locale), loc(c["description"], locale)]
        facts += [cookie["name"] for cookie in c.get("cookies", [])]
    controller = data["controller"]
    facts += [loc(controller["privacy_officer"], locale), controller["helpdesk"]]
    facts += [controller["email"], loc(controller["name"], locale)]
    for body in data["contacts"]:
        facts += [loc(body["name"], locale), body["phone"], body["url"]]
    for entry in data["history"]:
        facts += [entry["version"], loc(entry["summary"], locale)]
        facts += [entry["announced"].isoformat(), entry["effective"].isoformat()]
    for kind in ("required", "optional", "automatic"):
        facts += [loc(item["item"], locale) for item in data["collected"][kind]]
    facts += [loc(m["measure"], locale) for m in data["security"]]
    facts += [loc(text, locale) for text in data["notice"]["extra"].values()]
    facts.append(loc(data["rights"]["how"], locale))
    return facts


# -- sections and facts, in every locale and format ---------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("locale", LOCALES)
def test_every_section_is_there(demo: Policy, locale: str, fmt: str) -> None:
    out = render_notice(demo, locale, fmt=fmt)  # type: ignore[call-overload]
    if fmt == "json":
        assert [s["id"] for s in out["sections"]] == list(SECTION_IDS)
        return
    for sid in SECTION_IDS:
        heading = HEADINGS[locale][sid].format(age=14)
        if fmt == "html":
            assert f'<h2 id="{sid}">{html.escape(heading)}</h2>' in out
            assert f'<a href="#{sid}">' in out
        else:
            assert f'<a id="{sid}"></a>\n\n## {heading}' in out
            assert f"](#{sid})" in out


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("locale", LOCALES)
def test_every_fact_of_the_demo_policy_is_shown(
    demo: Policy, demo_dict: dict[str, Any], locale: str, fmt: str
) -> None:
    text = as_text(demo, locale, fmt)
    missing = [fact for fact in demo_facts(demo_dict, locale) if fact not in text]
    assert not missing


@pytest.mark.parametrize("fmt", FORMATS)
def test_key_statements(demo: Policy, fmt: str) -> None:
    ko, en = as_text(demo, "ko", fmt), as_text(demo, "en", fmt)
    # Under-14 rule, third parties (none), the 7/30-day change rule, GPC opt-out.
    assert "만 14세 미만" in ko and "법정대리인" in ko
    assert "under 14" in en and "legal guardian" in en and "customised advertising" in en
    assert "제3자에게 제공하지 않습니다" in ko
    assert "do not provide personal data to third parties" in en
    assert "7 days" in en and "30 days" in en
    assert "Global Privacy Control" in en
    assert "파기" in ko and "incinerated" in en


@pytest.mark.parametrize("fmt", FORMATS)
def test_rights_links_and_forms(demo: Policy, fmt: str) -> None:
    text = as_text(demo, "en", fmt)
    for url in (
        "/_consent/records",
        "/_consent/records?format=json",
        "/_consent/records/delete",
        "/_consent/withdraw",
        "/_consent/ads",
        "/_consent/policy?locale=ko",
    ):
        assert url in text
    # Without a preferences page, the notice names the banner's re-open button.
    assert "“Privacy choices”" in text


def test_state_changing_links_are_post_forms(demo: Policy) -> None:
    tree = Lexbor(render_notice(demo, "en", fmt="html"))
    forms = {f.attributes["action"]: f.attributes["method"] for f in tree.css("form")}
    assert forms == {"/_consent/records/delete": "post", "/_consent/withdraw": "post"}
    hrefs = {a.attributes["href"] for a in tree.css("a")}
    assert "/_consent/records/delete" not in hrefs and "/_consent/withdraw" not in hrefs
    for form in tree.css("form"):
        assert form.css_first("button[type=submit]") is not None


def test_links_follow_the_prefix(demo: Policy) -> None:
    links = NoticeLinks.from_prefix("/privacy/", preferences="/settings/privacy")
    assert links.withdraw == "/privacy/withdraw" and links.export == "/privacy/records?format=json"
    data = render_notice(demo, "en", fmt="json", links=links)
    assert data["links"]["records"] == "/privacy/records"
    rights = next(s for s in data["sections"] if s["id"] == "rights")
    assert rights["actions"][-1] == {
        "id": "preferences",
        "label": "Change your choices",
        "href": "/settings/privacy",
        "method": "get",
    }
    assert data["languages"] == [
        {"locale": "ko", "name": "한국어", "href": "/privacy/policy?locale=ko"}
    ]
    assert NoticeLinks.from_prefix() == NoticeLinks()


# -- HTML document quality ----------------------------------------------------------

_VOID = {"meta", "link", "br", "hr", "img", "input"}


class _Balance(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _VOID:
            self.stack.append(tag)
        for name, _ in attrs:
            if name.startswith("on"):
                self.errors.append(f"event handler {name} on <{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


@pytest.mark.parametrize("locale", LOCALES)
def test_html_is_a_complete_accessible_document(demo: Policy, locale: str) -> None:
    out = render_notice(demo, locale, fmt="html")
    checker = _Balance()
    checker.feed(out)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    assert out.startswith("<!doctype html>")
    assert "<script" not in out.lower() and "javascript:" not in out

    tree = Lexbor(out)
    assert tree.css_first("html").attributes["lang"] == locale
    assert len(tree.css("h1")) == 1
    assert tree.css_first("title").text() == tree.css_first("h1").text()
    ids = [node.attributes.get("id") for node in tree.css("[id]")]
    assert len(ids) == len(set(ids))
    for section in tree.css("section"):
        h2 = section.css_first("h2")
        assert h2 is not None and h2.attributes["id"] == section.attributes["aria-labelledby"]
    toc = [a.attributes["href"] for a in tree.css("nav ol a")]
    assert toc == [f"#{sid}" for sid in SECTION_IDS]
    tables = tree.css("table")
    assert len(tables) >= 10
    for table in tables:
        assert table.css_first("caption") is not None
        assert all(th.attributes.get("scope") in ("col", "row") for th in table.css("th"))
        assert len(table.css("thead th")) >= 2
    assert tree.css("[style]") == []
    assert "@media print" in tree.css_first("style").text()


def test_nonce_goes_on_the_style_element(demo: Policy) -> None:
    assert "<style>" in render_notice(demo, "en", fmt="html")
    out = render_notice(demo, "en", fmt="html", nonce='abc"><script>')
    style = Lexbor(out).css_first("style")
    assert style.attributes["nonce"] == 'abc"><script>'
    assert "<script" not in out


def test_cookie_party_and_owner(demo: Policy) -> None:
    data = render_notice(demo, "en", fmt="json")
    cookies = next(s for s in data["sections"] if s["id"] == "cookies")
    party = {c["name"]: c["party"] for g in cookies["categories"] for c in g["cookies"]}
    # "Ticketbox" names the controller "Ticketbox Co., Ltd."; Google, NAVER, Meta do not.
    assert party["session"] == party["tb_recent"] == "first"
    assert party["_ga"] == party["_ga_*"] == party["wcs_bt"] == party["_fbp"] == "third"


# -- escaping -------------------------------------------------------------------------


def hostile_policy() -> Policy:
    return Policy.from_dict(
        {
            "version": "1",
            "locales": ["en"],
            "controller": {"name": XSS, "privacy_officer": XSS, "email": "a@b.example"},
            "processors": [{"id": "p", "name": XSS, "purpose": XSS, "country": "US"}],
            "categories": [
                {
                    "id": "necessary",
                    "title": XSS,
                    "description": XSS,
                    "processors": ["p"],
                    "cookies": [{"name": "x<y>", "owner": XSS, "purpose": XSS}],
                },
                {"id": "advertising", "title": "Ads | more", "description": "- " + XSS},
            ],
            "contacts": [{"name": XSS, "role": XSS, "url": "https://x.example/?a=<b>"}],
            "history": [{"version": "1", "summary": XSS, "url": "/old?x=\"'<>"}],
            "security": [{"measure": XSS}],
            "notice": {"title": XSS, "intro": "- " + XSS, "extra": {"cookies": XSS}},
            "rights": {"extra": [XSS], "how": XSS},
            "collected": {"required": [XSS], "automatic": [{"item": XSS, "purpose": XSS}]},
            "third_parties": [
                {"name": XSS, "purpose": XSS, "items": XSS, "retention": XSS, "country": "x"}
            ],
            "retention": [{"record": XSS, "law": XSS, "keep": XSS}],
        }
    )


def test_html_escapes_policy_texts() -> None:
    out = render_notice(hostile_policy(), "en", fmt="html")
    assert "<script" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "<code>x&lt;y&gt;</code>" in out
    checker = _Balance()
    checker.feed(out)
    assert checker.errors == []


def test_markdown_escapes_policy_texts() -> None:
    out = render_notice(hostile_policy(), "en", fmt="markdown")
    assert re.search(r"(?<!\\)<script", out) is None
    assert r"\<script\>alert(1)\</script\>" in out
    assert r"Ads \| more" in out  # a pipe cannot split a table cell
    assert "\n\\- \\<script" in out  # a leading "- " does not become a list


def test_json_keeps_texts_as_they_are() -> None:
    data = render_notice(hostile_policy(), "en", fmt="json")
    assert data["title"] == XSS
    assert json.loads(json.dumps(data)) == data


def test_unsafe_urls_are_refused(demo_dict: dict[str, Any]) -> None:
    demo_dict["contacts"][0]["url"] = "javascript:alert(1)"
    with pytest.raises(PolicyError) as info:
        check_notice(Policy.from_dict(demo_dict))
    assert info.value.key == "contacts[0].url"


# -- formats agree ------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_markdown_and_html_carry_what_json_carries(demo: Policy, locale: str) -> None:
    data = render_notice(demo, locale, fmt="json")
    strings: list[str] = []

    def collect(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                collect(v, k)
        elif isinstance(value, list):
            for v in value:
                collect(v, key)
        elif (
            isinstance(value, str)
            and value
            and key not in ("id", "method", "locale", "format", "category", "kind", "party")
        ):
            strings.append(value)

    collect(data)
    assert len(strings) > 100
    for fmt in ("html", "markdown"):
        text = as_text(demo, locale, fmt)
        if fmt == "markdown":
            text = text.replace("](<", " ")  # link targets are written as <url>
        missing = [s for s in strings if s not in text and s not in ("first", "third")]
        assert not missing, fmt


# -- proof hash ----------------------------------------------------------------------------


def test_notice_hash_is_stable_and_tracks_the_text(demo_dict: dict[str, Any]) -> None:
    policy = Policy.from_dict(demo_dict)
    first = notice_hash(policy, "ko")
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert notice_hash(Policy.from_toml(POLICY_PATH), "ko") == first
    assert notice_hash(policy, "en") != first

    def changed(edit: Callable[[dict[str, Any]], None]) -> str:
        data = copy.deepcopy(demo_dict)
        edit(data)
        return notice_hash(Policy.from_dict(data), "ko")

    assert changed(lambda d: d["categories"][2]["description"].update(ko="바뀐 설명")) != first
    assert changed(lambda d: d["contacts"][0].update(phone="119")) != first
    assert changed(lambda d: d["retention"][6].update(keep={"ko": "1년", "en": "1 year"})) != first
    # Another locale's text is not part of the Korean notice.
    assert changed(lambda d: d["categories"][2]["description"].update(en="Changed")) == first


def test_hash_is_of_the_json_notice(demo: Policy) -> None:
    import hashlib

    data = render_notice(demo, "en", fmt="json")
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert notice_hash(demo, "en") == hashlib.sha256(canonical.encode()).hexdigest()


# -- defaults and other policies --------------------------------------------------------------


@pytest.mark.parametrize(("regime", "age"), [("gdpr", 16), ("pipa", 14)])
def test_a_preset_renders_with_defaults(regime: str, age: int) -> None:
    policy = Policy.preset(regime)
    check_notice(policy)
    data = render_notice(policy, "en", fmt="json")
    sections = {s["id"]: s for s in data["sections"]}
    collected = sections["collected"]
    assert [i["item"] for i in collected["required"]] == ["Strictly necessary"]
    assert len(collected["optional"]) == 3
    assert "IP address" in [i["item"] for i in collected["automatic"]]
    assert sections["children"]["age"] == age
    assert sections["children"]["heading"] == f"Children under {age}"
    assert sections["security"]["text"] == ["This policy does not list security measures."]
    assert sections["third-parties"]["recipients"] == []
    history = sections["changes"]["history"]
    assert history == [
        {
            "version": "1",
            "announced": None,
            "effective": None,
            "summary": "This version.",
            "major": None,
            "current": True,
            "url": "",
        }
    ]
    assert data["title"] == "Privacy policy"
    out = render_notice(policy, "ko", fmt="html")
    assert "<h1>개인정보처리방침</h1>" in out


def test_third_parties_and_overseas_transfer(demo_dict: dict[str, Any]) -> None:
    demo_dict["controller"]["country"] = "kr"
    demo_dict["third_parties"] = [
        {
            "name": {"ko": "공연 기획사", "en": "Show promoter"},
            "purpose": {"ko": "입장 확인", "en": "Checking tickets at the door"},
            "items": {"ko": "이름, 휴대전화번호", "en": "Name, mobile number"},
            "retention": {"ko": "공연 종료 후 1개월", "en": "1 month after the show"},
        }
    ]
    policy = Policy.from_dict(demo_dict)
    data = render_notice(policy, "en", fmt="json")
    sections = {s["id"]: s for s in data["sections"]}
    assert sections["third-parties"]["recipients"][0]["name"] == "Show promoter"
    overseas = {p["id"]: p["overseas"] for p in sections["processors"]["processors"]}
    assert overseas == {
        "hosting": False,
        "payments": False,
        "google": True,
        "naver": False,
        "meta": True,
        "kakao": False,
    }
    out = render_notice(policy, "en", fmt="html")
    assert "<td>US (overseas transfer)</td>" in out
    assert "<caption>Recipients of personal data</caption>" in out


def test_cookie_owner_from_the_registry_and_flags(demo_dict: dict[str, Any]) -> None:
    demo_dict["controller"]["aliases"] = ["TB"]
    demo_dict["categories"][0]["cookies"] = [
        {"name": "own"},
        {"name": "tb", "owner": "TB"},
        {"name": "flagged", "owner": "Ticketbox", "third_party": True},
        "_gid",
    ]
    data = render_notice(Policy.from_dict(demo_dict), "en", fmt="json")
    cookies = next(s for s in data["sections"] if s["id"] == "cookies")["categories"][0]
    rows = {c["name"]: (c["owner"], c["party"]) for c in cookies["cookies"]}
    assert rows == {
        "own": ("Ticketbox Co., Ltd.", "first"),
        "tb": ("TB", "first"),
        "flagged": ("Ticketbox", "third"),
        "_gid": ("Google Analytics", "third"),
    }


def test_unknown_locale_falls_back(demo: Policy) -> None:
    assert render_notice(demo, "fr", fmt="json")["locale"] == "ko"
    assert render_notice(demo, "en-GB", fmt="json")["locale"] == "en"
    policy = Policy.from_dict(
        {
            "version": "1",
            "locales": ["ja"],
            "categories": [{"id": "necessary", "title": "必須", "description": "必要"}],
        }
    )
    data = render_notice(policy, "ja", fmt="json")
    assert data["locale"] == "ja"
    assert data["sections"][0]["heading"] == HEADINGS["en"]["collected"]
    assert '<html lang="ja">' in render_notice(policy, "ja", fmt="html")


def test_history_is_newest_first_and_marks_the_current_version(demo: Policy) -> None:
    data = render_notice(demo, "en", fmt="json")
    history = next(s for s in data["sections"] if s["id"] == "changes")["history"]
    assert [(h["version"], h["current"], h["major"]) for h in history] == [
        ("2026-11", True, False),
        ("2026-03", False, True),
        ("2025-09", False, False),
    ]


def test_unknown_format_is_refused(demo: Policy) -> None:
    with pytest.raises(ValueError, match="fmt"):
        render_notice(demo, "en", fmt="pdf")  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda d: d["contacts"][0].update(fax="1"), "contacts[0].fax"),
        (lambda d: d["contacts"][1].update(name={"ko": "기관"}), "contacts[1].name.en"),
        (
            lambda d: d["collected"]["optional"][0].update(category="nope"),
            "collected.optional[0].category",
        ),
        (lambda d: d["collected"].update(later=[]), "collected.later"),
        (lambda d: d["security"][0].update(kind="magic"), "security[0].kind"),
        (lambda d: d["history"][0].update(effective="soon"), "history[0].effective"),
        (
            lambda d: d["history"][1].update(
                effective=d["history"][1]["announced"].replace(year=2025)
            ),
            "history[1].effective",
        ),
        (lambda d: d["history"][0].update(major="yes"), "history[0].major"),
        (lambda d: d["retention"][0].update(keep_days=0), "retention[0].keep_days"),
        (lambda d: d["rights"].update(child_age=99), "rights.child_age"),
        (lambda d: d["notice"]["extra"].update(footer="x"), "notice.extra.footer"),
        (lambda d: d.update(security={"measure": "x"}), "security"),
    ],
)
def test_bad_sections_name_the_key(
    demo_dict: dict[str, Any], edit: Callable[[dict[str, Any]], None], key: str
) -> None:
    edit(demo_dict)
    policy = Policy.from_dict(demo_dict)
    with pytest.raises(PolicyError) as info:
        check_notice(policy)
    assert info.value.key == key
    with pytest.raises(PolicyError):
        render_notice(policy, "en", fmt="json")


def test_every_locale_table_is_complete() -> None:
    from consent_mw.notice.texts import AUTOMATIC_ITEMS, LABELS, RIGHTS

    for locale in LOCALES:
        assert list(HEADINGS[locale]) == ["contents", *SECTION_IDS]
        assert LABELS[locale].keys() == LABELS["en"].keys()
        assert len(RIGHTS[locale]) == len(RIGHTS["en"])
        assert len(AUTOMATIC_ITEMS[locale]) == len(AUTOMATIC_ITEMS["en"])
