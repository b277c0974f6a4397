"""The decision as each vendor's own consent call, compiled once per decision on the
server and run in the page with the Consent Mode default, before any tag.

Each vendor's tag makes a global when it starts (its "base code"): Microsoft UET's
``uetq`` queue, Clarity's ``clarity`` function, Meta's ``fbq``, TikTok's ``ttq``
queue. The compiled script waits for that moment (a setter on the global, removed at
once) and puts the vendor's consent call first in what the tag will process:

- UET: ``uetq.push('consent', 'default' | 'update', {ad_storage})``;
- Clarity: ``clarity('consentv2', {ad_Storage, analytics_Storage})``;
- Meta: ``fbq('consent', 'grant' | 'revoke')``, first in the base code's queue, so
  before ``fbq('init')``;
- TikTok: ``ttq.holdConsent()`` while the visitor has not chosen, else
  ``grantConsent()`` / ``revokeConsent()``.

Each vendor's call follows that vendor's own grant: its category allowed whole, or, where
the visitor chose service by service, the service its tags belong to (UET, Meta and
TikTok in ``advertising``, Clarity's ``analytics_Storage`` in ``analytics``; a consent to
Google alone grants nothing to Meta). Clarity's ``ad_Storage`` follows ``advertising``
allowed whole. The calls are the vendors' documented APIs (docs/signals.md).

A vendor whose tag never appears gets nothing: no global is made for it. After a choice
in the banner (its ``consent:change`` event, whose detail carries the new Consent Mode)
each vendor present gets the update; one that appears later (a tag the banner
activates) starts from the new state. Only the vendors the policy's ``[signals]
vendors`` list are handled (all four by default).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import TYPE_CHECKING, Final

from ..core.consent import service_token
from ..policy.parts import Signals

if TYPE_CHECKING:
    from ..policy.model import Policy

__all__ = [
    "VENDORS",
    "VENDOR_CODE",
    "grants_of_modes",
    "vendor_grants",
    "vendor_script",
    "vendor_services",
]

# ``t(name, hook, update)`` arms the setter of one vendor's global; ``S`` is the state
# (a: advertising allowed whole, u/c/m/t: UET's, Clarity's, Meta's and TikTok's own
# grant, p: no choice yet), ``V`` each vendor's category and service. ``f(l)`` reads
# them from a state's allowed names (``advertising``, ``advertising/Meta``). ``r()``
# brings S up to the banner's own state: after a choice the banner re-activates the
# tags it allows before it sends ``consent:change``, so a tag revived by the choice
# starts from it. ``L`` keeps what each vendor was last told (``k`` of the letters its
# call reads): a vendor hears of a change of its own grant once, and of no other.
_CORE: Final = (
    "(function(w,d){try{"
    "var S=%s,V=%s,H=[],L={};"
    "function g(x){return x?'granted':'denied'}"
    "function k(c){var x='';for(var i=0;i<c.length;i++)x+=S[c.charAt(i)];return x}"
    "function f(s){var l=s.allowed||[];"
    "function y(v){return +(l.indexOf(v[0])>-1||l.indexOf(v[0]+'/'+v[1])>-1)}"
    "S.a=+(l.indexOf('advertising')>-1);S.u=y(V.u);S.c=y(V.c);S.m=y(V.m);S.t=y(V.t);"
    "S.p=+!s.decided}"
    "function r(){var b=w.ConsentBanner,s=b&&b.state;if(s&&s.allowed)f(s)}"
    "function t(n,c,h,u){H.push(function(){var v=w[n];if(v&&L[n]!==k(c)){L[n]=k(c);u(v)}});"
    "if(w[n]!==void 0)return;"
    "Object.defineProperty(w,n,{configurable:true,get:function(){},"
    "set:function(v){delete w[n];w[n]=v;try{r();L[n]=k(c);h(v)}catch(e){}}})}"
    "%s"
    "d.addEventListener('consent:change',function(e){try{"
    "if(!e.detail||!e.detail.allowed)return;f(e.detail);"
    "for(var i=0;i<H.length;i++)try{H[i]()}catch(x){}"
    "}catch(x){}})"
    "}catch(e){}})(window,document);"
)

#: each vendor: its letter in the state, the category its call follows, and the owner
#: of its tags in the tracker registry (mapped to the policy's service for it)
VENDORS: Final = {
    "uet": ("u", "advertising", "Microsoft Advertising"),
    "clarity": ("c", "analytics", "Microsoft Clarity"),
    "meta": ("m", "advertising", "Meta"),
    "tiktok": ("t", "advertising", "TikTok"),
}

#: the part of each vendor, in the order they are armed
VENDOR_CODE: Final = {
    "uet": (
        "t('uetq','u',function(q){q.push('consent','default',{ad_storage:g(S.u)})},"
        "function(q){q.push('consent','update',{ad_storage:g(S.u)})});"
    ),
    "clarity": (
        "t('clarity','ac',function(f){f('consentv2',{ad_Storage:g(S.a),analytics_Storage:g(S.c)})},"
        "function(f){f('consentv2',{ad_Storage:g(S.a),analytics_Storage:g(S.c)})});"
    ),
    # Meta's base code makes fbq, then its queue: the call goes first in that queue.
    "meta": (
        "t('fbq','m',function(f){var q;Object.defineProperty(f,'queue',{configurable:true,"
        "get:function(){return q},set:function(x){delete f.queue;f.queue=x;"
        "x.push(['consent',S.m?'grant':'revoke'])}})},"
        "function(f){f('consent',S.m?'grant':'revoke')});"
    ),
    # TikTok's base code keeps calls as [method, ...args] in the ttq array.
    "tiktok": (
        "t('ttq','tp',function(q){q.push([S.t?'grantConsent':S.p?'holdConsent':'revokeConsent'])},"
        "function(q){var m=S.t?'grantConsent':'revokeConsent';"
        "typeof q[m]==='function'?q[m]():q.push([m])});"
    ),
}


@lru_cache(maxsize=128)
def vendor_script(grants: str, pending: bool, signals: Signals, services: tuple[str, ...]) -> str:
    """The vendors' part of the default script for one decision ("" when no vendor).

    ``grants``: :func:`vendor_grants`' code; ``services``: the service each vendor's
    tags belong to under the policy, in :data:`VENDORS`' order (:func:`vendor_services`)."""
    parts = "".join(VENDOR_CODE[name] for name in VENDOR_CODE if name in signals.vendors)
    if not parts:
        return ""
    state = {"a": int(grants[0] == "1")}
    for (letter, _, _), flag in zip(VENDORS.values(), grants[1:], strict=True):
        state[letter] = int(flag == "1")
    state["p"] = int(pending)
    names = {
        letter: [category, service]
        for (letter, category, _), service in zip(VENDORS.values(), services, strict=True)
    }
    return _CORE % (_json(state), _json(names), parts)


