"""What leaves a real browser before and after a choice, and what the cookie jar keeps.

The demo site's pages carry Google Analytics (gtag), the Meta pixel, the Kakao
pixel and Naver Analytics. Requests to those hosts are answered by the
``new_page`` fixture's fakes and never reach the internet.
"""

from __future__ import annotations

from typing import Any

import pytest

from consent_mw.demo import demo_policy

pytestmark = pytest.mark.browser

ANALYTICS_ONLY = {"functional": False, "analytics": True, "advertising": False, "marketing": False}

EN = demo_policy().ui_texts("en")
# What the analytics tags of the demo page load, and nothing else.
ANALYTICS_LOADED = {"www.googletagmanager.com", "wcs.naver.net"}
ADVERTISING_LOADED = {"connect.facebook.net", "t1.daumcdn.net"}


def test_no_tracker_request_before_consent(demo_page: Any) -> None:
    demo = demo_page()
    for path in ("/?lang=en", "/shows/1?lang=ko", "/shows/2?lang=en"):
        demo.net.clear()
        demo.goto(path)
        demo.layer1.wait_for()
        assert demo.net.third_party == [], path
        # The tags are there, neutralised, so the check above means something.
        neutralised = demo.page.locator('script[type="text/plain"][data-consent-category]')
        categories = sorted(
            neutralised.evaluate_all("els => els.map(e => e.dataset.consentCategory)")
        )
        assert categories == ["advertising"] * 3 + ["analytics"] * 4
    assert demo.fakes() == {}
    # The server kept only the necessary cookie.
    assert set(demo.cookies()) == {"session"}
    # Consent Mode starts denied, as the server said.
    (default,) = [e[2] for e in demo.data_layer() if e[:2] == ["consent", "default"]]
    assert default["analytics_storage"] == default["ad_storage"] == "denied"

    # Looking at the preferences and refusing everything changes nothing of that.
    demo.button(EN["preferences"]).click()
    demo.layer2.wait_for()
    demo.button(EN["back"], layer=2).click()
    with demo.expect_consent_call("POST"):
        demo.button(EN["reject_all"]).click()
    demo.wait_for_allowed()
    demo.settle()
    demo.reload()
    assert demo.net.third_party == []
    assert demo.layer1.is_hidden()
    assert set(demo.cookies()) == {"session", "consent_mw"}


def test_only_analytics_via_preferences(demo_page: Any) -> None:
    demo = demo_page()
    demo.goto()
    demo.button(EN["preferences"]).click()
    demo.layer2.wait_for()
    assert not demo.switch("analytics").is_checked()
    demo.switch("analytics").check()
    with demo.expect_consent_call("POST") as call:
        demo.button(EN["save"], layer=2).click()
    assert call.value.status == 200
    assert call.value.request.post_data_json == {"choices": ANALYTICS_ONLY}
    demo.wait_for_allowed("analytics")
    # The re-activated tags load and run, in order (wcslog.js before wcs_do()).
    demo.page.wait_for_function("() => window.__fake && __fake.gtag_js && __fake.wcs_do")
    demo.settle()
    assert demo.net.hosts() == ANALYTICS_LOADED
    assert demo.net.advertising == set()
    fakes = demo.fakes()
    assert fakes["gtag_js"] == fakes["wcslog_js"] == fakes["wcs_do"] == 1
    assert "kp_js" not in fakes and "fbevents_js" not in fakes
    # The banner told Consent Mode.
    updates = demo.consent_updates()
    assert updates, demo.data_layer()
    assert updates[-1]["analytics_storage"] == "granted"
    assert updates[-1]["ad_storage"] == updates[-1]["ad_user_data"] == "denied"
    assert updates[-1]["functionality_storage"] == "denied"
    assert ["config", "G-DEMO1234"] in demo.data_layer()
    # The next page comes from the server with the analytics tags live.
    demo.reload()
    assert demo.layer1.is_hidden()
    assert demo.net.hosts() == ANALYTICS_LOADED
    cookies = demo.cookies()
    assert "_ga" in cookies and "_ga_DEMO1234" in cookies
    assert "_fbp" not in cookies and "tb_recent" not in cookies
    assert demo.page.locator("#server-view code").inner_text() == "analytics, necessary"
    (default,) = [e[2] for e in demo.data_layer() if e[:2] == ["consent", "default"]]
    assert default["analytics_storage"] == "granted" and default["ad_storage"] == "denied"


