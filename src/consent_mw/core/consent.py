"""What a visitor chose (:class:`Consent`) and what is allowed now (:class:`Decision`).

The app reads the decision for the current request::

    consent = request.scope["consent"]          # ASGI
    consent = environ["consent_mw.consent"]     # WSGI
    if consent.allows("analytics"): ...
    if consent.personalised_ads: ...
"""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, ParamSpec, TypeVar

from ..policy.model import CONSENT_MODE_TYPES, Policy

__all__ = [
    "Action",
    "Choice",
    "Consent",
    "Decision",
    "PromptReason",
    "Source",
    "Verdict",
    "consent_mode_of",
    "decide",
    "judge",
    "new_consent_id",
    "service_token",
    "split_choices",
]

Action = Literal["accept_all", "reject_all", "custom", "withdraw", "gpc", "expired", "delete"]
Source = Literal["banner", "api", "form", "gpc", "server"]
PromptReason = Literal["undecided", "policy_changed", "expired", "new_category"]


def new_consent_id() -> str:
    """A random, unguessable consent id (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


#: a category's choice: the whole category, or service name -> allowed
Choice = bool | Mapping[str, bool]


def service_token(category: str, service: str) -> str:
    """How a service allowed on its own appears among a decision's allowed names
    (``"advertising/Meta"``). A category id has no ``/``, so the first one splits it."""
    return f"{category}/{service}"


def split_choices(
    choices: Mapping[str, Choice],
) -> tuple[dict[str, bool], dict[str, dict[str, bool]]]:
    """``{"analytics": True, "advertising": {"Meta": True}}`` as the whole-category
    choices and the per-service ones: a category chosen service by service is not
    allowed whole (a service it does not name stays refused)."""
    whole: dict[str, bool] = {}
    services: dict[str, dict[str, bool]] = {}
    for category, choice in choices.items():
        if isinstance(choice, Mapping):
            whole[category] = False
            services[category] = {str(name): bool(flag) for name, flag in choice.items()}
        else:
            whole[category] = bool(choice)
    return whole, services


@dataclass(frozen=True)
class Consent:
    """The visitor's recorded choices, as carried by the signed consent cookie."""

    id: str
    policy_version: str
    choices: Mapping[str, bool]
    given_at: int
    updated_at: int
    source: Source = "banner"
    action: Action = "custom"
    gpc: bool = False
    gpc_override: bool = False
    #: categories chosen service by service: category -> service name -> allowed (the
    #: category itself is then ``False`` in ``choices``)
    services: Mapping[str, Mapping[str, bool]] = field(default_factory=dict)

    def choice(self, category: str) -> Choice | None:
        """The visitor's choice for ``category`` as the API shows it: a boolean, a
        mapping of service name to boolean, or None when never asked."""
        chosen = self.services.get(category)
        if chosen is not None:
            return dict(chosen)
        return self.choices.get(category)

    @classmethod
    def create(
        cls,
        policy: Policy,
        choices: Mapping[str, Choice],
        *,
        action: Action,
        source: Source = "banner",
        gpc: bool = False,
        previous: Consent | None = None,
        now: int | None = None,
    ) -> Consent:
        """A new consent for ``choices`` (optional categories not named are refused); a
        category's choice is a boolean or a mapping of service name to boolean."""
        now = int(time.time()) if now is None else now
        whole, chosen = split_choices(choices)
        full = {cid: whole.get(cid, False) for cid in policy.optional_ids}
        services = {cid: chosen[cid] for cid in policy.optional_ids if cid in chosen}
        # An explicit opt-in to advertising (or to one of its services) while the
        # browser sends GPC overrides the signal on this site only, and says so in the
        # record (CCPA regs § 7025(c)(3)). A choice carried from another device at
        # sign-in (source "server") is not one: the signal wins over an earlier,
        # conflicting setting.
        opted_in = full.get("advertising", False) or any(services.get("advertising", {}).values())
        override = gpc and opted_in and action != "accept_all" and source != "server"
        if gpc and not override and "advertising" in full:
            full["advertising"] = False
            if "advertising" in services:
                services["advertising"] = dict.fromkeys(services["advertising"], False)
        return cls(
            id=previous.id if previous else new_consent_id(),
            policy_version=policy.version,
            choices=full,
            given_at=previous.given_at if previous else now,
            updated_at=now,
            source=source,
            action=action,
            gpc=gpc,
            gpc_override=override,
            services=services,
        )


