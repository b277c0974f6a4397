"""The consent API as plain request -> response functions (no framework, no I/O).

An endpoint returns either a finished :class:`Response` or a :class:`StoreCall`:
the adapter performs the store operation (awaiting it under ASGI, calling it
under WSGI) and hands the result to ``then``. If the ledger is down the
adapter answers 503 with Retry-After, so a consent is only acknowledged once
it is in the ledger.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..core.assets import BANNER_FILES, Asset, asset, banner_path, hashed_name, static_asset
from ..core.consent import Action, Choice, Consent, Source
from ..core.cookies import MAX_SERVICES
from ..core.device import clean_user_agent, truncate_ip
from ..core.engine import Engine, Visit
from ..core.facts import normal_origin
from ..html.inject import consent_mode_script, decode_modes, defaults_path, defaults_script
from ..html.signals import vendor_services
from ..notice.render import check_notice
from ..policy.parts import Category, Service
from ..stores.base import Record, new_record_id
from .csp_reports import ReportError, ReportLimiter, read_reports
from .responses import Response, Result, StoreCall, error, json_response, store_call

__all__ = ["Endpoints", "Response", "StoreCall", "error", "json_response"]


class Endpoints:
    """Routes ``/_consent…`` and ``/.well-known/gpc.json`` for one :class:`Engine`."""

    def __init__(
        self, engine: Engine, *, pending: Callable[[], dict[str, Any] | None] = lambda: None
    ) -> None:
        self.engine = engine
        self.pending = pending
        self.policy = engine.policy
        self.config = engine.config
        prefix = self.config.prefix
        self.routes: dict[str, dict[str, Callable[[Visit, bytes], Result]]] = {
            prefix: {"GET": self.get_state, "POST": self.post_choices, "DELETE": self.withdraw},
            prefix + "/records": {"GET": self.get_records},
            prefix + "/defaults.js": {"GET": self.defaults_js},
            "/.well-known/gpc.json": {"GET": self.gpc_json},
        }
        for name, (file, ctype) in BANNER_FILES.items():
            found = static_asset(file, ctype)
            self.add_route(f"{prefix}/{name}", "GET", self._asset_route(name, found, False))
            if found is not None:
                hashed = f"{prefix}/{hashed_name(name, found.digest)}"
                self.add_route(hashed, "GET", self._asset_route(name, found, True))
        #: the Consent Mode default scripts, by URL path (see .html.inject): at most 128
        self._defaults: dict[str, Asset] = {}
        self._defaults_start = prefix + "/defaults/"
        self._categories = {locale: self._category_texts(locale) for locale in self.policy.locales}
        self._chunk = banner_path(prefix, "banner-prefs.js")
        # A problem in the notice sections of the policy stops start-up, not a visitor.
        check_notice(self.policy)
        #: renders the visitor's records as a page (set by the no-JS pages, see .routes)
        self.records_page: Callable[[Visit, list[dict[str, Any]]], Response] | None = None
        #: the no-JS pages sharing this route table (see .routes)
        self.pages: object = None
        self.add_route(prefix + "/records", "DELETE", self.delete_records_api)
        #: browsers' CSP violation reports (only while the middleware sends a CSP)
        self.report_limiter = ReportLimiter()
        if engine.browser is not None:
            self.add_route(prefix + "/csp-report", "POST", self.csp_report)

    def add_route(self, path: str, method: str, handler: Callable[[Visit, bytes], Result]) -> None:
        self.routes.setdefault(path, {})[method] = handler

    def dispatch(self, visit: Visit, body: bytes) -> Result:
        methods = self.routes.get(visit.facts.path)
        if methods is None and visit.facts.path.startswith(self._defaults_start):
            methods = {"GET": self.defaults_by_decision}
        if methods is None:
            return error(404, "not_found", f"No consent endpoint at {visit.facts.path!r}.")
        method = visit.facts.method
        if method == "HEAD" and "GET" in methods:
            method = "GET"
        handler = methods.get(method)
        if handler is None:
            allow = ", ".join(sorted(methods))
            return error(405, "method_not_allowed", f"Use {allow} here.", [("allow", allow)])
        return handler(visit, body)

    # -- checks ------------------------------------------------------------------

    def cross_site(self, visit: Visit) -> Response | None:
        """403 for a state-changing request sent by another site (CSRF)."""
        headers = visit.facts.headers
        site = headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return error(
                403,
                "cross_site",
                f"Consent can only be changed from this site (Sec-Fetch-Site: {site}).",
            )
        origin = headers.get("origin")
        if (
            origin is not None
            and normal_origin(origin) != visit.facts.origin
            and origin not in self.config.allowed_origins
        ):
            return error(
                403,
                "cross_site",
                f"Requests from origin {origin!r} may not change "
                "consent here; add it to allowed_origins if it is yours.",
            )
        return None

    def too_large(self) -> Response:
        return error(
            413, "body_too_large", f"The request body exceeds {self.config.max_body_size} bytes."
        )

    # -- texts -------------------------------------------------------------------

    def _category_texts(self, locale: str) -> list[dict[str, Any]]:
        policy = self.policy
        processors = {p.id: p for p in policy.processors}
        return [
            {
                "id": c.id,
                "required": c.required,
                "title": policy.text(c.title, locale),
                "description": policy.text(c.description, locale),
                "cookies": [
                    {
                        "name": s.name,
                        "owner": s.owner,
                        "lifetime": policy.text(s.lifetime, locale) if s.lifetime else "",
                    }
                    for s in c.cookies
                ],
                "processors": [
                    {
                        "name": policy.text(processors[p].name, locale),
                        "purpose": policy.text(processors[p].purpose, locale),
                    }
                    for p in c.processors
                ],
                "retention": policy.text(c.retention, locale) if c.retention else "",
                "consent_mode": list(c.consent_mode),
                "services": [self._service_texts(c, s, locale) for s in c.services],
            }
            for c in policy.categories
        ]

    def _service_texts(self, category: Category, service: Service, locale: str) -> dict[str, Any]:
        """A service as the banner's second layer shows it: purpose, retention, and the
        cookies it sets (its own, and the category's cookies whose owner it stands for)."""
        policy = self.policy
        names = {service.name, *service.owners}
        cookies = [{"name": name, "lifetime": ""} for name in service.cookies]
        cookies += (
            {"name": s.name, "lifetime": policy.text(s.lifetime, locale) if s.lifetime else ""}
            for s in category.cookies
            if s.owner in names
        )
        return {
            "name": service.name,
            "purpose": policy.text(service.purpose, locale) if service.purpose else "",
            "retention": policy.text(service.retention, locale) if service.retention else "",
            "cookies": cookies,
        }

    def locale_for(self, visit: Visit, wanted: str | None = None) -> str:
        query = visit.facts.query_string
        if wanted is None and "locale=" in query:
            for part in query.split("&"):
                key, _, value = part.partition("=")
                if key == "locale":
                    wanted = value[:16]
        return self.policy.pick_locale(wanted, visit.facts.headers.get("accept-language"))

    def state(self, visit: Visit) -> dict[str, Any]:
        user_agent = visit.facts.headers.get("user-agent")
        state = visit.decision.state(show_banner=not self.engine.is_bot(user_agent))
        # The banner reloads after a change under an enforced CSP (a page's CSP
        # cannot widen, and running tags must stop after a withdrawal).
        state["csp"] = self.engine.csp_mode
        return state

    # -- handlers ----------------------------------------------------------------

    def get_state(self, visit: Visit, body: bytes) -> Result:
        locale = self.locale_for(visit)
        return json_response(
            200,
            {
                "locale": locale,
                "locales": list(self.policy.locales),
                "policy": {
                    "version": self.policy.version,
                    "url": f"{self.config.prefix}/policy?locale={locale}",
                    "pending_change": self.pending(),
                },
                "texts": self.policy.ui_texts(locale),
                "categories": self._categories[locale],
                # the preferences layer's chunk (immutable, content-hashed URL)
                "chunk": self._chunk,
                "state": self.state(visit),
            },
            [("vary", "Cookie, Sec-GPC, Accept-Language")],
        )

    def post_choices(self, visit: Visit, body: bytes) -> Result:
        refused = self.cross_site(visit)
        if refused:
            return refused
        ctype = visit.facts.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if ctype != "application/json":
            return error(
                415,
                "unsupported_media_type",
                "Send the choices as JSON with Content-Type: application/json.",
            )
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            # RecursionError: "[[[[…]]]]" nested past the parser's depth limit.
            return error(400, "malformed_json", "The request body is not valid JSON.")
        if not isinstance(data, dict):
            return error(
                400, "invalid_body", "The body must be a JSON object with 'action' or 'choices'."
            )
        unknown = set(data) - {"action", "choices", "locale"}
        if unknown:
            return error(400, "invalid_body", f"Unknown field(s): {', '.join(sorted(unknown))}.")
        locale = data.get("locale")
        if locale is not None and not isinstance(locale, str):
            return error(400, "invalid_locale", "'locale' must be a string such as 'ko'.")
        if ("action" in data) == ("choices" in data):
            return error(400, "invalid_body", "Send exactly one of 'action' and 'choices'.")
        optional = self.policy.optional_ids
        action: Action
        choices: dict[str, Choice]
        if "action" in data:
            if data["action"] == "accept_all":
                action, choices = "accept_all", dict.fromkeys(optional, True)
            elif data["action"] == "reject_all":
                action, choices = "reject_all", dict.fromkeys(optional, False)
            else:
                return error(
                    400, "invalid_action", "'action' must be 'accept_all' or 'reject_all'."
                )
        else:
            raw = data["choices"]
            if not isinstance(raw, dict):
                return error(
                    400,
                    "invalid_choices",
                    "'choices' must be an object of category id -> true/false.",
                )
            choices = {}
            for key, value in raw.items():
                if not self.policy.has_category(key):
                    return error(
                        400,
                        "unknown_category",
                        f"{key!r} is not a consent category; use one of {', '.join(optional)}.",
                    )
                if isinstance(value, dict) and key not in self.policy.required_ids:
                    services = self.service_choices(key, value)
                    if isinstance(services, Response):
                        return services
                    choices[key] = services
                    continue
                if not isinstance(value, bool):
                    return error(
                        400,
                        "invalid_choices",
                        f"choices.{key} must be true or false, or an object of service "
                        'name -> true/false such as {"Meta": true}.',
                    )
                if key in self.policy.required_ids:
                    if not value:
                        return error(
                            400,
                            "required_category",
                            f"{key!r} is required for the site to work and cannot be refused.",
                        )
                    continue
                choices[key] = value
            action = "custom"
        return self.save(visit, choices, action, "banner", self.locale_for(visit, locale))

    def service_choices(self, category: str, value: dict[str, Any]) -> dict[str, bool] | Response:
        """A category's per-service choice from a request, names made the policy's
        (a registry owner a declared service stands for becomes that service)."""
        if len(value) > MAX_SERVICES:
            return error(
                400,
                "too_many_services",
                f"choices.{category} names {len(value)} services; at most {MAX_SERVICES}.",
            )
        chosen: dict[str, bool] = {}
        for name, flag in value.items():
            if not isinstance(flag, bool):
                return error(
                    400, "invalid_choices", f"choices.{category}.{name} must be true or false."
                )
            if not self.policy.knows_service(category, name):
                listed = ", ".join(s.name for s in self.policy.services(category)) or "none"
                return error(
                    400,
                    "unknown_service",
                    f"{name!r} is not a service of {category!r} (the policy lists: {listed}; "
                    "a tracker registry owner of that category is accepted too).",
                )
            chosen[self.policy.service_of(category, name)] = flag
        return chosen

    def withdraw(self, visit: Visit, body: bytes) -> Result:
        refused = self.cross_site(visit)
        if refused:
            return refused
        choices = dict.fromkeys(self.policy.optional_ids, False)
        return self.save(visit, choices, "withdraw", "banner", self.locale_for(visit))

    def record(
        self, visit: Visit, consent: Consent, locale: str, *, user_id: str | None = None
    ) -> Record:
        """The proof record of ``consent``, made in this request."""
        decision, facts = visit.decision, visit.facts
        return Record(
            record_id=new_record_id(consent.updated_at),
            subject_id=consent.id,
            time=time.time(),
            policy_version=self.policy.version,
            text_hash=self.policy.text_hash(locale),
            choices=dict(consent.choices),
            services={c: dict(s) for c, s in consent.services.items()},
            action=consent.action,
            source=consent.source,
            regime=decision.regime,
            country=decision.country,
            locale=locale,
            gpc=consent.gpc,
            gpc_override=consent.gpc_override,
            user_id=user_id,
            ip=truncate_ip(facts.client_ip),
            user_agent=clean_user_agent(facts.headers.get("user-agent")),
        )

    def save(
        self,
        visit: Visit,
        choices: Mapping[str, Choice],
        action: Action,
        source: Source,
        locale: str,
        *,
        user_id: str | None = None,
    ) -> Result:
        decision = visit.decision
        facts = visit.facts
        consent = Consent.create(
            self.policy,
            choices,
            action=action,
            source=source,
            gpc=facts.gpc,
            previous=decision.consent,
            now=int(time.time()),
        )
        record = self.record(visit, consent, locale, user_id=user_id)

        def saved(_: Any) -> Response:
            # Tracker cookies of categories now refused are expired in this response.
            self.engine.update(visit, decision.with_consent(consent))
            return json_response(
                200,
                {"state": self.state(visit), "record_id": record.record_id},
                [("set-cookie", v) for v in self.engine.consent_cookies(consent, facts)],
            )

        return store_call(lambda s: s.append(record), lambda s: s.aappend(record), saved)

    def carry(self, visit: Visit) -> Result:
        """At sign-in, give a visitor without a choice on this device the choice the
        same user made elsewhere (recorded as ``source="server"`` for this device)."""
        # The middleware's own reads (this runs inside a page response at sign-in).
        decision = visit.decision
        user_id = decision._login_user
        if user_id is None or (
            decision._verdict.consent is not None and decision._verdict.prompt_reason is None
        ):
            return Response(200, [])

        def found(record: Record | None) -> Result:
            if record is None or not self.policy.accepts_version(record.policy_version):
                return Response(200, [])
            # The per-service choices travel too (the record's, as made elsewhere).
            choices: dict[str, Choice] = {
                c: record.choice(c) or False for c in self.policy.optional_ids
            }
            locale = record.locale or self.policy.default_locale
            return self.save(visit, choices, "custom", "server", locale, user_id=user_id)

        return store_call(lambda s: s.by_user(user_id), lambda s: s.aby_user(user_id), found)

    def get_records(self, visit: Visit, body: bytes) -> Result:
        subject = visit.decision.subject_id
        fmt = "json" if "format=json" in visit.facts.query_string else None
        html = fmt is None and "text/html" in visit.facts.headers.get("accept", "")

        def answer(records: list[Record]) -> Response:
            data = [r.to_dict() for r in records]
            if html and self.records_page is not None:
                return self.records_page(visit, data)
            headers = []
            if fmt == "json":
                # An export is a download (the right to data portability).
                headers.append(
                    ("content-disposition", 'attachment; filename="consent-records.json"')
                )
            return json_response(200, {"subject_id": subject, "records": data}, headers)

        if subject is None:
            return answer([])
        return store_call(lambda s: s.history(subject), lambda s: s.ahistory(subject), answer)

    def delete_records_api(self, visit: Visit, body: bytes) -> Result:
        refused = self.cross_site(visit)
        if refused:
            return refused
        return self.delete_records(visit, self.locale_for(visit), source="banner")

    def delete_records(self, visit: Visit, locale: str, *, source: Source) -> Result:
        """Erase the visitor's ledger entries; a minimal proof of the erasure stays.

        Without its records a consent can no longer be proven, so every optional
        category is refused from now on (the proof record says so)."""
        decision = visit.decision
        if decision.consent is None:
            return json_response(200, {"deleted": 0, "state": self.state(visit)})
        facts = visit.facts
        now = int(time.time())
        consent = Consent.create(
            self.policy,
            {},
            action="delete",
            source=source,
            gpc=facts.gpc,
            previous=decision.consent,
            now=now,
        )
        proof = self.record(visit, consent, locale)

        def deleted(count: int) -> Response:
            self.engine.update(visit, decision.with_consent(consent))
            return json_response(
                200,
                {"deleted": count, "state": self.state(visit), "record_id": proof.record_id},
                [("set-cookie", v) for v in self.engine.consent_cookies(consent, facts)],
            )

        return store_call(
            lambda s: s.delete_subject(consent.id, proof=proof),
            lambda s: s.adelete_subject(consent.id, proof=proof),
            deleted,
        )

    @staticmethod
    def _asset_route(
        name: str, found: Asset | None, immutable: bool
    ) -> Callable[[Visit, bytes], Result]:
        """The route of one static file: its hashed URL (``immutable``) or its plain one."""

        def answer(visit: Visit, body: bytes) -> Result:
            if found is None:
                return error(404, "not_built", f"{name} is not in this installation; build js/.")
            return _served(found, visit, immutable=immutable)

        return answer

    def defaults_by_decision(self, visit: Visit, body: bytes) -> Result:
        """``{prefix}/defaults/<modes>.<digest>.js``: the Consent Mode default the URL
        names, the same for every visitor, so cached for a year (see .html.inject)."""
        path = visit.facts.path
        found = self._defaults.get(path)
        if found is None:
            code = path[len(self._defaults_start) :].partition(".")[0]
            decoded = decode_modes(code)
            if decoded is None:
                return error(404, "not_found", f"No Consent Mode default at {path!r}.")
            # The digest names the script for this policy's [signals]: another is a 404.
            modes, pending, grants = decoded
            signals, services = self.policy.signals, vendor_services(self.policy)
            if defaults_path(self.config.prefix, modes, signals, pending, grants, services) != path:
                return error(404, "not_found", f"No Consent Mode default at {path!r}.")
            script = defaults_script(modes, signals, pending, grants, services)
            found = asset(script.encode("utf-8"), _JS)
            self._defaults[path] = found  # bounded: 256 codes, one digest each
        return _served(found, visit, immutable=True)

    def defaults_js(self, visit: Visit, body: bytes) -> Result:
        # The default for the visitor asking, for pages injected before the default had
        # a URL per decision (still in a cache somewhere): never stored by any cache.
        return Response(
            200,
            [
                ("content-type", "text/javascript; charset=utf-8"),
                ("cache-control", "no-store"),
                ("vary", "Cookie, Sec-GPC"),
            ],
            consent_mode_script(visit.decision).encode("utf-8"),
        )

    def csp_report(self, visit: Visit, body: bytes) -> Result:
        """Content-Security-Policy violation reports: 204 once read (whatever they
        say, nothing is echoed), 429 past a client's rate, 415/400 for anything that
        is not a report. Plausible ones feed the host inventory (see .csp_reports)."""
        facts = visit.facts
        if not self.report_limiter.allow(facts.client_ip):
            return error(
                429,
                "too_many_reports",
                "Too many reports from this client.",
                [("retry-after", "60")],
            )
        try:
            found = read_reports(facts.headers.get("content-type"), body, facts.host)
        except ReportError as exc:
            return error(exc.status, exc.code, str(exc))
        audit = self.engine.host_audit
        if audit is not None:
            for violation in found:
                audit.notice(violation.host, violation.directive, violation.path)
        return Response(204, [("cache-control", "no-store")], b"")

    def gpc_json(self, visit: Visit, body: bytes) -> Result:
        # https://privacycg.github.io/gpc-spec/#gpc-support-resource
        data: dict[str, Any] = {"gpc": True}
        updated = self.policy.gpc_last_update or self.policy.effective or self.policy.announced
        if updated is not None:
            data["lastUpdate"] = updated.isoformat()
        return Response(
            200,
            [("content-type", "application/json"), ("cache-control", "public, max-age=86400")],
            json.dumps(data).encode(),
        )


_JS = "text/javascript; charset=utf-8"


def _served(found: Asset, visit: Visit, *, immutable: bool) -> Response:
    facts = visit.facts
    headers = facts.headers
    status, out, content = found.answer(
        headers.get("accept-encoding", ""),
        facts.if_none_match,
        immutable=immutable,
        if_modified_since=headers.get("if-modified-since"),
    )
    return Response(status, out, content)
