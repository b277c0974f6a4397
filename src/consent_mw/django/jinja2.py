"""Consent in Jinja2 templates: the extension ``consent_mw.django.jinja2.consent``.

::

    TEMPLATES = [{"BACKEND": "django.template.backends.jinja2.Jinja2",
                  "OPTIONS": {"extensions": ["consent_mw.django.jinja2.consent"]}}]

    {% if consent_allows("analytics") %}…{% endif %}
    {{ consent_script("analytics", src="https://www.googletagmanager.com/gtag/js?id=G-1") }}
    {{ consent_script("analytics", content="gtag('config', 'G-1');") }}
    {{ consent_element("iframe", "advertising", src="https://www.youtube.com/embed/x") }}
    {{ consent_preferences_link() }}  {{ consent_notice_link() }}  {{ consent_notice() }}

The same markup as the Django tags (:mod:`consent_mw.django.markup`); the request is
the template context's ``request``, which Django's Jinja2 backend provides.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, pass_context
from jinja2.ext import Extension
from markupsafe import Markup

from . import markup

__all__ = ["ConsentExtension", "consent"]


@pass_context
def _allows(context: Any, category: str) -> bool:
    return markup.allows(context.get("request"), category)


def _script(category: str, src: str | None = None, content: str = "", **attrs: Any) -> Markup:
    return Markup(markup.script(category, src, str(content), **attrs))  # noqa: S704


def _element(tag: str, category: str, src: str, **attrs: Any) -> Markup:
    return Markup(markup.element(tag, category, src, **attrs))  # noqa: S704


@pass_context
def _preferences_link(context: Any, text: str | None = None, **attrs: Any) -> Markup:
    return Markup(markup.preferences_link(context.get("request"), text, **attrs))  # noqa: S704


@pass_context
def _notice_link(context: Any, text: str | None = None, **attrs: Any) -> Markup:
    return Markup(markup.notice_link(context.get("request"), text, **attrs))  # noqa: S704


@pass_context
def _notice(context: Any) -> Markup:
    return Markup(markup.notice(context.get("request")))  # noqa: S704


class ConsentExtension(Extension):
    """Adds the ``consent_*`` functions to the environment's globals."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals.update(
            consent_allows=_allows,
            consent_script=_script,
            consent_element=_element,
            consent_preferences_link=_preferences_link,
            consent_notice_link=_notice_link,
            consent_notice=_notice,
        )


#: the name to list in ``extensions``
consent = ConsentExtension
