"""The no-JavaScript preferences page: every optional category with a switch, and in a
category the policy lists services in, a switch per service with its purpose, retention
and cookies (the banner's second layer, as a plain form).

``GET {prefix}/preferences`` shows it; its form POSTs back to the same path, protected
like the other pages' forms (:mod:`consent_mw.web.pages`), and is saved as the JSON
API saves ``{"choices": …}``: a category ticked whole is ``true``; otherwise, where
services are listed, ``{service: ticked}`` when at least one is ticked; else ``false``.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qs

from ..core.consent import Choice
from ..policy.parts import Category
from .frame import html_page as _html
from .frame import query_value as _query
from .frame import then_redirect as _then_redirect
from .responses import Response, Result, error

if TYPE_CHECKING:
    from ..core.engine import Visit
    from ..policy.model import Policy
    from .endpoints import Endpoints

__all__ = ["Preferences"]


class Forms(Protocol):
    """What this page uses of :class:`~consent_mw.web.pages.Pages`: its texts and its
    signed forms (the pages register this one; this module never imports them)."""

    endpoints: Endpoints
    policy: Policy
    prefix: str

    def _texts(self, locale: str) -> dict[str, str]: ...
    def _hidden(self, visit: Visit, locale: str) -> str: ...
    def _with_cookies(self, visit: Visit, response: Response) -> Response: ...
    def _form(self, visit: Visit, body: bytes) -> dict[str, str] | Response: ...


class Preferences:
    """Registers ``{prefix}/preferences`` (GET and POST) for :class:`Pages`."""

    def __init__(self, pages: Forms) -> None:
        self.pages = pages
        self.endpoints = pages.endpoints
        self.policy = pages.policy
        self.path = pages.prefix + "/preferences"
        self.endpoints.add_route(self.path, "GET", self.page)
        self.endpoints.add_route(self.path, "POST", self.form)

    def page(self, visit: Visit, body: bytes) -> Result:
        locale = self.endpoints.locale_for(visit)
        t = self.pages._texts(locale)
        decision = visit.decision
        parts: list[str] = []
        if _query(visit, "saved"):
            parts.append(f'<p role="status">{escape(t["saved"])}</p>')
        if decision.gpc:
            parts.append(f"<p>{escape(self.policy.ui_texts(locale)['gpc_honoured'])}</p>")
        parts.append(
            f'<form method="post" action="{escape(self.path)}">{self.pages._hidden(visit, locale)}'
        )
        for category in self.policy.categories:
            parts.append(self._category(category, visit, locale, t))
        parts.append(f'<button type="submit">{escape(t["prefs_save"])}</button></form>')
        parts.append(
            f'<p><a href="{escape(self.pages.prefix)}/policy?locale={escape(locale)}">'
            f"{escape(t['notice'])}</a></p>"
        )
        return self.pages._with_cookies(visit, _html(200, "".join(parts), locale, t["prefs_title"]))

    def _category(self, category: Category, visit: Visit, locale: str, t: dict[str, str]) -> str:
        policy = self.policy
        decision = visit.decision
        cid = category.id
        title = escape(policy.text(category.title, locale))
        whole = category.required or cid in decision._allowed
        attrs = " checked" if whole else ""
        if category.required:
            attrs += " disabled"
        box_id = f"c-{escape(cid)}"
        label = t["prefs_all"] if category.services else policy.text(category.title, locale)
        out = [
            f"<fieldset><legend>{title}</legend>"
            f"<p>{escape(policy.text(category.description, locale))}</p>"
            f'<p><input type="checkbox" id="{box_id}" name="c" value="{escape(cid)}"{attrs}>'
            f' <label for="{box_id}">{escape(label)}</label></p>'
        ]
        if category.services and not category.required:
            out.append(f"<fieldset><legend>{escape(t['prefs_services'])}</legend>")
            for index, service in enumerate(category.services):
                on = (
                    whole
                    or decision._verdict.policy is not None
                    and _allows(decision._allowed, cid, service.name)
                )
                sid = f"s-{escape(cid)}-{index}"
                details = [
                    policy.text(service.purpose, locale) if service.purpose else "",
                    f"{t['prefs_retention']}: {policy.text(service.retention, locale)}"
                    if service.retention
                    else "",
                    _cookies(category, service.name, service.owners, service.cookies, t),
                ]
                out.append(
                    f'<p><input type="checkbox" id="{sid}" name="s.{escape(cid)}"'
                    f' value="{escape(service.name)}"{" checked" if on else ""}'
                    f' aria-describedby="{sid}-d">'
                    f' <label for="{sid}">{escape(service.name)}</label><br>'
                    f'<small id="{sid}-d">{escape(" · ".join(d for d in details if d))}</small></p>'
                )
            out.append("</fieldset>")
        out.append("</fieldset>")
        return "".join(out)

    def form(self, visit: Visit, body: bytes) -> Result:
        fields = self.pages._form(visit, body)
        if isinstance(fields, Response):
            return fields
        # _form checked the token; the boxes are read with every value they sent.
        ticked = parse_qs(body.decode("utf-8"))
        policy = self.policy
        categories = set(ticked.get("c", ()))
        unknown = categories - set(policy.optional_ids) - policy.required_ids
        if unknown:
            return error(400, "invalid_form", f"{sorted(unknown)[0]!r} is not a category here.")
        choices: dict[str, Choice] = {}
        for cid in policy.optional_ids:
            if cid in categories:
                choices[cid] = True
                continue
            listed = [s.name for s in policy.services(cid)]
            chosen = set(ticked.get(f"s.{cid}", ()))
            if chosen - set(listed):
                return error(
                    400,
                    "invalid_form",
                    f"{sorted(chosen - set(listed))[0]!r} is not a service of {cid!r}.",
                )
            choices[cid] = {name: name in chosen for name in listed} if chosen else False
        locale = self.endpoints.locale_for(visit, fields.get("locale"))
        result = self.endpoints.save(visit, choices, "custom", "form", locale)
        return _then_redirect(result, f"{self.path}?saved=1&locale={locale}")


def _allows(allowed: frozenset[str], category: str, service: str) -> bool:
    return f"{category}/{service}" in allowed


def _cookies(
    category: Category,
    name: str,
    owners: tuple[str, ...],
    own: tuple[str, ...],
    t: dict[str, str],
) -> str:
    names = [*own, *(c.name for c in category.cookies if c.owner in {name, *owners})]
    return f"{t['prefs_cookies']}: {', '.join(names)}" if names else ""
