"""The vendors' consent calls and the GPP data, compiled per decision into the block
injected at the top of pages (consent_mw.html.signals, .inject): what goes in for each
policy option, the GPP API's file, and Consent Mode's advanced mode. Both adapters."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from consent_mw import Policy
from consent_mw.core.config import CountryHeader
from consent_mw.core.consent import Consent, decide
from consent_mw.html.inject import MODE_NAMES, consent_mode_script, defaults_script
from consent_mw.html.rewrite import rewrite_html
from consent_mw.html.signals import VENDOR_CODE, vendor_grants
from consent_mw.policy.diff import diff_policies
from consent_mw.policy.parts import Signals
from support.html_apps import HEAD_START, AppRequest, Harness, RawResult, Reply, build, html
from support.services import GOOGLE_AND_META, gdpr_with_ad_services

GPP_DATA = re.compile(rb'<script type="application/json" id="consent-gpp">(.*?)</script>')
GPP_SRC = re.compile(rb'<script src="(/_consent/gpp\.[0-9a-f]{16}\.js)"( nonce="[^"]*")?></script>')

GTAG_PAGE = (
    HEAD_START + b'<meta charset="utf-8"><title>t</title>'
    b'<script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>'
    b"<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}"
    b'gtag("js",new Date());gtag("config","G-1");</script>'
    b'<script src="https://connect.facebook.net/en_US/fbevents.js"></script>'
    b"</head><body></body></html>"
)


@pytest.fixture(params=["asgi", "wsgi"])
def adapter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def serving(
    adapter: str, policy: Any = "gdpr", body: bytes | None = None, **options: Any
) -> Harness:
    reply = html(body) if body is not None else html()

    def handler(request: AppRequest) -> Reply:
        return reply

    return build(adapter, handler, policy=policy, **options)


def get(harness: Harness, path: str = "/", **kwargs: Any) -> RawResult:
    result = harness.request("GET", path, **kwargs)
    assert isinstance(result, RawResult)
    return result


def modes(*granted: str) -> dict[str, str]:
    return {name: "granted" if name in granted else "denied" for name in MODE_NAMES}


# -- the compiled script ---------------------------------------------------------------


def test_each_listed_vendor_is_armed_and_only_those() -> None:
    script = defaults_script(modes("analytics_storage"))
    for code in VENDOR_CODE.values():
        assert code in script
    only = defaults_script(modes(), Signals(vendors=("clarity",)))
    assert VENDOR_CODE["clarity"] in only and VENDOR_CODE["meta"] not in only
    assert "Object.defineProperty" not in defaults_script(modes(), Signals(vendors=()))


@pytest.mark.parametrize(
    ("modes_granted", "pending", "state"),
    [
        (("analytics_storage",), False, '{"a":0,"u":0,"c":1,"m":0,"t":0,"p":0}'),
        (("ad_storage", "analytics_storage"), False, '{"a":1,"u":1,"c":1,"m":1,"t":1,"p":0}'),
        ((), True, '{"a":0,"u":0,"c":0,"m":0,"t":0,"p":1}'),
    ],
)
def test_the_state_compiled_in(modes_granted: tuple[str, ...], pending: bool, state: str) -> None:
    # Without a per-service choice, the vendors' grants are what Consent Mode says.
    assert f"var S={state}," in defaults_script(modes(*modes_granted), pending=pending)


SERVICES = gdpr_with_ad_services(*GOOGLE_AND_META)


@pytest.mark.parametrize(
    ("services", "grants"),
    [
        ({"Meta": True}, "00010"),  # Meta alone: only Meta's call grants
        ({"Google": True}, "00000"),  # Google alone: Consent Mode grants, no other vendor
        ({"TikTok": True, "Microsoft Advertising": True}, "01001"),  # registry owners
    ],
)
def test_each_vendor_follows_its_own_service(services: dict[str, bool], grants: str) -> None:
    consent = Consent.create(SERVICES, {"advertising": services}, action="custom")
    decision = decide(SERVICES, consent)
    assert vendor_grants(SERVICES, decision._allowed) == grants
    script = consent_mode_script(decision)
    state = json.loads(script.partition("var S=")[2].partition(",V=")[0])
    assert [state[k] for k in "aucmt"] == [int(c) for c in grants]
    google = decision.consent_mode()["ad_storage"] == "granted"
    assert google is (services.get("Google") is True)
    names = json.loads(script.partition(",V=")[2].partition(",H=")[0])
    assert names["m"] == ["advertising", "Meta"] and names["c"] == [
        "analytics",
        "Microsoft Clarity",
    ]


def test_a_per_service_default_has_a_url_of_its_own(adapter: str) -> None:
    # A strict CSP: the default comes from its URL, which names the vendors' grants
    # where Consent Mode alone cannot say them, and serves the same script.
    strict = build(
        adapter,
        lambda request: html(headers=[("Content-Security-Policy", "script-src 'self'")]),
        policy=SERVICES,
    )
    meta = {"consent_mw": strict.token({"advertising": {"Meta": True}})}  # type: ignore[dict-item]
    url = re.search(rb'<script src="(/_consent/defaults/[^"]+)"', get(strict, cookies=meta).raw)
    assert url is not None and b"_00010." in url.group(1)
    consent = Consent.create(SERVICES, {"advertising": {"Meta": True}}, action="custom")
    served = get(strict, url.group(1).decode())
    assert served.status == 200
    assert served.raw.decode() == consent_mode_script(decide(SERVICES, consent))
    # Grants that do not fit the code, or that the digest does not name: not found.
    for bad in (b"_0001.", b"_00011.", b"_0x010."):
        assert get(strict, url.group(1).replace(b"_00010.", bad).decode()).status == 404


def test_google_options() -> None:
    denied = modes()
    assert "ads_data_redaction" in defaults_script(denied)
    assert "ads_data_redaction" not in defaults_script(modes("ad_storage"))
    assert "ads_data_redaction" not in defaults_script(denied, Signals(ads_data_redaction=False))
    assert "url_passthrough" not in defaults_script(denied)
    assert "gtag('set','url_passthrough',true);" in defaults_script(
        denied, Signals(url_passthrough=True)
    )


def test_the_injected_default_carries_the_policy_options(adapter: str) -> None:
    policy = Policy.preset("gdpr", signals={"url_passthrough": True, "vendors": ["uet"]})
    body = get(serving(adapter, policy)).raw
    assert b"gtag('set','url_passthrough',true);" in body
    assert VENDOR_CODE["uet"].encode() in body
    assert VENDOR_CODE["tiktok"].encode() not in body


def test_the_defaults_url_serves_the_same_script_as_inline(adapter: str) -> None:
    policy = Policy.preset("gdpr", signals={"url_passthrough": True})
    harness = serving(adapter, policy)
    csp_harness = build(
        adapter,
        lambda request: html(headers=[("Content-Security-Policy", "script-src 'self'")]),
        policy=policy,
    )
    inline = re.search(rb"<script>(window\.dataLayer=.*?)</script>", get(harness).raw)
    url = re.search(rb'<script src="(/_consent/defaults/[^"]+)"', get(csp_harness).raw)
    assert inline is not None and url is not None
    assert url.group(1).endswith(b".js") and b"h." in url.group(1)  # undecided: held
    served = get(csp_harness, url.group(1).decode())
    assert served.status == 200 and served.raw == inline.group(1)


# -- GPP -----------------------------------------------------------------------------------

US = {"gpp": {"sections": ["usnat", "usca"]}}


def test_gpp_is_injected_only_where_the_policy_writes_it(adapter: str) -> None:
    assert b"consent-gpp" not in get(serving(adapter, Policy.preset("ccpa", gpp={}))).raw
    assert b"consent-gpp" not in get(serving(adapter, Policy.preset("gdpr"))).raw
    # The US preset writes it.
    assert Policy.preset("ccpa").gpp.sections == ("usnat", "usca")
    body = get(serving(adapter, Policy.preset("ccpa", **US))).raw
    found = GPP_DATA.search(body)
    assert found is not None and GPP_SRC.search(body) is not None
    data = json.loads(found.group(1))
    assert data["now"] is False  # opt-out regime, no choice, no GPC: not opted out
    assert data["granted"]["applicableSections"] == [7]  # usnat: the national approach
    assert data["granted"]["sectionList"] == [7, 8]
    assert data["denied"]["parsedSections"]["usnat"]["SaleOptOut"] == 1


def test_a_gpc_visitor_is_opted_out_whatever_the_page_does_next(adapter: str) -> None:
    harness = serving(adapter, Policy.preset("ccpa", **US))
    body = get(harness, headers={"Sec-GPC": "1"}).raw
    data = json.loads(GPP_DATA.search(body).group(1))  # type: ignore[union-attr]
    assert data["now"] is True
    # Even a later "accept all" in the banner leaves a GPC visitor's sale opted out.
    for state in ("granted", "denied"):
        usnat = data[state]["parsedSections"]["usnat"]
        assert (usnat["SaleOptOut"], usnat["Gpc"]) == (1, True)
    # The same decision without GPC is another block (the memo keys on the signal).
    plain = GPP_DATA.search(get(harness).raw).group(1)  # type: ignore[union-attr]
    assert json.loads(plain)["now"] is False


def test_gpp_is_only_injected_for_visitors_under_a_us_regime(adapter: str) -> None:
    # The built-in country table puts France under gdpr, the United States under ccpa.
    harness = serving(adapter, Policy.preset("gdpr", **US), country=CountryHeader("X-Country"))
    assert GPP_DATA.search(get(harness, headers={"X-Country": "FR"}).raw) is None
    us = get(harness, headers={"X-Country": "US"}).raw
    data = json.loads(GPP_DATA.search(us).group(1))  # type: ignore[union-attr]
    assert data["granted"]["applicableSections"] == [7]


def test_the_gpp_api_carries_the_nonce_of_a_strict_page(adapter: str) -> None:
    harness = build(
        adapter,
        lambda request: html(
            headers=[("Content-Security-Policy", "script-src 'nonce-abc' 'strict-dynamic'")]
        ),
        policy=Policy.preset("ccpa", **US),
    )
    found = GPP_SRC.search(get(harness).raw)
    assert found is not None and found.group(2) == b' nonce="abc"'


def test_the_gpp_api_file_is_served_hashed_and_immutable(adapter: str) -> None:
    harness = serving(adapter, Policy.preset("ccpa", **US))
    url = GPP_SRC.search(get(harness).raw).group(1).decode()  # type: ignore[union-attr]
    served = get(harness, url, headers={"accept-encoding": "gzip"})
    assert served.status == 200
    assert served.header("cache-control") == "public, max-age=31536000, immutable"
    assert served.header("content-type") == "text/javascript; charset=utf-8"
    assert get(harness, "/_consent/gpp.js").status == 200
    missing = get(harness, "/_consent/gpp.0000000000000000.js")
    assert missing.status == 404
    assert missing.header("content-type") == "application/json; charset=utf-8"


def test_gpp_data_cannot_close_its_script_element(monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing a visitor sends reaches the data; were a field ever to hold "</script>",
    # the data block still ends where it should.
    from consent_mw.html import inject

    def hostile(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"gppString": "</script><script>alert(1)</script>"}

    monkeypatch.setattr(inject, "gpp_data", hostile)
    decision = decide(Policy.preset("ccpa", **US), None, gpc=True)
    block = inject.gpp_block(decision, "/_consent/gpp.js", "")
    data = GPP_DATA.search(block.encode())
    assert data is not None and b"</" not in data.group(1)
    assert json.loads(data.group(1))["granted"]["gppString"].startswith("</script>")


# -- advanced Consent Mode ---------------------------------------------------------------


def test_advanced_mode_loads_googles_tags_and_holds_the_rest() -> None:
    basic = Policy.preset("gdpr")
    advanced = Policy.preset("gdpr", signals={"advanced": True})
    none = frozenset({"necessary"})
    held = rewrite_html(GTAG_PAGE, basic.tag_matcher, none)
    assert held.count(b'type="text/plain"') == 3
    loaded = rewrite_html(GTAG_PAGE, advanced.tag_matcher, none)
    assert b'<script async src="https://www.googletagmanager.com/gtag/js?id=G-1">' in loaded
    assert b"<script>window.dataLayer" in loaded
    assert loaded.count(b'type="text/plain"') == 1  # Meta's pixel still held
    # Google's cookies are still Google's (Set-Cookie filtering, expiry after withdrawal).
    assert advanced.matcher.cookie_category("_ga") == "analytics"
    assert advanced.tag_matcher.url_category("https://www.google-analytics.com/collect")


def test_advanced_mode_in_a_page(adapter: str) -> None:
    policy = Policy.preset("gdpr", signals={"advanced": True})
    body = get(serving(adapter, policy, body=GTAG_PAGE)).raw
    assert b'<script async src="https://www.googletagmanager.com/gtag/js?id=G-1">' in body
    # The denied default runs first.
    assert body.index(b"gtag('consent','default'") < body.index(b"googletagmanager.com/gtag")


def test_turning_advanced_mode_on_is_a_major_change() -> None:
    before = Policy.preset("gdpr", version="1")
    after = Policy.preset("gdpr", version="2", signals={"advanced": True})
    changes = diff_policies(before, after)
    assert changes.major, changes
