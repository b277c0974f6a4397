"""Device facts: the user-agent parser, IP truncation, bot detection, and what
``Decision.device`` lets the app see through both middlewares."""

from __future__ import annotations

import json
from typing import Any

import pytest
import user_agents

from consent_mw.core.device import (
    MAX_USER_AGENT,
    DeviceParser,
    clean_user_agent,
    is_bot,
    truncate_ip,
)
from support.html_apps import (
    ANDROID_PHONE,
    GOOGLEBOT,
    IPAD,
    WINDOWS_CHROME,
    AppRequest,
    Harness,
    Reply,
    build,
)

CUBOT = (
    "Mozilla/5.0 (Linux; Android 10; Cubot X30) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)

# (user agent, type as user_agents classifies it)
USER_AGENTS: list[tuple[str, str]] = [
    (ANDROID_PHONE, "mobile"),
    (IPAD, "tablet"),
    (WINDOWS_CHROME, "pc"),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
        "mobile",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.2 Safari/605.1.15",
        "pc",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36",
        "tablet",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-G991N Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.193 Mobile Safari/537.36;"
        "KAKAOTALK 2410370",
        "mobile",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 NAVER(inapp; search; 2000; 12.1.0; 15PRO)",
        "mobile",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S911N) AppleWebKit/537.36 (KHTML, like Gecko)"
        " SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
        "mobile",
    ),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "pc"),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/118.0.0.0 Whale/3.23.214.10 Safari/537.36",
        "pc",
    ),
    (
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36",
        "pc",
    ),
    (
        "Mozilla/5.0 (Linux; U; Android 4.0.3; en-us; KFTT Build/IML74K) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Silk/3.68 like Chrome/39.0.2171.93 Safari/537.36",
        "tablet",
    ),
    (CUBOT, "mobile"),
    (GOOGLEBOT, "bot"),
    (
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/120.0.6099.71 Mobile Safari/537.36 "
        "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "bot",
    ),
    ("Mozilla/5.0 (compatible; Yeti/1.1; +http://naver.me/spd)", "bot"),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "bot"),
]


def reference_type(user_agent: str) -> str:
    parsed = user_agents.parse(user_agent)
    if parsed.is_bot:
        return "bot"
    if parsed.is_tablet:
        return "tablet"
    if parsed.is_mobile:
        return "mobile"
    if parsed.is_pc:
        return "pc"
    return "other"


@pytest.fixture(scope="module")
def parser() -> DeviceParser:
    return DeviceParser()


# -- the parser ----------------------------------------------------------------------------


@pytest.mark.parametrize(("user_agent", "kind"), USER_AGENTS)
def test_parser_agrees_with_user_agents(parser: DeviceParser, user_agent: str, kind: str) -> None:
    facts = parser.facts(user_agent)
    assert facts is not None
    assert facts.type == kind == reference_type(user_agent)
    reference = user_agents.parse(user_agent)
    assert facts.os == (None if reference.os.family == "Other" else reference.os.family)
    assert facts.browser == (
        None if reference.browser.family == "Other" else reference.browser.family
    )
    assert facts.model == (reference.device.model or None)
    assert facts.brand == (reference.device.brand or None)


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (
            ANDROID_PHONE,
            {"type": "mobile", "brand": "Samsung", "model": "SM-S918N", "os": "Android"},
        ),
        (IPAD, {"type": "tablet", "brand": "Apple", "model": "iPad", "os": "iOS"}),
        (WINDOWS_CHROME, {"type": "pc", "os": "Windows", "browser": "Chrome"}),
    ],
)
def test_parser_facts(parser: DeviceParser, user_agent: str, expected: dict[str, str]) -> None:
    facts = parser.facts(user_agent)
    assert facts is not None
    data = facts.to_dict()
    assert set(data) == {
        "type",
        "brand",
        "model",
        "os",
        "os_version",
        "browser",
        "browser_version",
    }
    for key, value in expected.items():
        assert data[key] == value, key


