""" "Always allow <service>" on an embed placeholder records a consent for that one
service in the ledger. The page sends the per-service shape of the consent API
({"choices": {"functional": {"YouTube": true}, ...}}); the server records it once
per-service choices are part of a consent."""

from __future__ import annotations

from collections.abc import Callable

from consent_mw.i18n.embeds import EMBED_TEXTS
from support.browser_sites import Running
from support.embeds_site import SITE, embeds_policy


def test_always_records_a_service_consent(serve: Callable[..., Running]) -> None:
    visitor = serve(SITE, policy=embeds_policy())
    visitor.consent(functional=False, analytics=True, advertising=False)
    visitor.visit("/")
    page = visitor.page
    page.wait_for_function("() => !!(window.ConsentBanner && window.ConsentBanner.state)")
    label = EMBED_TEXTS["en"]["always"].format(service="YouTube")
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url == visitor.base + "/_consent"
    ) as answer:
        page.get_by_role("button", name=label).click()
    assert answer.value.status == 200
    records = visitor.store.all_records()
    assert len(records) == 1
    # The proof names the service; the category itself stays refused, and the
    # visitor's other choices are kept as they were.
    assert records[0].services == {"functional": {"YouTube": True}}
    assert records[0].choices["functional"] is False
    assert records[0].choices["analytics"] is True
    assert records[0].choices["advertising"] is False
    # and every YouTube embed of the page is loaded
    page.locator("#yt").wait_for(state="visible")
    assert page.locator('.consent-embed[data-embed-service="YouTube"]').count() == 0
