"""Under the demo's strict CSP (``script-src 'nonce-…' 'strict-dynamic'``) the injected
Consent Mode block, the banner and the tags it re-activates all run, and nothing is
refused."""

from __future__ import annotations

import re
from typing import Any

import pytest

from consent_mw.demo import demo_policy

pytestmark = pytest.mark.browser

EN = demo_policy().ui_texts("en")

# Installed before any script of the page: collects CSP violations and errors.
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push({directive: e.effectiveDirective, blocked: e.blockedURI,
                     source: e.sourceFile, line: e.lineNumber, sample: e.sample});
}, true);
"""

ALL_FAKES = ("gtag_js", "fbevents_js", "kp_js", "kakao_pageview", "wcslog_js", "wcs_do")


class Problems:
    def __init__(self, page: Any) -> None:
        self.page = page
        self.console: list[str] = []
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _console(self, message: Any) -> None:
        if message.type in ("error", "warning"):
            self.console.append(f"{message.type}: {message.text}")

    def violations(self) -> list[dict[str, Any]]:
        return list(self.page.evaluate("() => window.__csp"))


def assert_tags_ran(demo: Any) -> None:
    demo.page.wait_for_function(
        "(names) => names.every(n => window.__fake && window.__fake[n] === 1)",
        arg=list(ALL_FAKES),
    )
    # The inline snippets ran, after the scripts they need (kp.js before kakaoPixel()).
    assert ["config", "G-DEMO1234"] in demo.data_layer()
    queue = demo.page.evaluate("() => window.fbq && window.fbq.queue.map(a => Array.from(a))")
    # The consent call goes first in Meta's queue (consent_mw.html.signals).
    assert queue == [["consent", "grant"], ["init", "000000000000000"], ["track", "PageView"]]


def test_strict_csp_banner_and_reactivated_tags(demo_page: Any) -> None:
    demo = demo_page()
    demo.context.add_init_script(WATCH)
    problems = Problems(demo.page)
    response = demo.goto()
    csp = response.header_value("content-security-policy")
    match = re.search(r"script-src 'nonce-([^']+)' 'strict-dynamic'", csp)
    assert match, csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    nonce = match.group(1)
    demo.layer1.wait_for()

    # The injected block carries the nonce, and ran: Consent Mode defaults are set.
    injected = demo.page.locator("head > script").first
    assert injected.evaluate("el => el.nonce") == nonce
    assert demo.data_layer()[0][:2] == ["consent", "default"]
    # The banner's stylesheet was allowed (style-src 'self').
    assert demo.layer1.evaluate("el => getComputedStyle(el).position") == "fixed"

    with demo.expect_consent_call("POST"):
        demo.button(EN["accept_all"]).click()
    demo.wait_for_allowed("functional", "analytics", "advertising", "marketing")
    assert_tags_ran(demo)
    demo.settle()
    assert problems.violations() == []
    # Every re-activated script carries the page's nonce (not just the trust of
    # 'strict-dynamic', which does not cover inline scripts), and its original type:
    # gtag.js, gtag(), fbq(), then Kakao's and Naver's two type="text/javascript".
    revived = demo.page.locator("script[data-consent-category]")
    assert revived.evaluate_all("els => els.map(e => [e.type, e.nonce])") == (
        [["", nonce]] * 3 + [["text/javascript", nonce]] * 4
    )

    # The next page: the server leaves the tags live, with the page's nonce.
    demo.reload()
    assert_tags_ran(demo)
    assert demo.reopen.evaluate("el => getComputedStyle(el).position") == "fixed"
    assert problems.violations() == []
    assert problems.console == []
    assert problems.errors == []

    # The watch works: an inline event handler is refused, and reported.
    demo.page.evaluate(
        "() => { const d = document.createElement('div');"
        " d.setAttribute('onclick', 'window.__canary = 1');"
        " document.body.appendChild(d); d.click(); }"
    )
    demo.page.wait_for_function("() => window.__csp.length > 0")
    assert demo.page.evaluate("() => window.__canary") is None
    assert [v["directive"] for v in problems.violations()] == ["script-src-attr"]