@pytest.mark.parametrize(
    "user_agent",
    [
        "A" * 100_000,
        ANDROID_PHONE + "x" * 100_000,
        "Mozilla/5.0 " + "(" * 50_000,
        "\x00\x01\x02\x7f\x1b[31m",
        "Mozilla/5.0\x00 (iPhone;\r\n CPU iPhone OS 17_2)\t",
        "\ud800\udfff",
        "ÿþ" * 1000,
        "   ",
        "",
        "()()()[][]{}{};;;",
    ],
)
def test_odd_user_agents_do_not_crash(parser: DeviceParser, user_agent: str) -> None:
    facts = parser.facts(user_agent)
    if facts is not None:
        assert facts.type in ("mobile", "tablet", "pc", "bot", "other")
        json.dumps(facts.to_dict())
    cleaned = clean_user_agent(user_agent)
    assert cleaned is None or (len(cleaned) <= MAX_USER_AGENT and cleaned.isprintable())


def test_control_characters_are_removed_before_parsing(parser: DeviceParser) -> None:
    dirty = "Mozilla/5.0 (iPad;\x00 CPU OS 17_2 like Mac OS X)\x7f AppleWebKit/605.1.15"
    assert clean_user_agent(dirty) == (
        "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15"
    )
    facts = parser.facts(dirty)
    assert facts is not None and facts.type == "tablet"


def test_only_control_characters_is_no_user_agent(parser: DeviceParser) -> None:
    assert parser.facts("\x00\x01") is None
    assert parser.facts(None) is None
    assert parser.facts("") is None


def test_parses_are_cached(parser: DeviceParser) -> None:
    fresh = DeviceParser(cache_size=2)
    first = fresh.facts(ANDROID_PHONE)
    assert fresh.parse.cache_info().misses == 1
    assert fresh.facts(ANDROID_PHONE) is first
    # The cache is keyed on the cleaned string: a control character makes no new entry.
    assert fresh.facts(ANDROID_PHONE + "\x00") is first
    info = fresh.parse.cache_info()
    assert (info.hits, info.misses) == (2, 1)
    fresh.facts(IPAD)
    fresh.facts(WINDOWS_CHROME)
    assert fresh.parse.cache_info().currsize == 2  # bounded


# -- IPs and bots --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "truncated"),
    [
        ("203.0.113.57", "203.0.113.0"),
        ("10.1.2.255", "10.1.2.0"),
        (" 203.0.113.57 ", "203.0.113.0"),
        ("2001:db8:1:2::1", "2001:db8:1::"),
        ("[2001:db8:abcd:12::7]", "2001:db8:abcd::"),
        ("2001:0db8:0001:ffff:ffff:ffff:ffff:ffff", "2001:db8:1::"),
        ("::ffff:198.51.100.9", "198.51.100.0"),
        ("::1", "::"),
        ("fe80::1%eth0", "fe80::"),
        ("not-an-ip", None),
        ("203.0.113.256", None),
        ("", None),
        (None, None),
    ],
)
def test_truncate_ip(ip: str | None, truncated: str | None) -> None:
    assert truncate_ip(ip) == truncated


@pytest.mark.parametrize(
    ("user_agent", "bot"),
    [
        (GOOGLEBOT, True),
        ("Mozilla/5.0 (compatible; Yeti/1.1; +http://naver.me/spd)", True),
        ("Mozilla/5.0 (compatible; Daum/4.1; +http://cs.daum.net/faq/15/4118.html)", True),
        ("facebookexternalhit/1.1", True),
        ("python-requests/2.31", True),
        ("curl/8.4.0", True),
        ("Mozilla/5.0 (Windows NT 10.0) Chrome-Lighthouse", True),
        (ANDROID_PHONE, False),
        (IPAD, False),
        (WINDOWS_CHROME, False),
        # Cubot phones are not bots (user_agents agrees: mobile, brand Cubot)
        (CUBOT, False),
        (CUBOT.replace("Cubot X30", "CUBOT NOTE 20 PRO"), False),
        ("Mozilla/5.0 (compatible; MyRobot/1.0)", True),
        ("", False),
        (None, False),
    ],
)
def test_is_bot(user_agent: str | None, bot: bool) -> None:
    assert is_bot(user_agent) is bot


# -- Decision.device through the middlewares -----------------------------------------------


@pytest.fixture(params=["asgi", "wsgi"])
def adapter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def device_app(request: AppRequest) -> Reply:
    """``/device`` answers with what the app may know of the device; ``/`` reads nothing."""
    data: dict[str, Any] = {}
    if request.path == "/device":
        data = request.consent.device
        assert request.consent.device == data  # the same answer when read again
    body = json.dumps(data).encode()
    return Reply(chunks=(body,), headers=[("Content-Type", "application/json")])


