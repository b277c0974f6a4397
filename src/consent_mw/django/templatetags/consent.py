"""``{% load consent %}``: consent in Django templates.

::

    {% if request|consent_allows:"analytics" %}…{% endif %}
    {% consent_script "analytics" src="https://www.googletagmanager.com/gtag/js?id=G-1" %}
    {% consent_inline "analytics" %}gtag('config', 'G-1');{% endconsent_inline %}
    {% consent_element "iframe" "advertising" src="https://www.youtube.com/embed/x" %}
    {% consent_preferences_link %}  {% consent_notice_link %}  {% consent_notice %}

Marked tags are written inert and activated by the banner (see
:mod:`consent_mw.django.markup`). ``request`` comes from the ``request`` context
processor (``django.template.context_processors.request``).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from .. import markup

register = template.Library()


@register.filter
def consent_allows(request: Any, category: str) -> bool:
    return markup.allows(request, category)


@register.simple_tag
def consent_script(category: str, src: str | None = None, **attrs: Any) -> SafeString:
    return mark_safe(markup.script(category, src, **attrs))  # noqa: S308 - escaped in markup


@register.simple_block_tag
def consent_inline(content: str, category: str, **attrs: Any) -> SafeString:
    # The block is the script's text as the template rendered it (autoescaped variables).
    return mark_safe(markup.script(category, None, content, **attrs))  # noqa: S308


@register.simple_tag
def consent_element(tag: str, category: str, src: str, **attrs: Any) -> SafeString:
    return mark_safe(markup.element(tag, category, src, **attrs))  # noqa: S308


@register.simple_tag(takes_context=True)
def consent_preferences_link(context: Any, text: str | None = None, **attrs: Any) -> SafeString:
    return mark_safe(markup.preferences_link(context.get("request"), text, **attrs))  # noqa: S308


@register.simple_tag(takes_context=True)
def consent_notice_link(context: Any, text: str | None = None, **attrs: Any) -> SafeString:
    return mark_safe(markup.notice_link(context.get("request"), text, **attrs))  # noqa: S308


@register.simple_tag(takes_context=True)
def consent_notice(context: Any) -> SafeString:
    return mark_safe(markup.notice(context.get("request")))  # noqa: S308
