"""One Django site for the tests of :mod:`consent_mw.django`, configured once per process
(Django's settings can be set only once): its views, templates and URLs, a migrated
SQLite database for the ORM ledger, and :class:`DjangoHarness`, which sends a request
through Django's test ``Client``, its ``AsyncClient``, the WSGI handler
(``get_wsgi_application``, under webtest) or the ASGI one (``get_asgi_application``,
under httpx), and returns the harness's :class:`~support.harness.Result`."""

from __future__ import annotations

import asyncio
import json as jsonlib
import tempfile
import threading
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import django
import httpx
from django.conf import settings

from support.harness import SECRET, Result, _parse_body

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'cgi' is deprecated", DeprecationWarning)
    import webtest

HERE = Path(__file__).resolve().parent
DJANGO_SECRET_KEY = "django-test-secret-0123456789abcdefghijklmnopqrstuvwxyz"
TRACKER = "https://www.googletagmanager.com/gtag/js?id=G-TEST"
PAGE = (
    "<!doctype html><html><head><title>t</title>"
    f'<script async src="{TRACKER}"></script></head>'
    "<body><p>hello</p></body></html>"
)
KINDS = ("client", "async_client", "wsgi", "asgi")
#: the streaming view of each kind: an async iterator is the ASGI handler's body
#: (Django warns when a handler must consume the other kind)
STREAM = {"client": "/stream", "wsgi": "/stream", "async_client": "/astream", "asgi": "/astream"}

_lock = threading.Lock()
_ready = False


def setup() -> None:
    """Configure Django for this process and migrate its database (once)."""
    global _ready
    with _lock:
        if _ready:
            return
        database = Path(tempfile.mkdtemp(prefix="consent-django-")) / "db.sqlite3"
        settings.configure(
            DEBUG=False,
            SECRET_KEY=DJANGO_SECRET_KEY,
            ALLOWED_HOSTS=["*"],
            ROOT_URLCONF="support.django_site",
            USE_TZ=True,
            INSTALLED_APPS=[
                "django.contrib.auth",
                "django.contrib.contenttypes",
                "django.contrib.sessions",
                "consent_mw.django",
            ],
            MIDDLEWARE=[
                "consent_mw.django.ConsentMiddleware",
                "django.contrib.sessions.middleware.SessionMiddleware",
                "django.contrib.auth.middleware.AuthenticationMiddleware",
            ],
            DATABASES={
                "default": {
                    "ENGINE": "django.db.backends.sqlite3",
                    "NAME": str(database),
                    "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 30},
                }
            },
            TEMPLATES=[
                {
                    "BACKEND": "django.template.backends.django.DjangoTemplates",
                    "DIRS": [HERE / "django_templates"],
                    "OPTIONS": {
                        "context_processors": ["django.template.context_processors.request"]
                    },
                },
                {
                    "BACKEND": "django.template.backends.jinja2.Jinja2",
                    "DIRS": [HERE / "jinja2_templates"],
                    "OPTIONS": {"extensions": ["consent_mw.django.jinja2.consent"]},
                },
            ],
            CONSENT_MW={"policy": "gdpr", "store": "memory://"},
        )
        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        _ready = True


def empty_ledger() -> None:
    """Set up, then empty every table of the ORM ledger (a test's fresh store)."""
    setup()
    from django.apps import apps

    for model in apps.get_app_config("consent_mw").get_models():
        model.objects.all().delete()


# -- the site's views ---------------------------------------------------------------------


def _report(request: Any) -> dict[str, Any]:
    return {
        "analytics": request.consent.allows("analytics"),
        "cookies": sorted(request.COOKIES),
        "query": request.GET.urlencode(),
        "meta_is_decision": request.META["consent_mw.consent"] is request.consent,
    }


def _with_cookies(response: Any) -> Any:
    response.set_cookie("_ga", "GA1.1.1.1", max_age=3600)
    response.set_cookie("_fbp", "fb.1.2", httponly=True)
    response.set_cookie("prefs", "dark")
    return response


def home(request: Any) -> Any:
    from django.http import JsonResponse

    return _with_cookies(JsonResponse(_report(request)))


async def ahome(request: Any) -> Any:
    from django.http import JsonResponse

    await asyncio.sleep(0)
    return _with_cookies(JsonResponse(_report(request)))


def untouched(request: Any) -> Any:
    from django.http import HttpResponse

    return HttpResponse("plain", content_type="text/plain")


def page(request: Any) -> Any:
    from django.http import HttpResponse

    return HttpResponse(PAGE)


def _chunks() -> Iterator[bytes]:
    text = PAGE.encode()
    for start in range(0, len(text), 7):
        yield text[start : start + 7]


def stream(request: Any) -> Any:
    from django.http import StreamingHttpResponse

    return StreamingHttpResponse(_chunks(), content_type="text/html; charset=utf-8")


async def astream(request: Any) -> Any:
    from django.http import StreamingHttpResponse

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in _chunks():
            yield chunk

    return StreamingHttpResponse(chunks(), content_type="text/html; charset=utf-8")


