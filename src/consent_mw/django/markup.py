"""What the template helpers write, shared by the Django tags (``{% load consent %}``)
and the Jinja2 extension.

A tag marked with a category is written inert, in the form the HTML rewriter gives a
refused tracker (``<script type="text/plain" data-consent-category="analytics"
data-consent-src="…">``, ``<iframe data-consent-category=… data-consent-src=…>``): the
banner activates it, in document order, once the visitor allows every category it
names, and on every later page at load. Written the same for every visitor, so a page
with marked tags stays as cacheable as the view made it.
"""

from __future__ import annotations

from html import escape
from typing import Any

from django.utils import translation

from ..notice import NoticeLinks, render_notice
from . import conf

__all__ = ["allows", "element", "notice", "notice_link", "preferences_link", "script"]

#: the elements that fetch through ``src`` and that a template may mark
ELEMENTS = frozenset(("iframe", "img", "video", "audio", "embed", "source"))
_VOID = frozenset(("img", "embed", "source"))


def allows(request: Any, category: str) -> bool:
    """Whether the request's decision allows ``category`` (False without a decision:
    a request the middleware did not see is treated as undecided)."""
    _check_categories(category)
    decision = getattr(request, "consent", None)
    return bool(decision is not None and decision.allows(category))


def _check_categories(categories: str) -> list[str]:
    # A typo in a template must fail where it is written, not keep a tag off forever.
    known = {c.id for c in conf.site().engine.policy.categories}
    names = categories.replace(",", " ").split()
    unknown = [name for name in names if name not in known]
    if not names or unknown:
        raise ValueError(
            f"Unknown consent category {categories!r}; the policy has {', '.join(sorted(known))}."
        )
    return names


def _attrs(attrs: dict[str, Any]) -> str:
    out = []
    for name, value in attrs.items():
        name = name.replace("_", "-")
        if value is True:
            out.append(f" {escape(name)}")
        elif value is not None and value is not False:
            out.append(f' {escape(name)}="{escape(str(value))}"')
    return "".join(out)


def script(category: str, src: str | None = None, content: str = "", **attrs: Any) -> str:
    """A script that runs once ``category`` (one or several, space-separated) is
    allowed: external with ``src``, else ``content`` inline (written as it is)."""
    names = " ".join(_check_categories(category))
    original_type = attrs.pop("type", None)
    marked = {"type": "text/plain", "data-consent-category": names}
    if original_type:
        marked["data-consent-type"] = original_type
    if src is not None:
        marked["data-consent-src"] = src
    text = content.replace("</script", "<\\/script") if content else ""
    return f"<script{_attrs({**marked, **attrs})}>{text}</script>"


def element(tag: str, category: str, src: str, **attrs: Any) -> str:
    """An iframe, pixel or media element that loads once ``category`` is allowed."""
    if tag not in ELEMENTS:
        raise ValueError(f"consent elements are {', '.join(sorted(ELEMENTS))}, not {tag!r}.")
    names = " ".join(_check_categories(category))
    marked = {"data-consent-category": names, "data-consent-src": src, **attrs}
    end = "" if tag in _VOID else f"</{tag}>"
    return f"<{tag}{_attrs(marked)}>{end}"


def _locale(request: Any) -> str:
    """The page's language as Django chose it (LocaleMiddleware), else the browser's,
    as the consent endpoints choose it, else the site's."""
    policy = conf.site().engine.policy
    wanted = getattr(request, "LANGUAGE_CODE", None)
    header = request.META.get("HTTP_ACCEPT_LANGUAGE") if request is not None else None
    if wanted is None and not header:
        wanted = translation.get_language()
    return policy.pick_locale(wanted, header)


def preferences_link(request: Any, text: str | None = None, **attrs: Any) -> str:
    """A link to the visitor's own choices and records (the no-JavaScript page, which
    also withdraws them); its text is the banner's own in the visitor's locale."""
    site = conf.site()
    locale = _locale(request)
    label = text if text is not None else site.engine.policy.ui_texts(locale)["reopen"]
    href = f"{site.config.prefix}/records?locale={locale}"
    return (
        f"<a{_attrs({'href': href, 'class': 'consent-preferences', **attrs})}>{escape(label)}</a>"
    )


def notice_link(request: Any, text: str | None = None, **attrs: Any) -> str:
    """A link to the privacy notice rendered from the policy."""
    site = conf.site()
    locale = _locale(request)
    label = text if text is not None else site.engine.policy.ui_texts(locale)["policy_link"]
    href = f"{site.config.prefix}/policy?locale={locale}"
    return f"<a{_attrs({'href': href, 'class': 'consent-notice', **attrs})}>{escape(label)}</a>"


def notice(request: Any) -> str:
    """The privacy notice itself, to embed in a page of the site: the ``<main>`` of the
    document ``/_consent/policy`` serves (headings, sections and tables, no script)."""
    site = conf.site()
    links = NoticeLinks.from_prefix(site.config.prefix)
    document = render_notice(site.engine.policy, _locale(request), fmt="html", links=links)
    inner = document.partition("<main>")[2].rpartition("</main>")[0]
    return f'<div class="consent-notice">{inner}</div>'
