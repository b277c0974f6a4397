"""The consent template helpers: the Django tags (``{% load consent %}``) and the Jinja2
extension write the same markup, the form the banner activates."""

from __future__ import annotations

from typing import Any

import pytest

from support.django_site import DjangoHarness, setup

setup()

from django.template import engines  # noqa: E402
from django.test import RequestFactory, override_settings  # noqa: E402

from consent_mw.django import ConsentMiddleware, markup  # noqa: E402


def rendered(path: str, cookie: str | None = None) -> str:
    body = DjangoHarness("client").get(path, cookie=cookie).body
    assert isinstance(body, str)
    return body.split('<div class="consent-notice">')[0]


def test_django_tags_and_jinja2_write_the_same_markup() -> None:
    django_page, jinja_page = rendered("/template"), rendered("/jinja")
    assert django_page == jinja_page
    assert (
        '<script type="text/plain" data-consent-category="analytics" data-consent-src='
        '"https://www.googletagmanager.com/gtag/js?id=G-T" async></script>' in django_page
    )
    assert (
        '<script type="text/plain" data-consent-category="analytics">'
        "window.marked = 'inline';</script>" in django_page
    )
    assert (
        '<iframe data-consent-category="advertising" data-consent-src='
        '"https://www.youtube.com/embed/x" title="video"></iframe>' in django_page
    )
    assert '<img data-consent-category="advertising" data-consent-src=' in django_page
    assert (
        '<a href="/_consent/records?locale=en" class="consent-preferences">Privacy choices</a>'
        in django_page
    )
    assert (
        '<a href="/_consent/policy?locale=en" class="consent-notice">Our notice</a>' in django_page
    )


@pytest.mark.parametrize("path", ["/template", "/jinja"])
def test_the_category_test_follows_the_decision(path: str) -> None:
    assert "analytics off" in rendered(path)
    post = DjangoHarness("client").request(
        "POST", "/_consent", json={"action": "accept_all"}, headers={"origin": "http://testserver"}
    )
    [cookie] = [c for c in post.set_cookies if c.name == "consent_mw"]
    page = rendered(path, cookie=f"consent_mw={cookie.value}")
    assert "analytics on" in page
    # Marked tags are written inert for everyone: the banner activates them.
    assert 'type="text/plain" data-consent-category="analytics"' in page


def test_the_notice_is_embedded_without_a_script() -> None:
    page = DjangoHarness("client").get("/template").body
    notice = page.split('<div class="consent-notice">')[1]
    assert '<section aria-labelledby="cookies">' in notice
    assert "<script" not in notice
    assert "<html" not in notice and "<style" not in notice


def test_links_follow_the_prefix_and_the_locale() -> None:
    setting = {"policy": "pipa", "store": "memory://", "prefix": "/privacy"}
    with override_settings(CONSENT_MW=setting):
        request = RequestFactory().get("/", headers={"accept-language": "ko-KR,ko;q=0.9"})
        link = markup.preferences_link(request)
        assert link.startswith('<a href="/privacy/records?locale=ko"')
        assert markup.notice_link(request, "x", id="n") == (
            '<a href="/privacy/policy?locale=ko" class="consent-notice" id="n">x</a>'
        )


def render(source: str, request: Any = None, using: str = "django") -> str:
    return engines[using].from_string(source).render({"request": request})


@pytest.mark.parametrize(
    ("source", "using"),
    [
        ('{% load consent %}{% consent_script "analytic" src="x" %}', "django"),
        ('{% load consent %}{% if request|consent_allows:"ads" %}{% endif %}', "django"),
        ('{{ consent_element("iframe", "nope", src="x") }}', "jinja2"),
        ('{{ consent_element("script", "analytics", src="x") }}', "jinja2"),
    ],
)
def test_a_typo_fails_where_it_is_written(source: str, using: str) -> None:
    with pytest.raises(ValueError, match="consent"):
        render(source, RequestFactory().get("/"), using)


def test_values_are_escaped_and_an_inline_script_cannot_end_early() -> None:
    out = render(
        '{% load consent %}{% consent_script "analytics" src=url %}'
        '{% consent_inline "analytics" %}{{ code|safe }}{% endconsent_inline %}'.replace(
            "url", '"https://t.example/a?b=1&c=\\"x\\""'
        ).replace("{{ code|safe }}", "a = '</script><b>';"),
    )
    assert 'data-consent-src="https://t.example/a?b=1&amp;c=&quot;x&quot;"' in out
    assert "a = '<\\/script><b>';</script>" in out


def test_several_categories_and_the_original_type_are_kept() -> None:
    out = markup.script("analytics advertising", src="/m.js", type="module")
    assert out == (
        '<script type="text/plain" data-consent-category="analytics advertising"'
        ' data-consent-type="module" data-consent-src="/m.js"></script>'
    )


def test_a_request_the_middleware_did_not_see_allows_nothing() -> None:
    assert markup.allows(RequestFactory().get("/"), "analytics") is False


def test_with_a_request_factory_the_middleware_sets_request_consent() -> None:
    request = RequestFactory().get("/?gclid=1", headers={"cookie": "_ga=1"})
    seen: dict[str, Any] = {}

    def view(request: Any) -> Any:
        from django.http import HttpResponse

        seen.update(consent=request.consent, cookies=dict(request.COOKIES), get=dict(request.GET))
        return HttpResponse("ok", content_type="text/plain")

    ConsentMiddleware(view)(request)
    assert seen["consent"].allows("analytics") is False
    assert seen["cookies"] == {} and seen["get"] == {}
