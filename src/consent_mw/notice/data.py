"""Build the notice as plain data: the ``fmt="json"`` answer, which HTML and markdown render.

Rendering every format from this one dict is what keeps them saying the same
thing, and what :func:`consent_mw.notice.notice_hash` proves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..i18n import in_locale
from ..i18n.notice import AUTOMATIC_ITEMS, LABELS, LANGUAGE_NAMES, RIGHTS
from ..policy.model import Category, Localised, Policy
from ..policy.notice_source import Item, NoticeSource
from ..policy.registry import registry
from ..policy.trackers import BUILTIN_TRACKERS, Matcher
from .links import NoticeLinks

__all__ = ["FORMAT", "build_notice"]

FORMAT = "consent_mw.notice/1"


def _is_advertising(category: Category) -> bool:
    return category.id == "advertising" or "ad_personalization" in category.consent_mode


class _Builder:
    def __init__(
        self,
        policy: Policy,
        source: NoticeSource,
        locale: str,
        headings: Mapping[str, str],
        links: NoticeLinks,
    ) -> None:
        self.policy = policy
        self.source = source
        self.locale = locale
        self.headings = headings
        self.links = links
        self.label = in_locale(LABELS, locale)
        self.processors = {p.id: p for p in policy.processors}

    def t(self, value: Localised) -> str:
        return self.policy.text(value, self.locale) if value else ""

    def section(self, sid: str, *paragraphs: str, **data: Any) -> dict[str, Any]:
        extra = [self.t(v) for v in self.source.notice.extra.get(sid, ())]
        text = [p for p in paragraphs if p] + extra
        return {"id": sid, "heading": self.headings[sid], "text": text, **data}

    def controller_name(self) -> str:
        return self.t(self.source.controller.name)

    # -- sections ----------------------------------------------------------

    def items(self, items: tuple[Item, ...]) -> list[dict[str, str]]:
        rows = []
        for item in items:
            title = self.t(self.policy.category(item.category).title) if item.category else ""
            rows.append(
                {
                    "item": self.t(item.item),
                    "purpose": self.t(item.purpose) or title,
                    "when": self.t(item.when),
                    "category": item.category,
                }
            )
        return rows

    def collected(self) -> dict[str, Any]:
        declared = self.source.collected
        if declared is not None:
            required, optional = self.items(declared.required), self.items(declared.optional)
            automatic = self.items(declared.automatic)
        else:
            # Without a [collected] section each category stands for what it collects.
            def of(category: Category) -> dict[str, str]:
                return {
                    "item": self.t(category.title),
                    "purpose": self.t(category.description),
                    "when": "",
                    "category": category.id,
                }

            required = [of(c) for c in self.policy.categories if c.required]
            optional = [of(c) for c in self.policy.categories if not c.required]
            defaults = in_locale(AUTOMATIC_ITEMS, self.locale)
            automatic = [{"item": i, "purpose": "", "when": "", "category": ""} for i in defaults]
        return self.section(
            "collected",
            self.label["collected"],
            self.label["collected_consent"],
            required=required,
            optional=optional,
            automatic=automatic,
        )

    def purposes(self) -> dict[str, Any]:
        rows = [
            {
                "id": c.id,
                "title": self.t(c.title),
                "description": self.t(c.description),
                "required": c.required,
                "basis": self.label["basis_necessary" if c.required else "basis_consent"],
                "processors": [self.t(self.processors[p].name) for p in c.processors],
            }
            for c in self.policy.categories
        ]
        return self.section("purposes", self.label["purposes"], categories=rows)

    def processor_rows(self) -> list[dict[str, Any]]:
        home = self.source.controller.country
        rows = []
        for p in self.policy.processors:
            country = p.country.upper()
            rows.append(
                {
                    "id": p.id,
                    "name": self.t(p.name),
                    "purpose": self.t(p.purpose),
                    "country": country,
                    "overseas": (country != home) if country and home else None,
                    "categories": [
                        self.t(c.title) for c in self.policy.categories if p.id in c.processors
                    ],
                }
            )
        return rows

    def processors_section(self) -> dict[str, Any]:
        rows = self.processor_rows()
        intro = self.label["processors" if rows else "processors_none"]
        return self.section("processors", intro, processors=rows)

    def third_parties(self) -> dict[str, Any]:
        rows = [
            {
                "name": self.t(tp.name),
                "purpose": self.t(tp.purpose),
                "items": self.t(tp.items),
                "retention": self.t(tp.retention),
                "country": tp.country,
            }
            for tp in self.source.third_parties
        ]
        intro = self.label["third_listed" if rows else "third_none"]
        return self.section("third-parties", intro, recipients=rows)

    def retention(self) -> dict[str, Any]:
        categories = [
            {
                "id": c.id,
                "title": self.t(c.title),
                "retention": self.t(c.retention) or self.label["until_purpose"],
                "days": c.retention_days,
            }
            for c in self.policy.categories
        ]
        statutory = [
            {
                "record": self.t(r.record),
                "law": self.t(r.law),
                "keep": self.t(r.keep),
                "days": r.keep_days,
            }
            for r in self.source.retention
        ]
        return self.section(
            "retention", self.label["retention"], categories=categories, statutory=statutory
        )

    def rights(self) -> dict[str, Any]:
        links, label = self.links, self.label
        actions = [
            {"id": "records", "label": label["action_records"], "href": links.records},
            {"id": "export", "label": label["action_export"], "href": links.export},
            {"id": "delete", "label": label["action_delete"], "href": links.delete},
            {"id": "withdraw", "label": label["action_withdraw"], "href": links.withdraw},
            {"id": "ads", "label": label["action_ads"], "href": links.ads},
        ]
        for action in actions:
            action["method"] = "post" if action["id"] in ("delete", "withdraw") else "get"
        if links.preferences:
            actions.append(
                {
                    "id": "preferences",
                    "label": label["action_preferences"],
                    "href": links.preferences,
                    "method": "get",
                }
            )
        hint = label["preferences_hint"].format(button=self.policy.ui_texts(self.locale)["reopen"])
        rights = list(in_locale(RIGHTS, self.locale))
        rights += [self.t(v) for v in self.source.rights.extra]
        return self.section(
            "rights",
            label["rights"],
            rights=rights,
            how=self.t(self.source.rights.how) or label["rights_how"],
            agent=label["rights_agent"],
            actions=actions,
            hint=hint,
        )

    def children(self) -> dict[str, Any]:
        age = self.source.rights.child_age
        return self.section(
            "children",
            self.label["children"].format(age=age),
            self.label["children_ads"].format(age=age),
            age=age,
        )

    def cookies(self) -> dict[str, Any]:
        controller = self.source.controller
        names = [n.casefold().strip() for n in (*controller.name.values(), *controller.aliases)]

        def is_controller(owner: str) -> bool:
            # "Ticketbox" names "Ticketbox Co., Ltd." but "Ticket" does not.
            owner = owner.casefold().strip()
            return not owner or any(
                n == owner or (n.startswith(owner) and not n[len(owner)].isalnum()) for n in names
            )

        known = Matcher(
            (*BUILTIN_TRACKERS, *self.policy.trackers),
            fallback=registry().matcher,
            replaces=[t.owner for t in self.policy.trackers],
        )
        groups = []
        for category in self.policy.categories:
            rows = []
            for spec in category.cookies:
                owner = spec.owner
                if not owner:
                    found = known.cookie_owner(spec.name)
                    owner = found[1] if found else ""
                first = not spec.third_party and (not owner or is_controller(owner))
                rows.append(
                    {
                        "name": spec.name,
                        "owner": owner or self.controller_name(),
                        "lifetime": self.t(spec.lifetime),
                        "purpose": self.t(spec.purpose) or self.t(category.title),
                        "party": "first" if first else "third",
                    }
                )
            groups.append(
                {
                    "id": category.id,
                    "title": self.t(category.title),
                    "required": category.required,
                    "cookies": rows,
                }
            )
        return self.section(
            "cookies",
            self.label["cookies"],
            self.label["cookies_refuse"],
            self.label["cookies_third"],
            categories=groups,
        )

    def customised_ads(self) -> dict[str, Any]:
        label = self.label
        rows = [
            {
                "id": c.id,
                "title": self.t(c.title),
                "data": label["ads_data_default"],
                "method": label["ads_method_default"],
                "purpose": self.t(c.description),
                "collected_by": [self.t(self.processors[p].name) for p in c.processors],
                "retention": self.t(c.retention) or label["until_purpose"],
                "cookies": [spec.name for spec in c.cookies],
            }
            for c in self.policy.categories
            if _is_advertising(c)
        ]
        return self.section(
            "customised-ads",
            label["ads" if rows else "ads_none"],
            categories=rows,
            opt_out=label["ads_optout_text"] if rows else "",
        )

    def security(self) -> dict[str, Any]:
        rows = [{"kind": m.kind, "measure": self.t(m.measure)} for m in self.source.security]
        intro = self.label["security" if rows else "security_none"]
        return self.section("security", intro, measures=rows)

    def contacts(self) -> dict[str, Any]:
        c = self.source.controller
        officer = {
            "controller": self.controller_name(),
            "officer": self.t(c.privacy_officer),
            "department": self.t(c.department),
            "helpdesk": c.helpdesk,
            "phone": c.phone,
            "email": c.email,
            "address": self.t(c.address),
        }
        bodies = [
            {
                "name": self.t(b.name),
                "role": self.t(b.role),
                "phone": b.phone,
                "url": b.url,
                "email": b.email,
            }
            for b in self.source.contacts
        ]
        return self.section(
            "contacts",
            self.label["contacts"],
            officer=officer,
            bodies=bodies,
            bodies_text=self.label["contacts_bodies"] if bodies else "",
            authority=self.label["contacts_authority"],
        )

    def changes(self) -> dict[str, Any]:
        policy = self.policy
        entries = list(self.source.history)
        rows = [
            {
                "version": e.version,
                "announced": e.announced.isoformat() if e.announced else None,
                "effective": e.effective.isoformat() if e.effective else None,
                "summary": self.t(e.summary),
                "major": e.major,
                "current": e.version == policy.version,
                "url": e.url,
            }
            for e in entries
        ]
        if not any(row["current"] for row in rows):
            rows.append(
                {
                    "version": policy.version,
                    "announced": policy.announced.isoformat() if policy.announced else None,
                    "effective": policy.effective.isoformat() if policy.effective else None,
                    "summary": self.label["current_summary"],
                    "major": None,
                    "current": True,
                    "url": "",
                }
            )
        # Newest first; entries without dates keep their place at the end.
        rows.sort(key=lambda r: r["effective"] or r["announced"] or "", reverse=True)
        return self.section("changes", self.label["changes"], history=rows)

    # -- the whole notice ----------------------------------------------------

    def build(self) -> dict[str, Any]:
        policy, label, links = self.policy, self.label, self.links
        name = self.controller_name()
        title = self.t(self.source.notice.title) or (
            label["title_of"].format(name=name) if name else label["title"]
        )
        intro = [label["intro"].format(controller=name or label["we"])]
        if self.source.notice.intro:
            intro.append(self.t(self.source.notice.intro))
        joiner = "&" if "?" in links.policy else "?"
        sections = [
            self.collected(),
            self.purposes(),
            self.processors_section(),
            self.third_parties(),
            self.retention(),
            self.section("destruction", label["destruction_when"], label["destruction_how"]),
            self.rights(),
            self.children(),
            self.cookies(),
            self.customised_ads(),
            self.security(),
            self.contacts(),
            self.changes(),
        ]
        return {
            "format": FORMAT,
            "locale": self.locale,
            "version": policy.version,
            "announced": policy.announced.isoformat() if policy.announced else None,
            "effective": policy.effective.isoformat() if policy.effective else None,
            "title": title,
            "intro": intro,
            "contents": self.headings["contents"],
            "links": {
                "records": links.records,
                "export": links.export,
                "delete": links.delete,
                "withdraw": links.withdraw,
                "ads": links.ads,
                "policy": links.policy,
                "preferences": links.preferences,
            },
            "languages": [
                {
                    "locale": other,
                    "name": LANGUAGE_NAMES.get(other, other),
                    "href": f"{links.policy}{joiner}locale={other}",
                }
                for other in policy.locales
                if other != self.locale
            ],
            "sections": sections,
        }


def build_notice(
    policy: Policy,
    source: NoticeSource,
    locale: str,
    headings: Mapping[str, str],
    links: NoticeLinks,
) -> dict[str, Any]:
    return _Builder(policy, source, locale, headings, links).build()