_MODE_ORDER = {name: index for index, name in enumerate(CONSENT_MODE_TYPES)}


@dataclass(frozen=True, slots=True)
class Verdict:
    """The immutable part of a decision; requests with the same cookie and signals share it."""

    policy: Policy = field(repr=False)
    consent: Consent | None
    allowed: frozenset[str]
    prompt_reason: PromptReason | None
    gpc: bool
    child: bool
    regime: str
    country: str | None


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _consulting(read: Callable[_P, _R]) -> Callable[_P, _R]:
    @functools.wraps(read)
    def consult(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        args[0]._consulted = True  # type: ignore[attr-defined]
        return read(*args, **kwargs)

    return consult


def _every_read_consults(cls: type[Decision]) -> type[Decision]:
    """Make every public attribute of ``cls`` mark the decision as consulted.

    Whatever the app learns from the decision may shape its response (a consent id
    in the page, a "granted" Consent Mode, a branch on GPC), so every read makes
    the response private with ``Vary: Cookie, Sec-GPC``. Wrapping the whole public
    surface here means a newly added attribute cannot forget to; the middleware's
    own reads use the underscored slots and mark nothing.
    """
    for name, member in list(vars(cls).items()):
        if name.startswith("_"):
            continue
        if isinstance(member, property) and member.fget is not None:
            setattr(cls, name, property(_consulting(member.fget), member.fset, doc=member.__doc__))
        elif callable(member):
            setattr(cls, name, _consulting(member))
    return cls


@_every_read_consults
class Decision:
    """What is allowed for this request, from the consent cookie and the signals.

    ``needs_prompt`` is true when the banner should ask: no choice yet, the policy
    changed in a way that needs new consent, a category was added, or the choice
    expired. Everything optional stays off until then (fail closed) unless the
    regime is opt-out (``ccpa``) and the category is on by default.

    Reading anything public marks the response as consent-dependent (see
    :func:`_every_read_consults`).
    """

    __slots__ = (
        "_allowed",
        "_child",
        "_consulted",
        "_device",
        "_facts",
        "_login_user",
        "_verdict",
    )

    def __init__(
        self,
        verdict: Verdict,
        device: Callable[[Any, Decision], dict[str, Any]] | None = None,
        facts: Any = None,
    ) -> None:
        self._verdict = verdict
        # ``device(facts, decision)`` builds the device view on first use (see .device).
        self._device = device
        self._facts = facts
        #: the middleware's own, unmarked view of what is allowed
        self._allowed = verdict.allowed
        self._child = verdict.child
        #: set by any public read, so the response is marked as consent-dependent
        self._consulted = False
        #: set by :meth:`login`
        self._login_user: str | None = None

    @property
    def device(self) -> dict[str, Any]:
        """The device and network facts this visitor allows the app to see.

        Always the truncated IP and a bot flag; device type, model, OS and browser
        only with ``analytics``; the device id only with ``advertising``."""
        return self._device(self._facts, self) if self._device is not None else {}

    def login(self, user_id: str) -> None:
        """Tell the middleware this request signed ``user_id`` in: the consent id is
        linked to the user, a login record is kept (3 months, by statute), and a
        visitor without a choice on this device gets the one they made elsewhere."""
        self._login_user = str(user_id)

    def __repr__(self) -> str:
        verdict = self._verdict
        return (
            f"Decision(allowed={sorted(self._allowed)}, "
            f"needs_prompt={verdict.prompt_reason is not None}, "
            f"gpc={verdict.gpc}, child={self._child}, regime={verdict.regime!r})"
        )

    policy = property(lambda self: self._verdict.policy)
    consent = property(lambda self: self._verdict.consent)
    prompt_reason = property(lambda self: self._verdict.prompt_reason)
    gpc = property(lambda self: self._verdict.gpc)
    regime = property(lambda self: self._verdict.regime)
    country = property(lambda self: self._verdict.country)
    allowed = property(lambda self: self._allowed)
    child = property(lambda self: self._child)
    #: the user :meth:`login` named in this request, if any
    login_user = property(lambda self: self._login_user)

    @property
    def needs_prompt(self) -> bool:
        return self._verdict.prompt_reason is not None

    # -- the app's view ------------------------------------------------------

    def allows(self, category: str, service: str | None = None) -> bool:
        """Whether ``category`` is allowed whole, or with ``service`` (a service name
        or a tracker registry owner), whether that service of it is allowed."""
        if category in self._allowed:
            return True
        if service is None:
            return False
        name = self._verdict.policy.service_of(category, service)
        return service_token(category, name) in self._allowed

    def services(self, category: str) -> frozenset[str] | None:
        """The services of ``category`` allowed on their own; None when the category
        is allowed whole (every service), empty when none is."""
        if category in self._allowed:
            return None
        start = category + "/"
        return frozenset(a[len(start) :] for a in self._allowed if a.startswith(start))

    @property
    def personalised_ads(self) -> bool:
        """Customised advertising by the site itself: advertising allowed whole."""
        return "advertising" in self._allowed

    @property
    def subject_id(self) -> str | None:
        consent = self._verdict.consent
        return consent.id if consent else None

    @property
    def policy_version(self) -> str | None:
        consent = self._verdict.consent
        return consent.policy_version if consent else None

    @property
    def decided(self) -> bool:
        return self._verdict.consent is not None and self._verdict.prompt_reason is None

    def mark_child(self) -> None:
        """Mark the visitor as a child: customised advertising is off for this request."""
        self._child = True
        self._allowed = frozenset(a for a in self._allowed if not _is_advertising(a))

    # -- derived -------------------------------------------------------------

    def consent_mode(self) -> dict[str, str]:
        """Google Consent Mode v2 state for all seven types."""
        return _consent_mode(self._verdict.policy, self._allowed)

    def choices(self) -> dict[str, Choice]:
        """Each optional category's state now: true or false, or for a category chosen
        service by service, service name -> allowed."""
        allowed = self._allowed
        consent = self._verdict.consent
        chosen = consent.services if consent is not None else {}
        found: dict[str, Choice] = {}
        for cid in self._verdict.policy.optional_ids:
            if cid in allowed or cid not in chosen:
                found[cid] = cid in allowed
            else:
                found[cid] = {s: service_token(cid, s) in allowed for s in chosen[cid]}
        return found

    def state(self, *, show_banner: bool = True) -> dict[str, Any]:
        """The JSON-able state the banner and the consent API use."""
        verdict = self._verdict
        consent = verdict.consent
        return {
            "decided": consent is not None and verdict.prompt_reason is None,
            "choices": self.choices(),
            "allowed": sorted(self._allowed),
            "needs_prompt": verdict.prompt_reason is not None,
            "prompt_reason": verdict.prompt_reason,
            "gpc": verdict.gpc,
            "child": self._child,
            "personalised_ads": "advertising" in self._allowed,
            "regime": verdict.regime,
            "show_banner": show_banner,
            "consent_id": consent.id if consent else None,
            "policy_version": consent.policy_version if consent else None,
            "consent_mode": self.consent_mode(),
            "services": self._service_states(),
        }

    def _service_states(self) -> dict[str, dict[str, bool]]:
        """For each category with services (listed by the policy or chosen by the
        visitor): service name -> whether it is allowed now."""
        verdict = self._verdict
        chosen = verdict.consent.services if verdict.consent is not None else {}
        found: dict[str, dict[str, bool]] = {}
        for cid in verdict.policy.optional_ids:
            names = [s.name for s in verdict.policy.services(cid)]
            names += (n for n in chosen.get(cid, ()) if n not in names)
            if names:
                whole = cid in self._allowed
                found[cid] = {n: whole or service_token(cid, n) in self._allowed for n in names}
        return found

    def with_consent(self, consent: Consent) -> Decision:
        verdict = self._verdict
        decision = decide(
            verdict.policy,
            consent,
            gpc=verdict.gpc,
            country=verdict.country,
            child=self._child,
            now=consent.updated_at,
        )
        # The same request: a sign-in stays one (the user link and the login record).
        decision._login_user = self._login_user
        return decision


def _is_advertising(name: str) -> bool:
    return name == "advertising" or name.startswith("advertising/")


def _consent_mode(policy: Policy, allowed: frozenset[str]) -> dict[str, str]:
    """Google Consent Mode v2 state for all seven types, given the allowed categories.

    Consent Mode speaks to Google's tags only: a category chosen service by service
    grants its types when the service Google's tags belong to is allowed."""
    granted: set[str] = set()
    for category in policy.categories:
        if category.id in allowed or any(
            service_token(category.id, s) in allowed for s in policy.google_services(category.id)
        ):
            granted.update(category.consent_mode)
    return {
        name: "granted" if name in granted else "denied"
        for name in sorted(CONSENT_MODE_TYPES, key=_MODE_ORDER.__getitem__)
    }


#: Google Consent Mode v2 state for all seven types, given the allowed categories and
#: service tokens (what the page gets; the query surface's platform fields follow it)
consent_mode_of = _consent_mode


def _defaults(policy: Policy, opt_in: bool) -> set[str]:
    allowed = set(policy.required_ids)
    if not opt_in:
        allowed.update(c.id for c in policy.categories if c.default_on)
    return allowed


def decide(
    policy: Policy,
    consent: Consent | None,
    *,
    gpc: bool = False,
    country: str | None = None,
    child: bool = False,
    now: float | None = None,
) -> Decision:
    """Combine the visitor's consent with the request's signals into a :class:`Decision`."""
    return Decision(judge(policy, consent, gpc=gpc, country=country, child=child, now=now))


def judge(
    policy: Policy,
    consent: Consent | None,
    *,
    gpc: bool = False,
    country: str | None = None,
    child: bool = False,
    now: float | None = None,
) -> Verdict:
    """The :class:`Verdict` for a consent and the request's signals."""
    regime = policy.regime_for(country)
    reason: PromptReason | None = None
    if consent is None:
        reason = "undecided"
    elif not policy.accepts_version(consent.policy_version):
        reason = "policy_changed"
    elif (time.time() if now is None else now) - consent.updated_at > (
        policy.lifetime_days(regime) * 86400
    ):
        reason = "expired"

    if reason is None and consent is not None:
        allowed = set(policy.required_ids)
        for cid in policy.optional_ids:
            if consent.choices.get(cid) is True:
                allowed.add(cid)
            elif cid in consent.services:
                allowed.update(
                    service_token(cid, name) for name, on in consent.services[cid].items() if on
                )
        if any(cid not in consent.choices for cid in policy.optional_ids):
            reason = "new_category"
    else:
        allowed = _defaults(policy, regime.opt_in)
        if consent is not None and not regime.opt_in:
            # An opt-out does not lapse (CCPA regs § 7026: honour it; wait 12 months
            # before asking again): an expired or outdated choice still refuses.
            allowed.difference_update(c for c, granted in consent.choices.items() if not granted)

    if "advertising" in allowed or any(map(_is_advertising, allowed)):
        overridden = (
            consent is not None and consent.gpc_override and reason in (None, "new_category")
        )
        if (gpc and not overridden) or child:
            allowed = {a for a in allowed if not _is_advertising(a)}
    return Verdict(
        policy=policy,
        consent=consent,
        allowed=frozenset(allowed),
        prompt_reason=reason,
        gpc=gpc,
        child=child,
        regime=regime.name,
        country=country,
    )
