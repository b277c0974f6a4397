"""The banner with a keyboard only, on small and zoomed screens, and its screenshots."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from consent_mw.demo import demo_policy

from .conftest import HEADLESS_USER_AGENT

pytestmark = pytest.mark.browser

ANALYTICS_ONLY = {"functional": False, "analytics": True, "advertising": False, "marketing": False}

TEXTS = {locale: demo_policy().ui_texts(locale) for locale in ("ko", "en")}
EN = TEXTS["en"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# -- keyboard ------------------------------------------------------------------------


def tab_to(demo: Any, text: str, *, limit: int = 40, shift: bool = False) -> None:
    """Press Tab (Shift+Tab) until the focused element's text is ``text``."""
    for _ in range(limit):
        demo.page.keyboard.press("Shift+Tab" if shift else "Tab")
        if demo.focused().get("text") == text:
            return
    raise AssertionError(f"Tab never reached {text!r}; focus is on {demo.focused()}")


def test_keyboard_accept_all_with_enter(demo_page: Any) -> None:
    demo = demo_page()
    demo.goto()
    demo.layer1.wait_for()
    # The first layer takes the focus, so a screen reader announces it.
    assert "cmw-l1" in demo.focused()["cls"]
    demo.page.keyboard.press("Tab")
    assert demo.focused()["text"] == EN["accept_all"]
    with demo.expect_consent_call("POST") as call:
        demo.page.keyboard.press("Enter")
    assert call.value.request.post_data_json == {"action": "accept_all"}
    demo.wait_for_allowed("functional", "analytics", "advertising", "marketing")
    assert demo.layer1.is_hidden()


def test_headless_chromium_as_it_comes_gets_no_banner(demo_page: Any) -> None:
    demo = demo_page(user_agent=HEADLESS_USER_AGENT)
    demo.goto()
    assert demo.state()["show_banner"] is False
    assert demo.layer1.count() == 0 or demo.layer1.is_hidden()


def test_keyboard_reject_all_with_space(demo_page: Any) -> None:
    demo = demo_page()
    demo.goto()
    demo.layer1.wait_for()
    demo.page.keyboard.press("Tab")
    demo.page.keyboard.press("Tab")
    assert demo.focused()["text"] == EN["reject_all"]
    with demo.expect_consent_call("POST") as call:
        demo.page.keyboard.press("Space")
    assert call.value.request.post_data_json == {"action": "reject_all"}
    demo.wait_for_allowed()
    assert demo.layer1.is_hidden()


def test_keyboard_preferences_switches_escape_and_focus_trap(demo_page: Any) -> None:
    demo = demo_page()
    page = demo.page
    demo.goto()
    demo.layer1.wait_for()

    # Preferences with Space; the dialog takes the focus.
    tab_to(demo, EN["preferences"])
    page.keyboard.press("Space")
    demo.layer2.wait_for()
    assert demo.layer1.is_hidden()
    assert demo.focused()["layer"] == 2

    # The details and the services' switches arrive with the preferences chunk.
    demo.layer2.locator(".cmw-svc").first.wait_for()

    # Focus trap: Tab visits the dialog's controls in order, then wraps around;
    # Shift+Tab from the first goes to the last. The focus never leaves the dialog.
    order = demo.layer2.locator("a[href], button, input").evaluate_all(
        "els => els.filter(e => e.getClientRects().length)"
        ".map(e => (e.getAttribute('data-id') || e.textContent).trim())"
    )
    assert order[:8] == [
        "functional",
        "analytics",
        "analytics/Google Analytics",
        "analytics/Naver Analytics",
        "advertising",
        "advertising/Meta",
        "advertising/Kakao",
        "marketing",
    ]
    assert order[-2:] == [EN["save"], EN["back"]]
    seen = []
    for _ in range(len(order) + 1):
        page.keyboard.press("Tab")
        focused = demo.focused()
        assert focused["layer"] == 2, focused
        seen.append(focused["id"] or focused["text"])
    assert seen == order + order[:1]
    page.keyboard.press("Shift+Tab")
    assert demo.focused()["text"] == EN["back"]
    page.keyboard.press("Tab")
    assert demo.focused()["id"] == "functional"

    # Switches toggle with Space.
    page.keyboard.press("Tab")
    focused = demo.focused()
    assert (focused["id"], focused["checked"]) == ("analytics", False)
    page.keyboard.press("Space")
    assert demo.focused()["checked"] is True
    page.keyboard.press("Space")
    assert demo.focused()["checked"] is False
    page.keyboard.press("Space")
    assert demo.switch("analytics").is_checked()

    # Esc before any choice: back to the first layer (it cannot be dismissed yet),
    # with the focus on the Preferences button that opened the dialog.
    page.keyboard.press("Escape")
    demo.layer1.wait_for()
    assert demo.layer2.is_hidden()
    assert demo.focused()["text"] == EN["preferences"]

    # Open again with Enter, switch analytics on, save with Enter.
    page.keyboard.press("Enter")
    demo.layer2.wait_for()
    for _ in range(2):
        page.keyboard.press("Tab")
    assert demo.focused()["id"] == "analytics"
    page.keyboard.press("Space")
    tab_to(demo, EN["save"])
    with demo.expect_consent_call("POST") as call:
        page.keyboard.press("Enter")
    assert call.value.request.post_data_json == {"choices": ANALYTICS_ONLY}
    demo.wait_for_allowed("analytics")
    assert demo.layer2.is_hidden() and demo.layer1.is_hidden()

    # Once decided: the floating control reopens the banner, Esc closes the
    # preferences outright and gives the focus back to the control.
    tab_to(demo, EN["reopen"])
    page.keyboard.press("Enter")
    demo.layer1.wait_for()
    tab_to(demo, EN["preferences"])
    page.keyboard.press("Enter")
    demo.layer2.wait_for()
    assert demo.switch("analytics").is_checked()
    assert not demo.switch("advertising").is_checked()
    page.keyboard.press("Escape")
    demo.layer2.wait_for(state="hidden")
    assert demo.layer1.is_hidden()
    assert "cmw-re" in demo.focused()["cls"]
    # Esc on the first layer, too.
    page.keyboard.press("Enter")
    demo.layer1.wait_for()
    page.keyboard.press("Escape")
    demo.layer1.wait_for(state="hidden")
    assert "cmw-re" in demo.focused()["cls"]
    demo.wait_for_allowed("analytics")  # nothing changed


