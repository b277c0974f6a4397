"""Django integration: :class:`ConsentMiddleware` for ``MIDDLEWARE``, configured by
``settings.CONSENT_MW``; the app ``consent_mw.django`` in ``INSTALLED_APPS`` adds the
system checks, the ``consent`` template tags, the ORM ledger and its migrations.

::

    INSTALLED_APPS = [..., "consent_mw.django"]
    MIDDLEWARE = [..., "consent_mw.django.ConsentMiddleware", ...]
    CONSENT_MW = {"policy": BASE_DIR / "policy.toml"}

Jinja2 templates: the extension ``consent_mw.django.jinja2.consent``.
"""

from __future__ import annotations

from .middleware import ConsentMiddleware

__all__ = ["ConsentMiddleware"]
