"""The demo: a small ticketing site behind ConsentMiddleware (``consent-mw demo``).

Its pages carry the usual tracker tags and its server sets one cookie of each
category, so what the middleware strips, keeps and rewrites can be watched in
a browser's developer tools. :func:`with_query_api` puts the advertising team's
query API (:mod:`consent_mw.query`) beside it at ``/query-api``, over the same ledger.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from html import escape
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ..asgi import ASGIApp, ConsentMiddleware, Receive, Scope, Send
from ..i18n import in_locale
from ..i18n.demo import DEMO_TEXTS
from ..policy.model import Policy

__all__ = ["POLICY_PATH", "QUERY_PATH", "create_app", "demo_policy", "with_query_api"]

QUERY_PATH = "/query-api"

POLICY_PATH = str(resources.files("consent_mw").joinpath("demo", "policy.toml"))

SHOWS = {
    "1": ("뮤지컬 〈별의 노래〉", "Musical: Song of the Stars"),
    "2": ("서울 재즈 페스티벌", "Seoul Jazz Festival"),
    "3": ("국립발레단 〈호두까기 인형〉", "Korea National Ballet: The Nutcracker"),
}

TRACKERS_TEMPLATE = """
<script async src="https://www.googletagmanager.com/gtag/js?id=G-DEMO1234"></script>
<script>
  window.dataLayer = window.dataLayer || [];
  function gtag(){dataLayer.push(arguments);}
  gtag('js', new Date());
  gtag('config', 'G-DEMO1234');
</script>
<script>
  !function(f,b,e,v,n,t,s){if(f.fbq)return;n=f.fbq=function(){n.callMethod?
  n.callMethod.apply(n,arguments):n.queue.push(arguments)};if(!f._fbq)f._fbq=n;
  n.push=n;n.loaded=!0;n.version='2.0';n.queue=[];t=b.createElement(e);t.async=!0;
  t.src=v;s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}(window,
  document,'script','https://connect.facebook.net/en_US/fbevents.js');
  fbq('init', '000000000000000');
  fbq('track', 'PageView');
</script>
<noscript><img height="1" width="1" alt=""
  src="https://www.facebook.com/tr?id=000000000000000&ev=PageView&noscript=1"></noscript>
<script type="text/javascript" charset="UTF-8" src="//t1.daumcdn.net/kas/static/kp.js"></script>
<script type="text/javascript">
  kakaoPixel('0000000000000000000').pageView();
</script>
<script type="text/javascript" src="//wcs.naver.net/wcslog.js"></script>
<script type="text/javascript">
  if(!wcs_add) var wcs_add = {};
  wcs_add["wa"] = "demo0000";
  if(window.wcs) { wcs_do(); }
</script>
"""


def trackers(nonce: str) -> str:
    """The tracker tags, each carrying the page's CSP nonce as a site would add it."""
    return TRACKERS_TEMPLATE.replace("<script", f'<script nonce="{nonce}"')


TRACKERS = trackers("")


def demo_policy() -> Policy:
    return Policy.from_toml(POLICY_PATH)


def _lang(request: Request) -> str:
    return "en" if request.query_params.get("lang") == "en" else "ko"


def _page(request: Request, title: str, body: str) -> HTMLResponse:
    lang = _lang(request)
    consent = request.scope["consent"]
    # A strict CSP: only scripts carrying this response's nonce run, and what they
    # load ('strict-dynamic'). The middleware reads the nonce from request.state.
    nonce = secrets.token_urlsafe(16)
    request.state.csp_nonce = nonce
    state = ", ".join(sorted(consent.allowed))
    other, other_name = ("ko", "한국어") if lang == "en" else ("en", "English")
    t = in_locale(DEMO_TEXTS, lang)
    html = f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · Ticketbox</title>
{trackers(nonce)}
</head>
<body>
<header><a href="/?lang={lang}">Ticketbox</a>
 · <a href="/?lang={other}">{other_name}</a></header>
<main>
<h1>{escape(title)}</h1>
{body}
<form method="post" action="/login"><label>{t["member"]}
 <input name="user" autocomplete="username"></label>
 <button type="submit">{t["sign_in"]}</button></form>
<p><a href="/_consent/policy?locale={lang}">{t["policy"]}</a>
 · <a href="/_consent/ads?locale={lang}">{t["ads"]}</a>
 · <a href="/_consent/records?locale={lang}">{t["records"]}</a></p>
<p id="server-view">{t["server_view"]}:
 <code>{escape(state)}</code></p>
