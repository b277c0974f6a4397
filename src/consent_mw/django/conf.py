"""``settings.CONSENT_MW`` read into one shared :class:`~consent_mw.adapter.Adapter`.

::

    CONSENT_MW = {
        "policy": BASE_DIR / "policy.toml",   # required, as the middlewares' `policy`
        "store": "django://default",          # the default with this app installed
        # "secret_key": …                     # default: derived from SECRET_KEY
        # any other option of ConsentMiddleware: "csp": "enforce", "prefix": …
    }

Built once per process on the first request (or check), rebuilt when a test changes
``CONSENT_MW``, ``SECRET_KEY`` or ``SECRET_KEY_FALLBACKS`` with ``override_settings``:
every ``Client`` and every middleware instance shares it, so the ledger and the memos
are the process's, as with the WSGI and ASGI middlewares.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.signals import setting_changed
from django.utils.crypto import salted_hmac

from ..adapter import Adapter
from ..core.keys import check_key
from ..exceptions import ConfigError
from ..stores.base import BaseStore

__all__ = ["SETTING", "DjangoSite", "derived_keys", "site", "store_of"]

SETTING = "CONSENT_MW"
#: the salt of the key derived from SECRET_KEY: a key of its own, never SECRET_KEY itself,
#: so a consent cookie's signature tells nothing of Django's sessions or tokens and back
_KEY_SALT = "consent_mw.django.signing-key"
_DJANGO_STORE = "django://"
_RESETS = frozenset((SETTING, "SECRET_KEY", "SECRET_KEY_FALLBACKS", "INSTALLED_APPS"))


class DjangoSite(Adapter[None]):
    """The middleware's state for the process: config, engines, ledger, recorder. The
    Django middleware (see :mod:`.middleware`) is the protocol glue around it."""

    # Django's ASGI handler refuses the lifespan protocol: the recorder's queue is
    # flushed when the process exits.
    _has_lifespan = False

    def nonce(self, request: Any) -> str | None:
        return self._nonce(request, _request_nonce)


def _request_nonce(request: Any, key: str) -> object:
    # django-csp and Django 6's CSP support put the nonce on the request itself.
    value = getattr(request, key, None)
    return value if value is not None else request.META.get(key)


def derived_keys() -> list[str]:
    """The signing keys derived from ``SECRET_KEY`` then each of ``SECRET_KEY_FALLBACKS``
    (Django's own rotation: the first signs, all verify)."""
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())]
    out = []
    for index, key in enumerate(keys):
        what = (
            "settings.SECRET_KEY" if index == 0 else f"settings.SECRET_KEY_FALLBACKS[{index - 1}]"
        )
        check_key(key, what)
        out.append(
            salted_hmac(_KEY_SALT, "consent cookie", secret=key, algorithm="sha256").hexdigest()
        )
    return out


def store_of(source: object) -> BaseStore | str | None:
    """The ``store`` option: ``django://alias`` is the ORM store on that database."""
    if isinstance(source, str) and source.startswith(_DJANGO_STORE):
        from .store import DjangoStore

        return DjangoStore(source[len(_DJANGO_STORE) :] or "default")
    if source is None or isinstance(source, (str, BaseStore)):
        return source
    raise ConfigError(f"CONSENT_MW['store'] must be a store or a URL, not {source!r}.")


def options() -> dict[str, Any]:
    """``settings.CONSENT_MW`` as the middlewares' keyword arguments."""
    given = getattr(settings, SETTING, None)
    if not isinstance(given, Mapping) or "policy" not in given:
        raise ConfigError(
            "settings.CONSENT_MW must be a dict with at least a 'policy' (a TOML path, a"
            " preset name such as 'gdpr', or a dict); see consent_mw.django.conf."
        )
    kwargs = dict(given)
    if kwargs.get("secret_key") is None:
        kwargs["secret_key"] = derived_keys()
    default = _DJANGO_STORE if apps.is_installed("consent_mw.django") else None
    kwargs["store"] = store_of(kwargs.get("store", default))
    return kwargs


_site: DjangoSite | None = None
_lock = threading.Lock()


def site() -> DjangoSite:
    """The process's site, built from the settings on first use."""
    global _site
    built = _site
    if built is None:
        with _lock:
            built = _site
            if built is None:
                built = _site = DjangoSite(None, **options())
    return built


def _reset(*, setting: str, **_: object) -> None:
    global _site
    if setting in _RESETS:
        with _lock:
            old, _site = _site, None
        if old is not None:
            old.runtime.close()


setting_changed.connect(_reset, dispatch_uid="consent_mw.django.conf")
