"""Consent per service in a real browser: the banner's second layer (switches per
service, by keyboard, with their names and descriptions), the no-JavaScript
preferences page, and enforcement per service on the server and in the HTML through
both adapters (Set-Cookie, tags, the browser's CSP)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from consent_mw.demo import demo_policy
from support.browser_sites import Running, Site, page
from support.services import POLICY_DICT

pytestmark = pytest.mark.browser

EN = demo_policy().ui_texts("en")


def tab_until(demo: Any, data_id: str, limit: int = 40) -> None:
    for _ in range(limit):
        demo.page.keyboard.press("Tab")
        if demo.focused().get("id") == data_id:
            return
    raise AssertionError(f"Tab never reached {data_id!r}; focus is on {demo.focused()}")


def test_banner_second_layer_per_service_by_keyboard(demo_page: Any) -> None:
    demo = demo_page()
    p = demo.page
    demo.goto()
    demo.layer1.wait_for()
    demo.button(EN["preferences"]).click()
    demo.layer2.wait_for()
    demo.layer2.locator(".cmw-svc").first.wait_for()

    # Each service is a switch named by its label and described by its details.
    meta = demo.layer2.get_by_role("switch", name="Meta", exact=True)
    assert meta.get_attribute("data-id") == "advertising/Meta"
    described = meta.get_attribute("aria-describedby")
    details = p.locator(f"#{described}").inner_text()
    assert "Facebook and Instagram" in details and "_fbp" in details and "6 months" in details
    group = demo.layer2.get_by_role("group", name="Customised advertising · Services")
    assert group.get_by_role("switch").count() == 2
    # the category's own details came with the chunk
    text = demo.layer2.inner_text()
    assert "Processed by" in text and "Meta Platforms, Inc." in text

    # Keyboard: Tab reaches the service switches in order; Space toggles them.
    tab_until(demo, "advertising")
    p.keyboard.press("Tab")
    assert demo.focused()["id"] == "advertising/Meta"
    p.keyboard.press("Space")
    assert meta.is_checked() and not demo.switch("advertising").is_checked()
    p.keyboard.press("Tab")
    assert (demo.focused()["id"], demo.focused()["checked"]) == ("advertising/Kakao", False)
    # The category's switch turns all its services on, and off again.
    demo.switch("advertising").check()
    assert demo.switch("advertising/Kakao").is_checked()
    demo.switch("advertising").uncheck()
    assert not meta.is_checked()
    meta.check()

    with demo.expect_consent_call("POST") as call:
        demo.button(EN["save"], layer=2).click()
    body = call.value.request.post_data_json
    assert body["choices"]["advertising"] == {"Meta": True, "Kakao": False}
    assert body["choices"]["analytics"] is False
    demo.wait_for_allowed("advertising/Meta")

    # Activated on the page at once: Meta's tag, not Kakao's.
    p.wait_for_function("() => (window.__fake || {}).fbevents_js > 0")
    assert "kp_js" not in demo.fakes()
    consent = demo.consent_cookie()
    assert consent.services == {"advertising": {"Meta": True, "Kakao": False}}
    # Google's Consent Mode types stay denied: Google is no service allowed.
    assert demo.consent_updates()[-1]["ad_storage"] == "denied"

    # The next page comes from the server with Meta's tags live and Kakao's inert.
    demo.reload()
    assert "connect.facebook.net" in demo.net.hosts()
    assert "t1.daumcdn.net" not in demo.net.hosts()
    assert p.locator('script[data-consent-service="Kakao"]').count() >= 1
    assert p.locator('[data-consent-service="Meta"]').count() == 0
    assert "_fbp" in demo.cookies() and not any(c.startswith("_kp_") for c in demo.cookies())

    # Reopened: the switches show the choice.
    demo.reopen.click()
    demo.button(EN["preferences"]).click()
    demo.layer2.locator(".cmw-svc").first.wait_for()
    assert meta.is_checked()
    assert not demo.switch("advertising/Kakao").is_checked()
    assert not demo.switch("advertising").is_checked()


def test_no_js_preferences_page_per_service(new_page: Callable[..., Any], demo_server: Any) -> None:
    p = new_page(java_script_enabled=False)
    p.goto(demo_server.url("/_consent/preferences?locale=en"))
    meta = p.get_by_role("checkbox", name="Meta", exact=True)
    assert not meta.is_checked()
    described = p.locator(f"#{meta.get_attribute('aria-describedby')}").inner_text()
    assert "Facebook and Instagram" in described and "_fbp" in described
    # keyboard: focus the box, Space ticks it, Enter on the button submits
    meta.focus()
    p.keyboard.press("Space")
    assert meta.is_checked()
    p.get_by_role("button", name="Save my choices").focus()
    with p.expect_navigation():
        p.keyboard.press("Enter")
    assert p.get_by_role("status").inner_text() == "Your choice was saved."
    assert p.get_by_role("checkbox", name="Meta", exact=True).is_checked()
    assert not p.get_by_role("checkbox", name="Kakao", exact=True).is_checked()
    cookies = {c["name"]: c["value"] for c in p.context.cookies(demo_server.base_url)}
    consent = demo_server.codec.loads(cookies["consent_mw"])
    assert consent.services == {"advertising": {"Meta": True, "Kakao": False}}
    assert consent.source == "form"
    # The site's pages now carry Meta's tags and keep Kakao's inert.
    p.goto(demo_server.url("/?lang=en"))
    html = p.content()
    assert 'data-consent-category="advertising" data-consent-service="Kakao"' in html
    assert "connect.facebook.net/en_US/fbevents.js" in html
    assert 'data-consent-service="Meta"' not in html


META_AND_TIKTOK = (
    '<script src="https://connect.facebook.net/en_US/fbevents.js"></script>'
    '<script src="https://analytics.tiktok.com/i18n/pixel/events.js?sdkid=T1"></script>'
    '<img src="https://www.facebook.com/tr?id=1&ev=PageView" alt="">'
)
RUNTIME = """<script>
  ['https://connect.facebook.net/en_US/late.js',
   'https://analytics.tiktok.com/i18n/pixel/late.js'].forEach(function (src) {
    var s = document.createElement('script'); s.src = src; document.head.appendChild(s);
  });