# -- small screens and zoom ----------------------------------------------------------


def assert_in_viewport(page: Any, locator: Any, viewport: dict[str, int]) -> None:
    """Visible, wholly inside the viewport, big enough, and the topmost element at its
    centre (nothing covers it)."""
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    assert box is not None, locator
    assert box["x"] >= 0 and box["y"] >= 0, box
    assert box["x"] + box["width"] <= viewport["width"] + 0.5, box
    assert box["y"] + box["height"] <= viewport["height"] + 0.5, box
    assert box["height"] >= 24 and box["width"] >= 24, box
    hit = locator.evaluate(
        "(el, p) => { const h = document.elementFromPoint(p.x, p.y); "
        "return h === el || el.contains(h); }",
        {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2},
    )
    assert hit, (locator, box)


SCREENS = {
    # a 320 CSS px wide phone (WCAG 1.4.10 reflow)
    "320px": {"viewport": {"width": 320, "height": 640}, "device_scale_factor": 1},
    # a 1280x720 window at 200 % zoom: half the CSS pixels, twice the device pixels
    "zoom200": {"viewport": {"width": 640, "height": 360}, "device_scale_factor": 2},
}


@pytest.mark.parametrize("locale", ["ko", "en"])
@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_buttons_visible_and_clickable_on_small_and_zoomed_screens(
    demo_page: Any, screen: str, locale: str
) -> None:
    options = SCREENS[screen]
    viewport = options["viewport"]
    t = TEXTS[locale]
    demo = demo_page(**options)
    page = demo.page
    demo.goto(f"/?lang={locale}")
    demo.layer1.wait_for()
    assert page.evaluate("() => innerWidth") == viewport["width"]
    # No sideways scrolling.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]
    for name in ("accept_all", "reject_all", "preferences"):
        assert_in_viewport(page, demo.button(t[name]), viewport)
    demo.button(t["preferences"]).click()
    demo.layer2.wait_for()
    for category in ("functional", "analytics", "advertising", "marketing"):
        assert_in_viewport(page, demo.switch(category), viewport)
    for name in ("save", "back"):
        assert_in_viewport(page, demo.button(t[name], layer=2), viewport)
    demo.switch("functional").click()
    assert demo.switch("functional").is_checked()
    with demo.expect_consent_call("POST"):
        demo.button(t["save"], layer=2).click()
    demo.wait_for_allowed("functional")
    assert_in_viewport(page, demo.reopen, viewport)
    demo.reopen.click()
    demo.layer1.wait_for()
    assert_in_viewport(page, demo.button(t["withdraw"]), viewport)
    assert_in_viewport(page, demo.button(t["close"]), viewport)


# -- screenshots ---------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_banner_screenshots(
    demo_page: Any, screenshot_dir: Path, cjk_font: None, locale: str
) -> None:
    t = TEXTS[locale]
    demo = demo_page(viewport={"width": 1024, "height": 768}, locale=f"{locale}-KR")
    demo.goto(f"/?lang={locale}")
    demo.layer1.wait_for()
    assert demo.layer1.locator("h2").inner_text() == t["title"]
    if locale == "ko":
        assert re.search("[\uac00-\ud7a3]", t["title"])
    first = screenshot_dir / f"banner-{locale}-first-layer.png"
    prefs = screenshot_dir / f"banner-{locale}-preferences.png"
    for path in (first, prefs):
        path.unlink(missing_ok=True)
    demo.page.screenshot(path=str(first))
    demo.button(t["preferences"]).click()
    demo.layer2.wait_for()
    demo.page.screenshot(path=str(prefs))
    for path in (first, prefs):
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC), path
        assert len(data) > 1000, path