def device(harness: Harness, user_agent: str, choices: dict[str, bool] | None, **kw: Any) -> Any:
    cookies = dict(kw.pop("cookies", {}))
    if choices is not None:
        cookies["consent_mw"] = harness.token(choices)
    return harness.get("/device", headers={"user-agent": user_agent, **kw}, cookies=cookies)


FACT_KEYS = {"type", "brand", "model", "os", "os_version", "browser", "browser_version"}


def test_device_without_consent_is_ip_and_bot_flag(adapter: str) -> None:
    harness = build(adapter, device_app, device_id_cookie="did")
    result = device(harness, ANDROID_PHONE, None, cookies={"did": "dev-123"})
    assert result.body == {"ip": "203.0.113.0", "bot": False}


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (
            ANDROID_PHONE,
            {"type": "mobile", "model": "SM-S918N", "os": "Android", "browser": "Chrome Mobile"},
        ),
        (IPAD, {"type": "tablet", "model": "iPad", "os": "iOS", "browser": "Mobile Safari"}),
        (WINDOWS_CHROME, {"type": "pc", "model": None, "os": "Windows", "browser": "Chrome"}),
    ],
)
def test_device_with_analytics(adapter: str, user_agent: str, expected: dict[str, Any]) -> None:
    harness = build(adapter, device_app, device_id_cookie="did")
    result = device(harness, user_agent, {"analytics": True}, cookies={"did": "dev-123"})
    body = result.body
    assert set(body) == {"ip", "bot"} | FACT_KEYS  # no device id without advertising
    assert (body["ip"], body["bot"]) == ("203.0.113.0", False)
    for key, value in expected.items():
        assert body[key] == value, key


def test_device_with_advertising(adapter: str) -> None:
    harness = build(adapter, device_app, device_id_cookie="did")
    result = device(harness, ANDROID_PHONE, {"advertising": True}, cookies={"did": "dev-123"})
    assert result.body == {"ip": "203.0.113.0", "bot": False, "device_id": "dev-123"}
    everything = device(
        harness, IPAD, {"analytics": True, "advertising": True}, cookies={"did": "dev-9"}
    ).body
    assert everything["device_id"] == "dev-9" and everything["type"] == "tablet"


def test_device_id_needs_the_option_and_the_cookie(adapter: str) -> None:
    without_option = build(adapter, device_app)
    result = device(without_option, IPAD, {"advertising": True}, cookies={"did": "dev-123"})
    assert "device_id" not in result.body
    with_option = build(adapter, device_app, device_id_cookie="did")
    assert "device_id" not in device(with_option, IPAD, {"advertising": True}).body


def test_device_with_gpc_has_no_device_id(adapter: str) -> None:
    harness = build(adapter, device_app, device_id_cookie="did")
    choices = {"analytics": True, "advertising": True}
    result = device(harness, IPAD, choices, cookies={"did": "dev-123"}, **{"sec-gpc": "1"})
    assert "device_id" not in result.body
    assert result.body["type"] == "tablet"


def test_bots_are_flagged_and_not_profiled(adapter: str) -> None:
    harness = build(adapter, device_app)
    result = device(harness, GOOGLEBOT, {"analytics": True})
    assert result.body == {"ip": "203.0.113.0", "bot": True}


def test_device_behind_a_trusted_proxy_truncates_ipv6(adapter: str) -> None:
    harness = build(adapter, device_app, trust_forwarded=True)
    result = device(harness, IPAD, None, **{"x-forwarded-for": "2001:db8:1:2::1, 10.0.0.1"})
    assert result.body == {"ip": "2001:db8:1::", "bot": False}


def test_reading_the_device_marks_the_response_as_per_visitor(adapter: str) -> None:
    harness = build(adapter, device_app)
    read = harness.get("/device", headers={"user-agent": IPAD})
    assert read.header("vary") == "Cookie, Sec-GPC"
    assert read.header("cache-control") == "private"
    not_read = harness.get("/", headers={"user-agent": IPAD})
    assert not_read.header("vary") is None
    assert not_read.header("cache-control") is None
    decided = harness.get(
        "/", headers={"user-agent": IPAD}, cookies={"consent_mw": harness.token({})}
    )
    assert decided.header("vary") is None
