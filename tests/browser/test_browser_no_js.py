"""With JavaScript off: the customised-advertising form, the noscript pixel, and the
privacy notice with every link in it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

pytestmark = pytest.mark.browser

ADS_PATH = "/_consent/ads"


def submit_ads_form(page: Any, server: Any, caption: str) -> Any:
    """Press the ads page's button; return the POST's own response (the 303)."""
    endpoint = server.url(ADS_PATH)
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.split("?", 1)[0] == endpoint
    ) as info:
        page.get_by_role("button", name=caption, exact=True).click()
    page.wait_for_load_state()
    return info.value


def check_download(page: Any, notice_url: str, url: str) -> None:
    """A link that downloads (records as JSON): click it in the notice, read the file."""
    page.goto(notice_url)
    href = urlsplit(url)._replace(scheme="", netloc="").geturl()
    with page.expect_download() as info:
        page.locator(f'a[href="{href}"]').first.click()
    download = info.value
    assert download.failure() is None, url
    data = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert isinstance(data, dict | list), url


def consent_cookie(page: Any, server: Any) -> Any:
    for cookie in page.context.cookies(server.base_url):
        if cookie["name"] == "consent_mw":
            return server.codec.loads(cookie["value"])
    return None


def test_ads_page_opt_in_and_opt_out_without_javascript(new_page: Any, demo_server: Any) -> None:
    page = new_page(java_script_enabled=False)
    ads = demo_server.url(ADS_PATH + "?locale=en")
    home = demo_server.url("/?lang=en")

    # Without a choice: off, and the noscript Meta pixel of the demo page stays unloaded.
    page.goto(home)
    assert page.net.third_party == []
    page.goto(ads)
    assert page.get_by_text("Customised advertising is off for this browser.").is_visible()

    response = submit_ads_form(page, demo_server, "Turn customised advertising on")
    assert response.status == 303
    assert response.header_value("location") == ADS_PATH + "?saved=1&locale=en"
    assert page.url == demo_server.url(ADS_PATH + "?saved=1&locale=en")
    assert page.get_by_role("status").inner_text() == "Your choice was saved."
    assert page.get_by_text("Customised advertising is on for this browser.").is_visible()
    consent = consent_cookie(page, demo_server)
    assert consent is not None and consent.source == "form"
    assert consent.choices["advertising"] is True
    # Only advertising was asked for: the other optional categories stay refused.
    assert not consent.choices["analytics"] and not consent.choices["functional"]

    # Now the noscript pixel is live (and is the only tracker a page without JS loads).
    page.net.clear()
    page.goto(home)
    assert page.net.hosts() == {"www.facebook.com"}
    assert all(u.startswith("https://www.facebook.com/tr?") for u in page.net.third_party)

    # The opt-out.
    page.goto(ads)
    response = submit_ads_form(page, demo_server, "Turn customised advertising off")
    assert response.status == 303
    expiring = [v for v in response.header_values("set-cookie") if v.startswith("_fbp=")]
    assert [v for v in response.header_values("set-cookie") if v.startswith("consent_mw=")]
    assert expiring and all("max-age=0" in v.lower() for v in expiring)
    assert page.get_by_text("Customised advertising is off for this browser.").is_visible()
    assert page.get_by_role("button", name="Turn customised advertising on").is_visible()
    consent = consent_cookie(page, demo_server)
    assert consent is not None and consent.choices["advertising"] is False
    assert "_fbp" not in {c["name"] for c in page.context.cookies(demo_server.base_url)}

    # The JSON API, asked from the same browser, agrees.
    api = page.goto(demo_server.url("/_consent?locale=en"))
    assert api is not None and api.status == 200
    state = json.loads(api.text())["state"]
    assert state["choices"]["advertising"] is False
    assert "advertising" not in state["allowed"]
    assert state["decided"] is True

    # And the pixel is gone again.
    page.net.clear()
    page.goto(home)
    assert page.net.third_party == []


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_privacy_notice_renders_and_every_link_answers(
    new_page: Any, demo_server: Any, locale: str
) -> None:
    page = new_page(java_script_enabled=False)
    notice_url = demo_server.url(f"/_consent/policy?locale={locale}")
    response = page.goto(notice_url)
    assert response is not None and response.status == 200
    assert page.locator("html").get_attribute("lang") == locale
    assert page.locator("h1").count() == 1 and page.locator("h1").inner_text().strip()
    hrefs = page.locator("a[href]").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    ids = set(page.locator("[id]").evaluate_all("els => els.map(e => e.id)"))
    assert len(hrefs) > 10

    same_origin: set[str] = set()
    fragments: set[str] = set()
    external: set[str] = set()
    for href in hrefs:
        url = urljoin(notice_url, href)
        parts = urlsplit(url)
        if parts.scheme == "mailto":
            assert "@" in parts.path, href
        elif parts.netloc == demo_server.host:
            if url.split("#", 1)[0] == notice_url and parts.fragment:
                fragments.add(parts.fragment)
            else:
                same_origin.add(url)
        else:
            external.add(url)

    missing = sorted(f for f in fragments if f not in ids)
    assert not missing, f"links to anchors that do not exist: {missing}"
    assert same_origin, hrefs
    for url in sorted(same_origin):
        from playwright.sync_api import Error as PlaywrightError

        try:
            answer = page.goto(url)
        except PlaywrightError as exc:
            if "Download is starting" not in str(exc):
                raise
            check_download(page, notice_url, url)
            continue
        assert answer is not None, url
        assert answer.status < 400, (url, answer.status)
        fragment = urlsplit(url).fragment
        if fragment:
            assert page.locator(f"[id='{fragment}']").count() == 1, url
    # Links to other sites are not followed (no internet here), but must be https.
    assert all(urlsplit(u).scheme == "https" for u in external), external
    assert page.net.third_party == []


@pytest.mark.parametrize(("locale", "browser_locale"), [("ko", "en-US"), ("en", "ko-KR")])
def test_notice_links_keep_the_notice_language(
    new_page: Any, demo_server: Any, locale: str, browser_locale: str
) -> None:
    page = new_page(java_script_enabled=False, locale=browser_locale)
    notice_url = demo_server.url(f"/_consent/policy?locale={locale}")
    wrong = []
    for path in (ADS_PATH, "/_consent/records"):
        page.goto(notice_url)
        link = page.locator(f'a[href^="{path}"]:not([href*="format="])').first
        link.click()
        page.wait_for_load_state()
        lang = page.locator("html").get_attribute("lang")
        if lang != locale:
            wrong.append((urlsplit(page.url).path, lang))
    assert not wrong, f"the {locale} notice links to pages in another language: {wrong}"
