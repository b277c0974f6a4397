"""Lay the notice data out as blocks (paragraphs, lists, tables) that HTML and markdown share.

The layout is decided once here; :mod:`._notice_html` and
:mod:`._notice_markdown` only know how to write each kind of block, so the
two formats cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..i18n import in_locale
from ..i18n.notice import LABELS

__all__ = [
    "Actions",
    "Block",
    "Bullets",
    "Code",
    "Details",
    "Document",
    "Line",
    "Link",
    "Para",
    "Section",
    "Sub",
    "Table",
    "layout",
]


@dataclass(frozen=True)
class Link:
    text: str
    href: str
    method: str = "get"
    lang: str = ""


@dataclass(frozen=True)
class Code:
    text: str


Line = tuple[str | Code | Link, ...]
"""A run of text, code and links: a list item or a table cell."""


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[Line, ...]


@dataclass(frozen=True)
class Table:
    """A table whose first column heads each row."""

    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Line, ...], ...]


@dataclass(frozen=True)
class Details:
    items: tuple[tuple[str, Line], ...]


@dataclass(frozen=True)
class Sub:
    id: str
    heading: str


@dataclass(frozen=True)
class Actions:
    links: tuple[Link, ...]


Block = Para | Bullets | Table | Details | Sub | Actions


@dataclass(frozen=True)
class Section:
    id: str
    heading: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Document:
    lang: str
    title: str
    meta: str
    intro: tuple[str, ...]
    languages: tuple[Link, ...]
    languages_label: str
    contents: str
    sections: tuple[Section, ...]


def _line(*parts: str | Code | Link | None) -> Line:
    return tuple(p for p in parts if p)


def _table(caption: str, headers: Sequence[str], rows: Sequence[Sequence[Line | str]]) -> Table:
    return Table(
        caption,
        tuple(headers),
        tuple(tuple(c if isinstance(c, tuple) else _line(c) for c in row) for row in rows),
    )


class _Layout:
    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.label = in_locale(LABELS, data["locale"])

    def dash(self, text: str | None) -> str:
        return text or self.label["not_stated"]

    def collected(self, s: Mapping[str, Any]) -> list[Block]:
        blocks: list[Block] = []
        for key in ("required", "optional", "automatic"):
            rows = s[key]
            if not rows:
                continue
            headers = [self.label["item"], self.label["purpose"]]
            with_when = any(r["when"] for r in rows)
            if with_when:
                headers.append(self.label["when"])
            table_rows = [
                [r["item"], self.dash(r["purpose"])] + ([self.dash(r["when"])] if with_when else [])
                for r in rows
            ]
            blocks.append(_table(self.label[f"{key}_caption"], headers, table_rows))
        return blocks

    def purposes(self, s: Mapping[str, Any]) -> list[Block]:
        label = self.label

        def kind(c: Mapping[str, Any]) -> str | None:
            word = label["required" if c["required"] else "optional"]
            return None if word == c["title"] else f" ({word})"  # not "필수 (필수)"

        rows = [
            [
                _line(c["title"], kind(c)),
                c["description"],
                c["basis"],
                ", ".join(c["processors"]) or label["none"],
            ]
            for c in s["categories"]
        ]
        headers = [label["category"], label["purpose"], label["basis"], label["processor"]]
        return [_table(label["purposes_caption"], headers, rows)]

    def processors(self, s: Mapping[str, Any]) -> list[Block]:
        if not s["processors"]:
            return []
        label = self.label
        rows = [
            [
                p["name"],
                p["purpose"],
                _line(
                    self.dash(p["country"]), f" ({label['overseas']})" if p["overseas"] else None
                ),
                ", ".join(p["categories"]) or label["not_stated"],
            ]
            for p in s["processors"]
        ]
        headers = [label["processor"], label["task"], label["country"], label["used_for"]]
        return [_table(label["processors_caption"], headers, rows)]

    def third_parties(self, s: Mapping[str, Any]) -> list[Block]:
        if not s["recipients"]:
            return []
        label = self.label
        headers = [label["recipient"], label["purpose"], label["items"]]
        headers += [label["kept_by_recipient"], label["country"]]
        rows = [
            [r["name"], r["purpose"], r["items"], r["retention"], self.dash(r["country"])]
            for r in s["recipients"]
        ]
        return [_table(label["third_caption"], headers, rows)]

    def retention(self, s: Mapping[str, Any]) -> list[Block]:
        label = self.label
        blocks: list[Block] = [
            _table(
                label["retention_caption"],
                [label["category"], label["keep"]],
                [[c["title"], c["retention"]] for c in s["categories"]],
            )
        ]
        if s["statutory"]:
            rows = [[r["record"], r["law"], r["keep"]] for r in s["statutory"]]
            headers = [label["record"], label["law"], label["keep"]]
            blocks.append(_table(label["statutory_caption"], headers, rows))
        return blocks

    def rights(self, s: Mapping[str, Any]) -> list[Block]:
        links = tuple(Link(a["label"], a["href"], a["method"]) for a in s["actions"])
        return [
            Bullets(tuple(_line(r) for r in s["rights"])),
            Para(s["how"]),
            Actions(links),
            Para(s["hint"]),
            Para(s["agent"]),
        ]

    def cookies(self, s: Mapping[str, Any]) -> list[Block]:
        label = self.label
        headers = [label["cookie"], label["owner"], label["lifetime"]]
        headers += [label["purpose"], label["party"]]
        blocks: list[Block] = []
        for group in s["categories"]:
            if not group["cookies"]:
                continue
            caption = label["cookies_caption"].format(title=group["title"])
            if group["required"]:
                caption += f" ({label['always_on']})"
            rows = [
                [
                    _line(Code(c["name"])),
                    self.dash(c["owner"]),
                    self.dash(c["lifetime"]),
                    c["purpose"],
                    label["first_party" if c["party"] == "first" else "third_party"],
                ]
                for c in group["cookies"]
            ]
            blocks.append(_table(caption, headers, rows))
        return blocks

    def customised_ads(self, s: Mapping[str, Any]) -> list[Block]:
        label = self.label
        blocks: list[Block] = []
        for c in s["categories"]:
            cookies: list[str | Code | Link] = []
            for name in c["cookies"]:
                cookies += [", " if cookies else " (", Code(name)]
            items: list[tuple[str, Line]] = [
                (label["ads_data"], _line(c["data"], *cookies, ")" if cookies else None)),
                (label["ads_method"], _line(c["method"])),
                (label["purpose"], _line(c["purpose"])),
                (label["ads_by"], _line(", ".join(c["collected_by"]) or label["not_stated"])),
                (label["ads_retention"], _line(c["retention"])),
                (label["ads_optout"], _line(s["opt_out"])),
            ]
            blocks.append(Details(tuple(items)))
        if s["categories"]:
            links = self.data["links"]
            blocks.append(
                Actions(
                    (
                        Link(label["action_ads"], links["ads"]),
                        Link(label["action_withdraw"], links["withdraw"], "post"),
                    )
                )
            )
        return blocks

    def security(self, s: Mapping[str, Any]) -> list[Block]:
        blocks: list[Block] = []
        for kind in ("administrative", "technical", "physical"):
            measures = [m["measure"] for m in s["measures"] if m["kind"] == kind]
            if measures:
                blocks.append(Sub(f"security-{kind}", self.label[kind]))
                blocks.append(Bullets(tuple(_line(m) for m in measures)))
        return blocks

    def contacts(self, s: Mapping[str, Any]) -> list[Block]:
        label, officer = self.label, s["officer"]
        details: list[tuple[str, Line]] = []
        for key in ("controller", "officer", "department", "helpdesk", "phone", "address"):
            if officer[key]:
                details.append((label[key], _line(officer[key])))
        if officer["email"]:
            email = officer["email"]
            details.append((label["email"], _line(Link(email, f"mailto:{email}"))))
        blocks: list[Block] = [Sub("officer", label["officer_heading"])]
        if details:
            blocks.append(Details(tuple(details)))
        blocks.append(Sub("reporting", label["bodies_heading"]))
        if s["bodies"]:
            blocks.append(Para(s["bodies_text"]))
            headers = [label["body"], label["handles"], label["phone"], label["website"]]
            rows = [
                [
                    b["name"],
                    self.dash(b["role"]),
                    self.dash(b["phone"]),
                    _line(Link(b["url"], b["url"])) if b["url"] else self.dash(b["email"]),
                ]
                for b in s["bodies"]
            ]
            blocks.append(_table(label["bodies_caption"], headers, rows))
        blocks.append(Para(s["authority"]))
        return blocks

    def changes(self, s: Mapping[str, Any]) -> list[Block]:
        label = self.label
        rows: list[list[Line | str]] = []
        for e in s["history"]:
            version: str | Link = Link(e["version"], e["url"]) if e["url"] else e["version"]
            major = e["major"]
            rows.append(
                [
                    _line(version, f" ({label['current']})" if e["current"] else None),
                    self.dash(e["announced"]),
                    self.dash(e["effective"]),
                    self.dash(e["summary"]),
                    label["not_stated"] if major is None else label["yes" if major else "no"],
                ]
            )
        headers = [label["version"], label["announced"], label["effective"]]
        headers += [label["summary"], label["major"]]
        return [_table(label["history_caption"], headers, rows)]

    def section(self, s: Mapping[str, Any]) -> Section:
        blocks: list[Block] = [Para(p) for p in s["text"]]
        sections: dict[str, Callable[[Mapping[str, Any]], list[Block]]] = {
            "collected": self.collected,
            "purposes": self.purposes,
            "processors": self.processors,
            "third-parties": self.third_parties,
            "retention": self.retention,
            "rights": self.rights,
            "cookies": self.cookies,
            "customised-ads": self.customised_ads,
            "security": self.security,
            "contacts": self.contacts,
            "changes": self.changes,
        }
        if s["id"] in sections:
            blocks += sections[s["id"]](s)
        return Section(s["id"], s["heading"], tuple(blocks))

    def document(self) -> Document:
        data, label = self.data, self.label
        meta = [f"{label['version']} {data['version']}"]
        if data["announced"]:
            meta.append(f"{label['announced']} {data['announced']}")
        if data["effective"]:
            meta.append(f"{label['effective']} {data['effective']}")
        return Document(
            lang=data["locale"],
            title=data["title"],
            meta=" · ".join(meta),
            intro=tuple(data["intro"]),
            languages=tuple(
                Link(other["name"], other["href"], lang=other["locale"])
                for other in data["languages"]
            ),
            languages_label=label["languages"],
            contents=data["contents"],
            sections=tuple(self.section(s) for s in data["sections"]),
        )


def layout(data: Mapping[str, Any]) -> Document:
    """The blocks of a notice built by :func:`._notice_data.build_notice`."""
    return _Layout(data).document()
