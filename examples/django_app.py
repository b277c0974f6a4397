"""A one-file Django site behind WSGIConsentMiddleware.

Run: ``python examples/django_app.py runserver``; the WSGI app is ``application``.
"""

import os
import secrets
import sys
from pathlib import Path

from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        # Django's own key; this site keeps no sessions, so a fresh one per start will do.
        SECRET_KEY=os.environ.get("DJANGO_SECRET") or secrets.token_urlsafe(50),
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["*"],
        MIDDLEWARE=[],
        WSGI_APPLICATION=f"{__name__}.application",
    )

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

from consent_mw import WSGIConsentMiddleware, secret_from_env  # noqa: E402


def home(request):
    consent = request.META["consent_mw.consent"]
    response = HttpResponse(f"analytics allowed: {consent.allows('analytics')}")
    response.set_cookie("_ga", "GA1.1.1.1")  # dropped unless analytics is allowed
    return response


urlpatterns = [path("", home)]

application = WSGIConsentMiddleware(
    get_wsgi_application(),
    policy=Path(__file__).with_name("policy.toml"),
    secret_key=secret_from_env("CONSENT_MW_SECRET"),
    store=os.environ.get("CONSENT_MW_STORE", "sqlite:///consent-ledger.sqlite3"),
)

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
