"""Expiring the tracker cookies a visitor refused: on which Domains, and how many at once.

A browser deletes a cookie only when a ``Set-Cookie`` names it with the same Domain
(or none, for a host-only cookie) and Path it was set with (RFC 6265 section 5.3, step
11); the request says neither. Trackers set ``Path=/`` on the registrable domain (GA's
"auto" cookie domain, Meta's ``_fbp``) or host-only, sometimes on a level between, so
for ``www.shop.example.co.uk`` a refused ``_ga`` gets one expiry host-only and one per
Domain ``www.shop.example.co.uk``, ``shop.example.co.uk``, ``example.co.uk``. Never
``co.uk``: a browser refuses a Domain that is a public suffix (RFC 6265 section 5.3,
step 5), so it would only cost bytes; the Public Suffix List (its private section
included: ``github.io`` is a suffix too) comes from the ``publicsuffixlist`` package's
bundled copy, never from the network. IP addresses and single-label hosts get the
host-only expiry alone (no Domain can match them).

The headers of one response are bounded: at most :data:`BUDGET` bytes of expiry
header lines, so that with the app's own headers the whole header block fits the
4 KiB a proxy such as nginx reads by default (``proxy_buffer_size``; more is a 502).
What does not fit goes out with later responses: the browser keeps sending those
cookies until they are gone. Each response starts at another of the refused names (a
turn counter), so a cookie that can never be deleted from here (set with another Path,
or on a Domain the host cannot name) cannot keep the others waiting for ever.

An expiry is ``name=; Max-Age=0; Path=/`` and the Domain: every browser in use
honours Max-Age (RFC 6265 section 5.3, step 3, lets it win over Expires), so the
``Expires`` date only cost 38 bytes per header.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterable, Sequence
from functools import lru_cache

from publicsuffixlist import PublicSuffixList

__all__ = ["BUDGET", "Expiry", "cookie_domains", "expiry_value"]

#: bytes of expiry header lines (``set-cookie: …`` and CRLF) one response may carry
BUDGET = 2048
# What a header line costs beyond its value: "set-cookie: " and CRLF.
_LINE = len("set-cookie: \r\n")


@lru_cache(maxsize=1)
def _suffixes() -> PublicSuffixList:
    # Read once, on the first expiry (about 40 ms), not when the package is imported.
    return PublicSuffixList()


def _bare_host(host: str) -> str:
    """The host name of a Host header: lowercase, no port, no trailing dot."""
    host = host.strip().lower()
    if host.startswith("["):  # an IPv6 literal, with or without a port
        return host.partition("]")[0] + "]"
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@lru_cache(maxsize=1024)
def cookie_domains(host: str, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The Domain values a cookie of ``host`` can carry, most specific first: the host
    and its parents down to the registrable domain, then those of ``extra`` that
    domain-match the host (a browser ignores the rest), never a public suffix."""
    name = _bare_host(host).rstrip(".")
    if not name or "." not in name or _is_ip(name):
        return ()
    registrable = _suffixes().privatesuffix(name)
    if registrable is None:  # the host itself is a public suffix
        return ()
    labels = name.split(".")
    depth = registrable.count(".") + 1
    found = [".".join(labels[i:]) for i in range(len(labels) - depth + 1)]
    for domain in extra:
        # A leading dot is ignored by browsers (RFC 6265 section 5.2.3).
        domain = domain.strip().lstrip(".").lower()
        matches = name == domain or name.endswith("." + domain)
        if matches and domain not in found and _suffixes().privatesuffix(domain) is not None:
            found.append(domain)
    return tuple(found)


def expiry_value(name: str, domain: str | None = None) -> str:
    """A ``Set-Cookie`` value deleting cookie ``name`` set with ``Path=/`` and ``domain``."""
    value = f"{name}=; Max-Age=0; Path=/"
    return f"{value}; Domain={domain}" if domain else value


class Expiry:
    """The expiry headers of one engine: ``headers(names, host)`` for each response."""

    def __init__(self, extra_domains: Iterable[str] = (), *, budget: int = BUDGET) -> None:
        self.extra = tuple(extra_domains)
        self.budget = budget
        self._turn = itertools.count()

    def headers(self, names: Sequence[str], host: str) -> list[bytes]:
        """Expiry ``Set-Cookie`` values for as many of ``names`` as fit the budget, each
        with every Domain it may have been set on (half-expired cookies help nobody):
        from this response's turn on, until the first that does not fit. The work is
        bounded by the budget, however many names a Cookie header brings."""
        unique = list(dict.fromkeys(names))
        if not unique:
            return []
        domains = (None, *cookie_domains(host, self.extra))
        start = next(self._turn) % len(unique)
        left = self.budget
        out: list[bytes] = []
        for name in itertools.chain(unique[start:], unique[:start]):
            values = [expiry_value(name, domain).encode("latin-1") for domain in domains]
            cost = sum(len(value) + _LINE for value in values)
            if cost > left:
                break
            out += values
            left -= cost
        return out