</script>"""
SERVICES_POLICY = {
    **POLICY_DICT,
    "categories": [
        *POLICY_DICT["categories"][:2],
        {**POLICY_DICT["categories"][2], "cookies": [{"name": "_fbp", "owner": "Meta"}]},
    ],
}


def services_site() -> Site:
    cookies = [("set-cookie", "_fbp=fb.1.1; Path=/"), ("set-cookie", "_ttp=tt.1; Path=/")]
    return Site(
        {
            "/tags": ("text/html; charset=utf-8", page(META_AND_TIKTOK), cookies),
            "/late": ("text/html; charset=utf-8", page(RUNTIME), []),
        }
    )


def test_enforcement_per_service_in_html_and_set_cookie(serve: Callable[..., Running]) -> None:
    site = serve(services_site(), policy=SERVICES_POLICY)
    site.consent(advertising={"Meta": True})  # type: ignore[arg-type]
    site.visit("/tags")
    hosts = {u.split("/")[2] for u in site.requests}
    assert {"connect.facebook.net", "www.facebook.com"} <= hosts
    assert "analytics.tiktok.com" not in hosts
    names = {c["name"] for c in site.context.cookies(site.base)}
    assert "_fbp" in names and "_ttp" not in names
    # the control: TikTok allowed instead
    other = serve(services_site(), policy=SERVICES_POLICY)
    other.consent(advertising={"TikTok": True})  # type: ignore[arg-type]
    other.visit("/tags")
    hosts = {u.split("/")[2] for u in other.requests}
    assert "analytics.tiktok.com" in hosts and "connect.facebook.net" not in hosts
    names = {c["name"] for c in other.context.cookies(other.base)}
    assert "_ttp" in names and "_fbp" not in names


def test_the_browser_policy_follows_the_service(serve: Callable[..., Running]) -> None:
    site = serve(services_site(), policy=SERVICES_POLICY, csp="enforce", rewrite_html=False)
    site.consent(advertising={"Meta": True})  # type: ignore[arg-type]
    site.visit("/late")
    reached = " ".join(site.requests)
    assert "connect.facebook.net/en_US/late.js" in reached
    assert "tiktok" not in reached