def file(request: Any) -> Any:
    import io

    from django.http import FileResponse

    return FileResponse(io.BytesIO(PAGE.encode()), content_type="text/html; charset=utf-8")


def signin(request: Any) -> Any:
    """Signs a user in with django.contrib.auth, as a login view does."""
    from django.contrib.auth import get_user_model, login
    from django.http import HttpResponse

    user, _ = get_user_model().objects.get_or_create(username="member-7")
    login(request, user)
    return HttpResponse(str(user.pk), content_type="text/plain")


def template(request: Any) -> Any:
    from django.shortcuts import render

    return render(request, "consent_page.html", using="django")


def jinja(request: Any) -> Any:
    from django.shortcuts import render

    return render(request, "consent_page.html", using="jinja2")


def _urls() -> list[Any]:
    from django.urls import path

    return [
        path("", home),
        path("async", ahome),
        path("plain", untouched),
        path("page", page),
        path("stream", stream),
        path("astream", astream),
        path("template", template),
        path("file", file),
        path("signin", signin),
        path("jinja", jinja),
    ]


def __getattr__(name: str) -> Any:
    # ROOT_URLCONF is this module; its urlpatterns are made once Django is set up.
    if name == "urlpatterns":
        return _urls()
    raise AttributeError(name)


# -- the harness -------------------------------------------------------------------------


class DjangoHarness:
    """Requests through one of Django's four ways in (:data:`KINDS`)."""

    def __init__(self, kind: str) -> None:
        setup()
        self.kind = kind

    def request(
        self,
        method: str,
        path: str,
        *,
        cookie: str | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Result:
        sent = dict(headers or {})
        if cookie:
            sent["cookie"] = cookie
        body = b"" if json is None else jsonlib.dumps(json).encode()
        if json is not None:
            sent["content-type"] = "application/json"
        call = getattr(self, f"_{self.kind}")
        status, pairs, raw = call(method, path, sent, body)
        ctype = next((v for n, v in pairs if n == "content-type"), None)
        return Result(status, pairs, _parse_body(ctype, raw))

    def get(self, path: str, **kwargs: Any) -> Result:
        return self.request("GET", path, **kwargs)

    def _client(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        from django.test import Client

        client = Client()
        _jar(client, headers)
        ctype = headers.pop("content-type", "application/octet-stream")
        response = client.generic(method, path, body, content_type=ctype, headers=headers)
        return response.status_code, _django_pairs(response), _content(response)

    def _async_client(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        from django.test import AsyncClient

        async def go() -> Any:
            client = AsyncClient()
            _jar(client, headers)
            ctype = headers.pop("content-type", "application/octet-stream")
            response = await client.generic(method, path, body, content_type=ctype, headers=headers)
            if response.streaming and response.is_async:
                content = b"".join([chunk async for chunk in response.streaming_content])
            elif response.streaming:
                content = b"".join(response.streaming_content)
            else:
                content = response.content
            return response.status_code, _django_pairs(response), content

        return asyncio.run(go())

    def _wsgi(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        from django.core.wsgi import get_wsgi_application

        app = webtest.TestApp(get_wsgi_application())
        environ_headers = {"Host": "testserver", **{k.title(): v for k, v in headers.items()}}
        response = app.request(
            path, method=method, headers=environ_headers, body=body, expect_errors=True
        )
        pairs = [(n.lower(), v.strip()) for n, v in response.headerlist]
        return response.status_int, pairs, response.body

    def _asgi(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        from django.core.asgi import get_asgi_application

        async def go() -> Any:
            transport = httpx.ASGITransport(app=get_asgi_application())
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                response = await c.request(method, path, headers=headers, content=body)
            return (
                response.status_code,
                [(n.lower(), v) for n, v in response.headers.multi_items()],
                response.content,
            )

        return asyncio.run(go())


def _jar(client: Any, headers: dict[str, str]) -> None:
    # Through the client's own cookie jar: a Cookie header beside the jar's would be a
    # second header line (which Django's ASGI request joins with ",").
    cookie = headers.pop("cookie", None)
    if cookie:
        for pair in cookie.split(";"):
            name, _, value = pair.strip().partition("=")
            client.cookies[name] = value


def _content(response: Any) -> bytes:
    if response.streaming and response.is_async:

        async def collect() -> bytes:
            return b"".join([chunk async for chunk in response.streaming_content])

        return asyncio.run(collect())
    if response.streaming:
        return b"".join(response.streaming_content)
    return bytes(response.content)


def _django_pairs(response: Any) -> list[tuple[str, str]]:
    """What Django's handlers send: the headers, then a Set-Cookie line per cookie."""
    pairs = [(name.lower(), value) for name, value in response.items()]
    pairs += [("set-cookie", m.OutputString()) for m in response.cookies.values()]
    return pairs


__all__ = [
    "DJANGO_SECRET_KEY",
    "KINDS",
    "STREAM",
    "PAGE",
    "SECRET",
    "TRACKER",
    "DjangoHarness",
    "setup",
]
