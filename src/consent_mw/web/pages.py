"""Pages that work without JavaScript: the privacy notice, the customised-advertising
page the Korean guideline asks for, and the visitor's own records.

Their forms POST back here. A cross-site POST is refused twice over: the
``Origin`` / ``Sec-Fetch-Site`` check shared with the JSON API, and a signed,
time-limited form token bound to the visitor's signed consent cookie (or, before any
choice, to a random nonce in a SameSite=Strict cookie). Answers are 303
redirects to fixed pages of ours (never to a URL taken from the request).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import re
import secrets
from html import escape
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs

from itsdangerous import BadSignature, TimestampSigner

from ..core.cookies import FORM_COOKIE, build_set_cookie, parse_cookie_header
from ..i18n import in_locale
from ..i18n.notice import LABELS
from ..i18n.pages import PAGE_TEXTS
from ..notice.render import NoticeLinks, render_notice
from .frame import html_page as _html
from .frame import query_value as _query
from .frame import then_redirect as _then_redirect
from .preferences import Preferences
from .responses import Response, Result, error

if TYPE_CHECKING:
    from ..core.engine import Visit
    from .endpoints import Endpoints

__all__ = ["Pages"]

FORM_TOKEN_AGE = 3600
#: form tokens are signed with this salt and the kind of their subject
FORM_SALT = b"consent_mw.form."
SubjectKind = Literal["consent", "nonce"]
SUBJECT_KINDS: tuple[SubjectKind, ...] = ("consent", "nonce")
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,43}\Z")
_FORM_START = re.compile(rb'<form method="post" action="[^"]*">')


def cookie_subject(value: str) -> str:
    """What a form token of a visitor with a consent cookie is bound to: a digest of
    the signed cookie itself. The consent id inside it may be known to others (the
    ledger, an export, a referrer); the signed cookie only to this browser."""
    digest = hashlib.sha256(value.encode("latin-1")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class Pages:
    """Registers the no-JavaScript pages and their form handlers on :class:`Endpoints`."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.endpoints = endpoints
        self.policy = endpoints.policy
        prefix = endpoints.config.prefix
        self.prefix = prefix
        self.links = NoticeLinks.from_prefix(prefix)
        self.engine = endpoints.engine
        # One salt per kind of subject, none shared with the consent cookie's: a token
        # made for one kind can never pass for the other.
        self._signers = {
            kind: TimestampSigner(
                endpoints.engine.codec.signing_key,
                salt=FORM_SALT + kind.encode(),
                digest_method=hashlib.sha256,
            )
            for kind in SUBJECT_KINDS
        }
        self._notices: dict[tuple[str, str], bytes] = {}
        endpoints.records_page = self.records_html
        endpoints.add_route(prefix + "/policy", "GET", self.notice)
        endpoints.add_route(prefix + "/ads", "GET", self.ads)
        endpoints.add_route(prefix + "/ads", "POST", self.ads_form)
        endpoints.add_route(prefix + "/withdraw", "POST", self.withdraw_form)
        endpoints.add_route(prefix + "/records/delete", "POST", self.delete_form)
        Preferences(self)

    def _texts(self, locale: str) -> dict[str, str]:
        return in_locale(PAGE_TEXTS, locale)

    # -- the form token ----------------------------------------------------------------

    def _form_subject(self, visit: Visit) -> tuple[SubjectKind, str] | None:
        """Who a form token is for: this browser's signed consent cookie, else its form
        nonce."""
        found = self.engine.consent_cookie_of(visit.facts.cookie_header)
        if found is not None:
            return "consent", cookie_subject(found[1])
        for name, value in parse_cookie_header(visit.facts.cookie_header):
            if name == FORM_COOKIE and _NONCE.match(value):
                return "nonce", value
        return None

    def token(self, visit: Visit) -> str:
        kind, subject = self._form_subject(visit) or ("nonce", self._new_nonce(visit))
        return self._signers[kind].sign(subject.encode()).decode()

    def _new_nonce(self, visit: Visit) -> str:
        """The form nonce this response gives a visitor without a consent cookie (one
        per response, however many forms it holds)."""
        for cookie in visit.extra_cookies:
            if cookie.startswith(FORM_COOKIE + "="):
                return cookie.split("=", 1)[1].split(";", 1)[0]
        # A random nonce in a SameSite=Strict cookie (double submit): another site can
        # neither send it nor read the token.
        nonce = secrets.token_urlsafe(16)
        visit.extra_cookies += (
            build_set_cookie(
                FORM_COOKIE,
                nonce,
                max_age=FORM_TOKEN_AGE,
                path=self.prefix,
                secure=visit.facts.is_secure,
                httponly=True,
                samesite="Strict",
            ),
        )
        return nonce

    def _with_cookies(self, visit: Visit, response: Response) -> Response:
        response.headers += [("set-cookie", cookie) for cookie in visit.extra_cookies]
        return response

    def _form(self, visit: Visit, body: bytes) -> dict[str, str] | Response:
        refused = self.endpoints.cross_site(visit)
        if refused:
            return refused
        ctype = visit.facts.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return error(415, "unsupported_media_type", "Send this form as a normal HTML form.")
        try:
            fields = {
                k: v[0] for k, v in parse_qs(body.decode("utf-8"), strict_parsing=False).items()
            }
        except (UnicodeDecodeError, ValueError):
            return error(400, "invalid_form", "The form data could not be read.")
        kind, subject = self._form_subject(visit) or ("nonce", "")
        try:
            signed = self._signers[kind].unsign(fields.get("token", ""), max_age=FORM_TOKEN_AGE)
        except BadSignature:
            return error(
                403,
                "invalid_form_token",
                "The form expired, did not come from this site or was made before your last"
                " choice; reload the page.",
            )
        if not hmac.compare_digest(signed, subject.encode()):
            return error(
                403, "invalid_form_token", "The form belongs to another visitor; reload the page."
            )
        return fields

    def _hidden(self, visit: Visit, locale: str) -> str:
        return (
            f'<input type="hidden" name="token" value="{escape(self.token(visit))}">'
            f'<input type="hidden" name="locale" value="{escape(locale)}">'
        )

    # -- the privacy notice ------------------------------------------------------------

    def notice(self, visit: Visit, body: bytes) -> Result:
        locale = self.endpoints.locale_for(visit)
        fmt = _query(visit, "format") or "html"
        if fmt not in ("html", "json", "markdown"):
            return error(400, "invalid_format", "format must be html, json or markdown.")
        key = (locale, fmt)
        content = self._notices.get(key)
        if content is None:
            links = self.links_for(locale)
            rendered = render_notice(self.policy, locale, fmt=fmt, links=links)  # type: ignore[call-overload]
            if fmt == "json":
                content = json.dumps(rendered, ensure_ascii=False).encode("utf-8")
            else:
                content = str(rendered).encode("utf-8")
            self._notices[key] = content
        ctype = {
            "html": "text/html; charset=utf-8",
            "json": "application/json; charset=utf-8",
            "markdown": "text/markdown; charset=utf-8",
        }[fmt]
        headers = [
            ("content-type", ctype),
            ("cache-control", "no-cache"),
            ("vary", "Accept-Language"),
        ]
        if fmt == "html":
            headers.append(("content-security-policy", _notice_csp(content)))
            # The notice's forms (withdraw, delete) need this visitor's form token;
            # the rendered page is shared, so the hidden fields are added per request.
            hidden = self._hidden(visit, locale).encode("utf-8")
            content = _FORM_START.sub(lambda m: m.group(0) + hidden, content)
            headers[1] = ("cache-control", "no-store")
            headers[2] = ("vary", "Cookie, Accept-Language")
        return self._with_cookies(visit, Response(200, headers, content))

    def links_for(self, locale: str) -> NoticeLinks:
        """The notice's links, keeping the notice's language on the pages they open."""
        base = self.links
        return dataclasses.replace(
            base,
            records=f"{base.records}?locale={locale}",
            export=f"{base.records}?format=json&locale={locale}",
            ads=f"{base.ads}?locale={locale}",
        )

    # -- customised advertising ----------------------------------------------------------

    def ads(self, visit: Visit, body: bytes) -> Result:
        locale = self.endpoints.locale_for(visit)
        t = self._texts(locale)
        data = render_notice(self.policy, locale, fmt="json", links=self.links_for(locale))
        section = next(s for s in data["sections"] if s["id"] == "customised-ads")
        decision = visit.decision
        parts = [f"<p>{escape(p)}</p>" for p in section.get("text", [])]
        label = in_locale(LABELS, locale)
        for category in section.get("categories", []):
            rows = [
                (label["ads_data"], category.get("data")),
                (label["ads_method"], category.get("method")),
                (label["ads_by"], ", ".join(category.get("collected_by", []))),
                (label["ads_retention"], category.get("retention")),
                (label["ads_optout"], section.get("opt_out")),
            ]
            body_rows = "".join(
                f'<tr><th scope="row">{escape(k)}</th><td>{escape(str(v))}</td></tr>'
                for k, v in rows
                if v
            )
            parts.append(
                f"<table><caption>{escape(category.get('title', ''))}</caption>{body_rows}</table>"
            )
        on = "advertising" in decision.allowed
        state = t["ads_on"] if on else t["ads_off"]
        if _query(visit, "saved"):
            parts.append(f'<p role="status">{escape(t["saved"])}</p>')
        parts.append(f"<p><strong>{escape(state)}</strong></p>")
        if decision.gpc:
            parts.append(f"<p>{escape(self.policy.ui_texts(locale)['gpc_honoured'])}</p>")
        if decision.child:
            parts.append(f"<p>{escape(self.policy.ui_texts(locale)['child_rule'])}</p>")
        button = "off" if on else "on"
        caption = t["turn_off"] if on else t["turn_on"]
        parts.append(
            f'<form method="post" action="{escape(self.prefix)}/ads">{self._hidden(visit, locale)}'
            f'<button type="submit" name="advertising" value="{button}">{escape(caption)}</button>'
            "</form>"
        )
        parts.append(
            f'<p><a href="{escape(self.prefix)}/policy?locale={escape(locale)}">'
            f"{escape(t['notice'])}</a></p>"
        )
        return self._with_cookies(visit, _html(200, "".join(parts), locale, t["ads_title"]))

    def ads_form(self, visit: Visit, body: bytes) -> Result:
        fields = self._form(visit, body)
        if isinstance(fields, Response):
            return fields
        value = fields.get("advertising")
        if value not in ("on", "off"):
            return error(400, "invalid_form", "advertising must be 'on' or 'off'.")
        if not self.policy.has_category("advertising"):
            return error(404, "not_found", "This policy has no advertising category.")
        choices = visit.decision.choices() if visit.decision.decided else {}
        choices["advertising"] = value == "on"
        locale = self.endpoints.locale_for(visit, fields.get("locale"))
        result = self.endpoints.save(visit, choices, "custom", "form", locale)
        return _then_redirect(result, f"{self.prefix}/ads?saved=1&locale={locale}")

    def withdraw_form(self, visit: Visit, body: bytes) -> Result:
        fields = self._form(visit, body)
        if isinstance(fields, Response):
            return fields
        locale = self.endpoints.locale_for(visit, fields.get("locale"))
        choices = dict.fromkeys(self.policy.optional_ids, False)
        result = self.endpoints.save(visit, choices, "withdraw", "form", locale)
        return _then_redirect(result, f"{self.prefix}/policy?locale={locale}#rights")

    def delete_form(self, visit: Visit, body: bytes) -> Result:
        fields = self._form(visit, body)
        if isinstance(fields, Response):
            return fields
        locale = self.endpoints.locale_for(visit, fields.get("locale"))
        result = self.endpoints.delete_records(visit, locale, source="form")
        return _then_redirect(result, f"{self.prefix}/records?locale={locale}")

    # -- the visitor's records (HTML view) ------------------------------------------------

    def records_html(self, visit: Visit, records: list[dict[str, Any]]) -> Response:
        locale = self.endpoints.locale_for(visit)
        t = self._texts(locale)
        parts = []
        if records:
            head = "".join(
                f'<th scope="col">{escape(t[k])}</th>'
                for k in ("time", "action", "choices", "version")
            )
            rows = "".join(
                "<tr>"
                f"<td>{escape(_iso(r['time']))}</td><td>{escape(str(r['action']))}</td>"
                f"<td>{escape(_allowed_text(r) or '-')}</td>"
                f"<td>{escape(str(r['policy_version']))}</td></tr>"
                for r in records
            )
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        else:
            parts.append(f"<p>{escape(t['no_records'])}</p>")
        parts.append(
            f'<p><a href="{escape(self.prefix)}/records?format=json">{escape(t["export"])}</a></p>'
        )
        for action, label in (("withdraw", t["withdraw"]), ("records/delete", t["delete"])):
            parts.append(
                f'<form method="post" action="{escape(self.prefix)}/{action}">'
                f"{self._hidden(visit, locale)}"
                f'<button type="submit">{escape(label)}</button></form>'
            )
        return self._with_cookies(visit, _html(200, "".join(parts), locale, t["records_title"]))


def _allowed_text(record: dict[str, Any]) -> str:
    """What a record allows: its categories whole, and ``category: service, …`` for a
    category chosen service by service."""
    parts = [k for k, v in record["choices"].items() if v is True]
    for category, services in (record.get("services") or {}).items():
        named = [name for name, on in services.items() if on]
        if named:
            parts.append(f"{category}: {', '.join(named)}")
    return ", ".join(parts)


def _notice_csp(html: bytes) -> str:
    start, end = html.find(b"<style>"), html.find(b"</style>")
    if start < 0 or end < 0:
        return "default-src 'none'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'"
    digest = hashlib.sha256(html[start + len(b"<style>") : end]).digest()
    return (
        f"default-src 'none'; style-src 'sha256-{base64.b64encode(digest).decode()}'; "
        "form-action 'self'; frame-ancestors 'self'; base-uri 'none'"
    )


def _iso(timestamp: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
