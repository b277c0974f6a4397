"""Minimising automatically collected device and network data.

IP addresses are personal data (CJEU C-582/14, Breyer): the ledger keeps
them truncated to the network (/24 for IPv4, /48 for IPv6), which is enough
to investigate abuse and not enough to single out a household.
"""

from __future__ import annotations

import ipaddress
import re

__all__ = ["MAX_USER_AGENT", "clean_user_agent", "is_bot", "truncate_ip"]

MAX_USER_AGENT = 512

_BOT = re.compile(
    r"bot\b|crawl|spider|slurp|bingpreview|facebookexternalhit|lighthouse"
    r"|python-requests|curl/|wget/|httpx|go-http-client|java/|yeti|daum(oa)?\b|naverbot",
    re.IGNORECASE,
)


def truncate_ip(ip: str | None) -> str | None:
    """``203.0.113.57`` -> ``203.0.113.0``; ``2001:db8:1:2::1`` -> ``2001:db8:1::``."""
    if not ip:
        return None
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
    cleaned = "".join(ch for ch in value[:MAX_USER_AGENT] if ch.isprintable())
    return cleaned or None


def is_bot(user_agent: str | None) -> bool:
    """Whether a user agent declares itself an automated client (crawler, monitor, library)."""
    return bool(user_agent) and _BOT.search(user_agent or "") is not None