def accept_all(demo: Any) -> None:
    demo.goto()
    with demo.expect_consent_call("POST"):
        demo.button(EN["accept_all"]).click()
    demo.wait_for_allowed("functional", "analytics", "advertising", "marketing")
    demo.reload()
    assert demo.net.hosts() == ANALYTICS_LOADED | ADVERTISING_LOADED
    assert {"_ga", "_ga_DEMO1234", "_fbp", "tb_recent"} <= set(demo.cookies())


def assert_trackers_stopped(demo: Any) -> None:
    """The server expired the optional cookies (its own and the one gtag.js set in the
    page), and the next page loads no tracker."""
    assert set(demo.cookies()) == {"session", "consent_mw"}
    demo.reload()
    assert demo.net.third_party == []
    assert demo.layer1.is_hidden()  # decided: no prompt
    assert demo.reopen.is_visible()
    assert set(demo.cookies()) == {"session", "consent_mw"}
    assert demo.page.locator("#server-view code").inner_text() == "necessary"


def test_withdraw_via_the_floating_control(demo_page: Any) -> None:
    demo = demo_page()
    accept_all(demo)
    demo.reopen.click()
    demo.layer1.wait_for()
    with demo.expect_consent_call("DELETE") as call:
        demo.button(EN["withdraw"]).click()
    assert call.value.status == 200
    expired = [
        line.split("=", 1)[0]
        for line in (call.value.header_values("set-cookie") or [])
        if "max-age=0" in line.lower()
    ]
    assert {"_ga", "_ga_DEMO1234", "_fbp", "tb_recent"} <= set(expired)
    demo.wait_for_allowed()
    assert demo.consent_updates()[-1]["analytics_storage"] == "denied"
    consent = demo.consent_cookie()
    assert consent is not None and consent.action == "withdraw"
    assert not any(consent.choices.values())
    assert_trackers_stopped(demo)


def test_reject_after_reopening_with_the_api(demo_page: Any) -> None:
    demo = demo_page()
    accept_all(demo)
    demo.page.evaluate("() => window.ConsentBanner.open()")
    demo.layer1.wait_for()
    with demo.expect_consent_call("POST") as call:
        demo.button(EN["reject_all"]).click()
    assert call.value.request.post_data_json == {"action": "reject_all"}
    demo.wait_for_allowed()
    consent = demo.consent_cookie()
    assert consent is not None and consent.action == "reject_all"
    assert_trackers_stopped(demo)


def test_gpc_notice_and_no_advertising_after_accept_all(demo_page: Any) -> None:
    demo = demo_page(extra_http_headers={"Sec-GPC": "1"})
    demo.goto()
    demo.layer1.wait_for()
    assert demo.layer1.locator(".cmw-n").all_inner_texts() == [EN["gpc_honoured"]]
    with demo.expect_consent_call("POST"):
        demo.button(EN["accept_all"]).click()
    demo.wait_for_allowed("functional", "analytics", "marketing")
    demo.page.wait_for_function("() => window.__fake && __fake.gtag_js && __fake.wcs_do")
    demo.settle()
    assert demo.net.hosts() == ANALYTICS_LOADED
    assert demo.consent_updates()[-1]["ad_storage"] == "denied"
    demo.reload()
    assert demo.net.hosts() == ANALYTICS_LOADED
    assert demo.net.advertising == set()
    assert "_fbp" not in demo.cookies()
    consent = demo.consent_cookie()
    assert consent is not None and consent.gpc and consent.choices["advertising"] is False


def test_consent_update_is_queued_before_the_reactivated_config(demo_page: Any) -> None:
    demo = demo_page()
    demo.goto()
    demo.button(EN["preferences"]).click()
    demo.switch("analytics").check()
    with demo.expect_consent_call("POST"):
        demo.button(EN["save"], layer=2).click()
    demo.wait_for_allowed("analytics")
    entries = demo.data_layer()
    granted = [
        i
        for i, e in enumerate(entries)
        if e[:2] == ["consent", "update"] and e[2]["analytics_storage"] == "granted"
    ]
    config = entries.index(["config", "G-DEMO1234"])
    # gtag.js works through dataLayer in order: the tag's config (its page_view) must
    # come after the update that grants analytics_storage, or it goes out as denied.
    assert granted and granted[0] < config, entries
