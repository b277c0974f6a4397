"""Minimising automatically collected device and network data.

IP addresses are personal data (CJEU C-582/14, Breyer): the ledger keeps
them truncated to the network (/24 for IPv4, /48 for IPv6), which is enough
to investigate abuse and not enough to single out a household.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Literal

from ..exceptions import ConfigError
from .bots import MAX_LENGTH, declares_bot, is_bot

__all__ = [
    "MAX_USER_AGENT",
    "DeviceFacts",
    "DeviceParser",
    "bot_check",
    "clean_user_agent",
    "is_bot",
    "truncate_ip",
]

#: one length for parsing, recording and the bot check
MAX_USER_AGENT = MAX_LENGTH


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}\Z")


def truncate_ip(ip: str | None) -> str | None:
    """``203.0.113.57`` -> ``203.0.113.0``; ``2001:db8:1:2::1`` -> ``2001:db8:1::``."""
    if not ip:
        return None
    if _IPV4.match(ip):
        # The common case without the ipaddress module (runs for every recorded request).
        return ip.rsplit(".", 1)[0] + ".0"
    try:
        address = ipaddress.ip_address(ip.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def clean_user_agent(value: str | None) -> str | None:
    """A user agent cut to a sane length with control characters removed."""
    if not value:
        return None
    value = value[:MAX_USER_AGENT]
    if value.isprintable():  # nearly always: no copy, no per-character loop
        return value
    cleaned = "".join(ch for ch in value if ch.isprintable())
    return cleaned or None


@dataclass(frozen=True)
class DeviceFacts:
    """What a user agent says about the device, classified like ``user-agents`` does."""

    type: Literal["mobile", "tablet", "pc", "bot", "other"]
    brand: str | None
    model: str | None
    os: str | None
    os_version: str | None
    browser: str | None
    browser_version: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)  # every field is a str or None: no deep copy needed


@cache
def _fast_parser() -> Any | None:
    # ua-parser 1.x with its Rust accelerator parses an unseen string in ~16 µs where
    # user_agents.parse (the legacy pure-Python path) takes ~350 µs (PEERS.md). Built once
    # per process (~0.25 s) and shared by every DeviceParser.
    try:
        from ua_parser import Parser
        from ua_parser.loaders import load_builtins
        from ua_parser.regex import Resolver
    except ImportError:
        return None
    return Parser(Resolver(load_builtins()))


def _classified(user_agent: Any) -> DeviceFacts:
    if user_agent.is_bot:
        kind: Literal["mobile", "tablet", "pc", "bot", "other"] = "bot"
    elif user_agent.is_tablet:
        kind = "tablet"
    elif user_agent.is_mobile:
        kind = "mobile"
    elif user_agent.is_pc:
        kind = "pc"
    else:
        kind = "other"
    device, os_, browser = user_agent.device, user_agent.os, user_agent.browser
    return DeviceFacts(
        type=kind,
        brand=device.brand or None,
        model=device.model or None,
        os=None if os_.family == "Other" else os_.family,
        os_version=os_.version_string or None,
        browser=None if browser.family == "Other" else browser.family,
        browser_version=browser.version_string or None,
    )


class DeviceParser:
    """User-agent parsing behind a bounded cache, done only when something asks.

    Uses ``ua-parser``'s fast resolver for the parse when it is installed and keeps
    ``user-agents``' classification (mobile / tablet / pc / bot) on top of it; falls
    back to ``user_agents.parse``. Oversized or odd strings are cleaned first
    (:func:`clean_user_agent`), never a crash.
    """

    def __init__(self, cache_size: int = 4096) -> None:
        try:
            import user_agents  # noqa: F401
        except ImportError as exc:
            raise ConfigError(
                "Device facts need the 'ua' extra: pip install 'consent_mw[ua]'."
            ) from exc
        self._fast = _fast_parser()
        self.parse = lru_cache(maxsize=cache_size)(self._parse)

    def _parse(self, value: str) -> DeviceFacts:
        from user_agents import parsers

        if self._fast is None:
            return _classified(parsers.UserAgent(value))
        result = self._fast.parse(value)
        agent = parsers.UserAgent.__new__(parsers.UserAgent)
        agent.ua_string = value
        ua, os_, device = result.user_agent, result.os, result.device
        agent.browser = parsers.parse_browser(
            ua.family if ua else "Other", *(_parts(ua) if ua else ())
        )
        agent.os = parsers.parse_operating_system(
            os_.family if os_ else "Other", *(_parts(os_) if os_ else ())
        )
        agent.device = parsers.parse_device(
            device.family if device else "Other",
            device.brand if device else None,
            device.model if device else None,
        )
        return _classified(agent)

    def facts(self, user_agent: str | None) -> DeviceFacts | None:
        cleaned = clean_user_agent(user_agent)
        return self.parse(cleaned) if cleaned else None

    def is_crawler(self, user_agent: str | None) -> bool:
        """Whether the parser classifies ``user_agent`` as a crawler: ua-parser's device
        family ``Spider``, which ``user-agents`` calls a bot (``facts().type == "bot"``).
        Not remembered; with the fast parser only the device is parsed (~9 µs)."""
        cleaned = clean_user_agent(user_agent)
        if not cleaned:
            return False
        if self._fast is None:
            return self.parse(cleaned).type == "bot"
        device = self._fast.parse_device(cleaned)
        return device is not None and device.family == "Spider"


def _parts(part: Any) -> tuple[str | None, ...]:
    return (part.major, part.minor, part.patch)


def bot_check(
    parser: Callable[[], DeviceParser | None] = lambda: None, cache_size: int = 4096
) -> Callable[[str | None], bool]:
    """``check(user_agent) -> bool``: whether a user agent is an automated client, by
    :func:`~consent_mw.core.bots.is_bot`'s patterns and, beside them, the device parser's
    crawler classification when the ``ua`` extra is installed. One answer per string is
    remembered, so a user agent seen before costs what :func:`is_bot` costs::

        check = bot_check(lambda: engine.device_parser)
        check("Mozilla/5.0 (compatible; Yeti/1.1; +https://naver.me/spd)")  # True

    ``parser`` (the parser, or None without the extra) is called when the patterns say no,
    the first time a user agent is seen; building a parser takes about 0.3 s, so the engine
    builds its own when it starts.
    """

    @lru_cache(maxsize=cache_size)
    def classify(user_agent: str) -> bool:
        if declares_bot(user_agent):
            return True
        device_parser = parser()
        return device_parser is not None and device_parser.is_crawler(user_agent)

    # A plain function, like is_bot: it runs on every request, and an object's __call__
    # would cost twice as much.
    def check(user_agent: str | None) -> bool:
        if not user_agent:
            return False
        if len(user_agent) > MAX_USER_AGENT:
            user_agent = user_agent[:MAX_USER_AGENT]
        return classify(user_agent)

    return check
