"""Settings of the example site: the consent middleware in MIDDLEWARE, the app in
INSTALLED_APPS (checks, template tags, the ORM ledger), the policy in CONSENT_MW.

``DJANGO_SECRET_KEY`` must hold a long random secret: consent cookies are signed with
a key derived from it, and the middleware refuses a short or placeholder one at start-up.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "consent_mw.django",
    "shop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside the session, CSRF and the views: it sees every Set-Cookie they add.
    "consent_mw.django.ConsentMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"
ASGI_APPLICATION = "shop.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_DATABASE", str(BASE_DIR / "db.sqlite3")),
        # Writers wait their turn instead of failing (see consent_mw.django.store).
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
    }
}

# The policy names "session" and "csrftoken" as strictly necessary cookies.
SESSION_COOKIE_NAME = "session"

CONSENT_MW = {
    "policy": BASE_DIR.parent / "policy.toml",
    # The ledger is this site's own database ("django://default", the default with
    # consent_mw.django installed); the signing key is derived from SECRET_KEY.
    "country": "KR",
}

USE_TZ = True
LANGUAGE_CODE = "en"
