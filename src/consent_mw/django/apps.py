"""The ``consent_mw.django`` app: checks, template tags, the ORM ledger, sign-in links."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent_mw.django"
    label = "consent_mw"
    verbose_name = "Consent ledger"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from . import checks  # noqa: F401  (registers the system checks)

        user_logged_in.connect(_signed_in, dispatch_uid="consent_mw.django.login")


def _signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """``django.contrib.auth.login()`` tells the middleware: the consent id is linked to
    the user and their choice made elsewhere carried to this browser (Decision.login)."""
    decision = getattr(request, "consent", None)
    if decision is not None and user is not None and user.pk is not None:
        decision.login(str(user.pk))
