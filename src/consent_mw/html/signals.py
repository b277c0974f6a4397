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

``ad_Storage``, Meta's and TikTok's calls follow Consent Mode's ``ad_storage``
(``advertising``), ``analytics_Storage`` its ``analytics_storage``. The calls are the
vendors' documented APIs (docs/signals.md).

A vendor whose tag never appears gets nothing: no global is made for it. After a choice
in the banner (its ``consent:change`` event, whose detail carries the new Consent Mode)
each vendor present gets the update; one that appears later (a tag the banner
activates) starts from the new state. Only the vendors the policy's ``[signals]
vendors`` list are handled (all four by default).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Final

from ..policy.parts import Signals

__all__ = ["VENDOR_CODE", "vendor_script"]

# ``t(name, hook, update)`` arms the setter of one vendor's global; ``S`` is the state
# (a: ad_storage, n: analytics_storage, p: no choice yet). ``r()`` brings S up to the
# banner's own state: after a choice the banner re-activates the tags it allows before
# it sends ``consent:change``, so a tag revived by the choice starts from it. ``L``
# keeps what each vendor was last told: a vendor hears of a change once.
_CORE: Final = (
    "(function(w,d){try{"
    "var S=%s,H=[],L={};"
    "function g(x){return x?'granted':'denied'}"
    "function k(){return S.a+''+S.n+S.p}"
    "function r(){var b=w.ConsentBanner,s=b&&b.state,m=s&&s.consent_mode;if(!m)return;"
    "S.a=+(m.ad_storage==='granted');S.n=+(m.analytics_storage==='granted');S.p=+!s.decided}"
    "function t(n,h,u){H.push(function(){var v=w[n];if(v&&L[n]!==k()){L[n]=k();u(v)}});"
    "if(w[n]!==void 0)return;"
    "Object.defineProperty(w,n,{configurable:true,get:function(){},"
    "set:function(v){delete w[n];w[n]=v;try{r();L[n]=k();h(v)}catch(e){}}})}"
    "%s"
    "d.addEventListener('consent:change',function(e){try{"
    "var m=e.detail&&e.detail.consent_mode;if(!m)return;"
    "S.a=+(m.ad_storage==='granted');S.n=+(m.analytics_storage==='granted');"
    "S.p=+!e.detail.decided;"
    "for(var i=0;i<H.length;i++)try{H[i]()}catch(x){}"
    "}catch(x){}})"
    "}catch(e){}})(window,document);"
)

#: the part of each vendor, in the order they are armed
VENDOR_CODE: Final = {
    "uet": (
        "t('uetq',function(q){q.push('consent','default',{ad_storage:g(S.a)})},"
        "function(q){q.push('consent','update',{ad_storage:g(S.a)})});"
    ),
    "clarity": (
        "t('clarity',function(f){f('consentv2',{ad_Storage:g(S.a),analytics_Storage:g(S.n)})},"
        "function(f){f('consentv2',{ad_Storage:g(S.a),analytics_Storage:g(S.n)})});"
    ),
    # Meta's base code makes fbq, then its queue: the call goes first in that queue.
    "meta": (
        "t('fbq',function(f){var q;Object.defineProperty(f,'queue',{configurable:true,"
        "get:function(){return q},set:function(x){delete f.queue;f.queue=x;"
        "x.push(['consent',S.a?'grant':'revoke'])}})},"
        "function(f){f('consent',S.a?'grant':'revoke')});"
    ),
    # TikTok's base code keeps calls as [method, ...args] in the ttq array.
    "tiktok": (
        "t('ttq',function(q){q.push([S.a?'grantConsent':S.p?'holdConsent':'revokeConsent'])},"
        "function(q){var m=S.a?'grantConsent':'revokeConsent';"
        "typeof q[m]==='function'?q[m]():q.push([m])});"
    ),
}


@lru_cache(maxsize=128)
def vendor_script(ad: bool, analytics: bool, pending: bool, signals: Signals) -> str:
    """The vendors' part of the default script for one decision ("" when no vendor)."""
    parts = "".join(VENDOR_CODE[name] for name in VENDOR_CODE if name in signals.vendors)
    if not parts:
        return ""
    state = json.dumps(
        {"a": int(ad), "n": int(analytics), "p": int(pending)}, separators=(",", ":")
    )
    return _CORE % (state, parts)