</main>
</body>
</html>"""
    response = HTMLResponse(html)
    response.headers["content-security-policy"] = (
        f"default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic'; "
        f"style-src 'self' 'nonce-{nonce}'; img-src 'self' https: data:; "
        "connect-src 'self' https:; frame-src https:; object-src 'none'; base-uri 'none'"
    )
    # One server-set cookie per category: the middleware keeps only the allowed ones.
    response.set_cookie("session", secrets.token_urlsafe(12), httponly=True, samesite="lax")
    response.set_cookie("tb_recent", "1,2", max_age=30 * 86400)
    response.set_cookie("_ga", "GA1.1.1234567890.1700000000", max_age=63072000)
    response.set_cookie("_fbp", "fb.1.1700000000.1234567890", max_age=7776000, httponly=True)
    return response


async def home(request: Request) -> Response:
    lang = _lang(request)
    items = "".join(
        f'<li><a href="/shows/{sid}?lang={lang}">{escape(names[0 if lang == "ko" else 1])}</a></li>'
        for sid, names in SHOWS.items()
    )
    return _page(request, in_locale(DEMO_TEXTS, lang)["home"], f"<ul>{items}</ul>")


async def show(request: Request) -> Response:
    names = SHOWS.get(request.path_params["show_id"])
    if names is None:
        return JSONResponse({"error": "not_found", "detail": "No such show."}, status_code=404)
    lang = _lang(request)
    return _page(
        request,
        names[0 if lang == "ko" else 1],
        '<p><button type="button">예매하기 / Book</button></p>',
    )


async def login(request: Request) -> Response:
    # A one-field urlencoded form, read without python-multipart (not a dependency).
    body = await request.body()
    fields = parse_qs(body[:4096].decode("utf-8", "replace"), max_num_fields=10)
    user = (fields.get("user") or [""])[0].strip()[:64]
    if not user:
        return JSONResponse(
            {"error": "invalid_form", "detail": "Enter a member ID."}, status_code=400
        )
    # Links this browser's consent id to the member, keeps the login record (3 months)
    # and brings the member's earlier choice to a browser that has none yet.
    request.scope["consent"].login(user)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie("session", secrets.token_urlsafe(12), httponly=True, samesite="lax")
    return response


async def whoami(request: Request) -> Response:
    consent = request.scope["consent"]
    return JSONResponse(
        {
            "allowed": sorted(consent.allowed),
            "personalised_ads": consent.personalised_ads,
            "gpc": consent.gpc,
            "subject_id": consent.subject_id,
            "needs_prompt": consent.needs_prompt,
            "cookies_seen_by_app": sorted(request.cookies),
            "query_seen_by_app": str(request.query_params),
        }
    )


def create_app(
    *, store: Any = None, secret_key: str | None = None, policy: Any = None, **options: Any
) -> ConsentMiddleware:
    """The demo site wrapped in :class:`ConsentMiddleware` (SQLite ledger by default;
    ``policy``: another policy than the demo's, e.g. to compare its options)."""
    site = Starlette(
        routes=[
            Route("/", home),
            Route("/shows/{show_id}", show),
            Route("/api/whoami", whoami),
            Route("/login", login, methods=["POST"]),
        ]
    )
    key = secret_key or os.environ.get("CONSENT_MW_SECRET") or secrets.token_urlsafe(32)
    return ConsentMiddleware(
        site,
        policy=demo_policy() if policy is None else policy,
        secret_key=key,
        store=store or os.environ.get("CONSENT_MW_STORE") or "sqlite:///consent-demo.sqlite3",
        **{
            "csp_nonce": "csp_nonce",
            "record_requests": True,
            "record_exclude_paths": ("/_consent/banner",),
            "device_id_cookie": "tb_did",
            **options,
        },
    )


class _Beside:
    """``query`` answers under ``path``; ``site`` answers everything else, lifespan too
    (so the site's ConsentMiddleware still flushes its recorder and closes the ledger)."""

    def __init__(self, site: ASGIApp, query: ASGIApp, path: str) -> None:
        self.site, self.query, self.path = site, query, path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            # ``path`` starts with ``root_path`` (ASGI; uvicorn --root-path, a Mount):
            # match what follows it.
            root: str = scope.get("root_path", "")
            path: str = scope["path"]
            if root and path.startswith(root):
                path = path[len(root) :]
            if path == self.path or path.startswith(self.path + "/"):
                await self.query({**scope, "root_path": root + self.path}, receive, send)
                return
        await self.site(scope, receive, send)


def with_query_api(
    site: ConsentMiddleware, tokens: Iterable[str], *, path: str = QUERY_PATH
) -> ASGIApp:
    """``site`` with the query API over its own ledger mounted at ``path``.

    ``tokens`` are ``name:scope:sha256:<hex>`` lines (``consent-mw token create``);
    ``personalised_ads`` is judged by the site's policy.
    """
    from ..query import create_app as create_query_app

    query = create_query_app(site.store, tokens=tokens, policy=site.config.policy)
    return _Beside(site, query, path.rstrip("/"))