def _json(value: object) -> str:
    # No "</" can occur in these names' JSON inside a script element: escaped anyway.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).replace("</", "<\\/")


def vendor_services(policy: Policy) -> tuple[str, ...]:
    """The service each vendor's tags belong to under ``policy``, in :data:`VENDORS`'
    order (the registry owner unless the policy lists it under a service of its own)."""
    return tuple(policy.service_of(category, owner) for _, category, owner in VENDORS.values())


def vendor_grants(policy: Policy, allowed: frozenset[str]) -> str:
    """The decision as the vendors' grants: ``"1"``/``"0"`` for advertising allowed
    whole, then for each vendor of :data:`VENDORS` in order, its category allowed whole
    or its service allowed on its own (``allowed``: a decision's allowed names)."""
    flags = ["advertising" in allowed]
    for (_, category, _), service in zip(VENDORS.values(), vendor_services(policy), strict=True):
        flags.append(category in allowed or service_token(category, service) in allowed)
    return "".join("1" if flag else "0" for flag in flags)


def grants_of_modes(modes: dict[str, str]) -> str:
    """The grants a Consent Mode state stands for when nothing else says (a defaults
    URL written before the grants were in it): advertising from ``ad_storage``,
    Clarity's from ``analytics_storage``."""
    ad = "1" if modes["ad_storage"] == "granted" else "0"
    analytics = "1" if modes["analytics_storage"] == "granted" else "0"
    return "".join(
        [ad, *(analytics if category == "analytics" else ad for _, category, _ in VENDORS.values())]
    )
