"""Embeds in a real browser, behind each adapter: a refused YouTube or Maps embed is a
placeholder sized like it, that names the service and links to the content and its
privacy notice (with JavaScript or without, in Korean or English); "load this once"
loads that one embed and records nothing; "always allow" sends the per-service
choice; the storage keys and cookies of refused services are removed, at load and
after a withdrawal, and those of allowed ones kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from consent_mw.i18n.banner import DEFAULT_TEXTS
from consent_mw.i18n.embeds import EMBED_TEXTS
from support.browser_sites import Running
from support.embeds_site import MAPS, SITE, YOUTUBE, embeds_policy

EN = EMBED_TEXTS["en"]
KO = EMBED_TEXTS["ko"]


def placeholder(visitor: Running, service: str) -> Any:
    return visitor.page.locator(f'.consent-embed[data-embed-service="{service}"]')


def embed_requests(visitor: Running) -> tuple[list[str], list[str]]:
    youtube = [u for u in visitor.requests if u.startswith("https://www.youtube.com/embed/")]
    maps = [u for u in visitor.requests if u.startswith("https://www.google.com/maps/embed")]
    return youtube, maps


def test_placeholders_then_load_once(serve: Callable[..., Running]) -> None:
    visitor = serve(SITE, policy=embeds_policy())
    visitor.consent(functional=False, analytics=True, advertising=False)
    visitor.visit("/")
    page = visitor.page
    youtube, maps = placeholder(visitor, "YouTube"), placeholder(visitor, "Google Maps")
    assert youtube.get_attribute("role") == "group"
    assert youtube.get_attribute("aria-label") == EN["title"].format(service="YouTube")
    assert EN["blocked"].format(service="YouTube") in youtube.inner_text()
    assert (
        youtube.get_by_role("link", name=EN["open"].format(service="YouTube")).get_attribute("href")
        == YOUTUBE
    )
    privacy = youtube.get_by_role("link", name=EN["privacy"].format(service="YouTube"))
    assert privacy.get_attribute("href") == "https://policies.google.com/privacy"
    assert (
        maps.get_by_role("link", name=EN["open"].format(service="Google Maps")).get_attribute(
            "href"
        )
        == MAPS
    )
    # The size the iframes would have had: 560 by 315, and the page's width by 450.
    box = youtube.bounding_box()
    assert box is not None and (round(box["width"]), round(box["height"])) == (560, 315)
    map_box = maps.bounding_box()
    body = page.locator("body").bounding_box()
    assert map_box is not None and body is not None
    assert round(map_box["height"]) == 450 and round(map_box["width"]) == round(body["width"])
    assert page.locator("#yt").is_hidden() and page.locator("#map").is_hidden()
    assert embed_requests(visitor) == ([], [])

    youtube.get_by_role("button", name=EN["once"]).click()
    page.locator("#yt").wait_for(state="visible")
    page.wait_for_load_state("networkidle")
    assert page.locator("#yt").get_attribute("src") == YOUTUBE
    assert youtube.count() == 0
    assert maps.count() == 1 and page.locator("#map").is_hidden()
    loaded, not_loaded = embed_requests(visitor)
    assert loaded == [YOUTUBE] and not_loaded == []
    assert visitor.store.all_records() == []  # once: nothing recorded

    visitor.requests.clear()
    visitor.visit("/")  # only once: the next page holds it again
    assert placeholder(visitor, "YouTube").count() == 1
    assert embed_requests(visitor) == ([], [])


def test_always_sends_the_per_service_choice(serve: Callable[..., Running]) -> None:
    visitor = serve(SITE, policy=embeds_policy())
    visitor.consent(functional=False, analytics=True, advertising=False)
    visitor.visit("/")
    page = visitor.page
    page.wait_for_function("() => !!(window.ConsentBanner && window.ConsentBanner.state)")
    button = placeholder(visitor, "Google Maps").get_by_role(
        "button", name=EN["always"].format(service="Google Maps")
    )
    with page.expect_request(
        lambda r: r.method == "POST" and r.url == visitor.base + "/_consent"
    ) as sent:
        button.click()
    assert sent.value.post_data_json == {
        "choices": {"functional": {"Google Maps": True}, "analytics": True, "advertising": False}
    }


def test_without_javascript_in_korean(browser: Any, serve: Callable[..., Running]) -> None:
    visitor = serve(SITE, policy=embeds_policy())
    context = browser.new_context(java_script_enabled=False, locale="ko-KR")
    try:
        page = context.new_page()
        page.goto(visitor.base + "/")
        youtube = page.locator('.consent-embed[data-embed-service="YouTube"]')
        assert youtube.get_attribute("aria-label") == KO["title"].format(service="YouTube")
        assert KO["blocked"].format(service="YouTube") in youtube.inner_text()
        link = youtube.get_by_role("link", name=KO["open"].format(service="YouTube"))
        assert link.get_attribute("href") == YOUTUBE
        assert youtube.get_by_role("button").count() == 0  # buttons need the script
        box = youtube.bounding_box()
        assert box is not None and (round(box["width"]), round(box["height"])) == (560, 315)
        assert page.locator("#yt").is_hidden()
    finally:
        context.close()


def _storage(visitor: Running) -> dict[str, Any]:
    return dict(
        visitor.page.evaluate(
            "() => ({local: Object.keys(localStorage).sort(),"
            " session: Object.keys(sessionStorage).sort(), cookie: document.cookie})"
        )
    )


def test_refused_services_storage_is_removed_at_load(serve: Callable[..., Running]) -> None:
    visitor = serve(SITE, policy=embeds_policy())
    visitor.consent(functional=True, analytics=False, advertising=False)
    visitor.visit("/storage")
    visitor.page.wait_for_function("() => !!window.ConsentEmbeds")
    found = _storage(visitor)
    # analytics refused: its keys and cookie go; YouTube's (functional) and the site's stay
    assert found["local"] == ["site-theme", "yt-remote-device-id"]
    assert found["session"] == ["ytidb::LAST_RESULT_ENTRY_KEY"]
    assert "amp_session" not in found["cookie"]


def test_storage_is_removed_after_withdrawal(serve: Callable[..., Running]) -> None:
    visitor = serve(SITE, policy=embeds_policy())
    visitor.consent(functional=True, analytics=True, advertising=False)
    visitor.visit("/storage")
    page = visitor.page
    page.wait_for_function("() => !!(window.ConsentBanner && window.ConsentBanner.state)")
    before = _storage(visitor)
    assert before["local"] == ["amp_device", "site-theme", "yt-remote-device-id"]
    assert before["session"] == ["ytidb::LAST_RESULT_ENTRY_KEY"]
    assert "amp_session=4" in before["cookie"]

    texts = DEFAULT_TEXTS["en"]
    page.locator("button.cmw-re").click()
    with page.expect_response(lambda r: r.request.method == "DELETE"):
        page.locator(".cmw-l1").get_by_role("button", name=texts["withdraw"], exact=True).click()
    page.wait_for_function("() => localStorage.getItem('amp_device') === null")
    after = _storage(visitor)
    assert after["local"] == ["site-theme"]
    assert after["session"] == []
    assert "amp_session" not in after["cookie"]
