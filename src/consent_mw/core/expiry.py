"""Expiring the tracker cookies a visitor refused: on which Domains, and how many at once.

What a browser does with each header, and what cannot be deleted from the server, is in
``docs/expiry.md``. In short: a browser deletes a cookie only when a ``Set-Cookie`` names
it with the same Domain (or none, for a host-only cookie) and Path it was set with (RFC
6265 section 5.3, step 11); the request says neither. Trackers set ``Path=/`` on the
registrable domain (GA's "auto" cookie domain, Meta's ``_fbp``) or host-only, sometimes on
a level between, so for ``www.shop.example.co.uk`` a refused ``_ga`` gets one expiry
host-only and one per Domain ``www.shop.example.co.uk``, ``shop.example.co.uk``,
``example.co.uk``. Never ``co.uk``: a browser refuses a Domain that is a public suffix (RFC
6265 section 5.3, step 5), so it would only cost bytes; the Public Suffix List (its private
section included: ``github.io`` is a suffix too) comes from the ``publicsuffixlist``
package's bundled copy, never from the network. IP addresses, single-label hosts and Host
headers that are no DNS name get the host-only expiry alone (no Domain can match them).

The headers of one response are bounded: at most :data:`BUDGET` bytes of expiry header
lines, so that with the app's own headers the whole header block fits the 4 KiB a proxy
such as nginx reads by default (``proxy_buffer_size``; more is a 502). What does not fit
goes out with later responses: the browser keeps sending those cookies until they are
gone. Each response starts at another of the refused names (a turn counter) and looks at
no more than :data:`SCAN` of them, so a cookie that can never be deleted from here (set
with another Path, or on a Domain the host cannot name) cannot keep the others waiting
for ever, and a Cookie header of thousands of names costs no more than one of a dozen.

An expiry is ``name=; Max-Age=0; Path=/`` and the Domain: every browser in use honours
Max-Age (RFC 6265 section 5.3, step 3, lets it win over Expires), so the ``Expires`` date
would only cost 38 bytes per header.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from publicsuffixlist import PublicSuffixList

__all__ = [
    "BUDGET",
    "MAX_DOMAINS",
    "SCAN",
    "Expiry",
    "cookie_domains",
    "expiry_value",
    "is_domain_name",
]

#: bytes of expiry header lines (``set-cookie: …`` and CRLF) one response may carry
BUDGET = 2048
#: refused names one response looks at, from its turn on (the rest wait for a later turn)
SCAN = 64
#: Domain values per cookie at most: the host and the parents nearest its registrable domain
MAX_DOMAINS = 5

# What a header line costs beyond its value: "set-cookie: " and CRLF.
_LINE = len("set-cookie: \r\n")
_DELETE = b"=; Max-Age=0; Path=/"
_DOMAIN = b"; Domain="
# Per value: the line, the name's "=; Max-Age=0; Path=/" (the name itself comes on top).
_VALUE = _LINE + len(_DELETE)
# A DNS name as browsers send it in Host (RFC 1123 labels; underscores occur in the wild).
_HOST_NAME = re.compile(r"(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9_-]{1,63}\Z")
# A Domain as configured: one label or more, a leading dot allowed (RFC 6265 section 5.2.3).
_DOMAIN_NAME = re.compile(r"\.?(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_-]{1,63}\Z")
# A name ending in a number is an IPv4 address to a browser ("10.1", "0x7f.1": WHATWG URL).
_NUMERIC = re.compile(r"(?:[0-9]+|0x[0-9a-f]*)\Z")
# A Host longer than a DNS name (253), a trailing dot and a port names no Domain; it is
# not remembered either (distinct 8 KB Hosts would fill the memos with their text).
_LONGEST_HOST = 253 + len(".:65535")
_HOST_ONLY: tuple[tuple[bytes, ...], int] = ((), 0)


@lru_cache(maxsize=1)
def _suffixes() -> PublicSuffixList:
    # Read once, on the first expiry (about 40 ms), not when the package is imported.
    return PublicSuffixList()


def _bare_host(host: str) -> str:
    """The host name of a Host header: lowercase, no port, no trailing dot."""
    host = host.strip().lower()
    if host.startswith("["):  # an IPv6 literal, with or without a port
        return host.partition("]")[0] + "]"
    return (host.rpartition(":")[0] if host.count(":") == 1 else host).rstrip(".")


def is_domain_name(text: str) -> bool:
    """Whether ``text`` can be a cookie's Domain: a DNS name, any case, a leading dot
    allowed. Whether a browser takes it from a given host is for :func:`cookie_domains`."""
    return len(text) <= 254 and _DOMAIN_NAME.match(text.lower()) is not None


@lru_cache(maxsize=1024)
def cookie_domains(host: str, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The Domain values a cookie of ``host`` can carry, most specific first: the host
    and its parents down to the registrable domain (at most :data:`MAX_DOMAINS`, the
    levels just below the host dropped first), then those of ``extra`` that
    domain-match the host (a browser ignores the rest), never a public suffix."""
    name = _bare_host(host)
    # Also bounds the work: a Host header is up to some 8 KB, a DNS name 253 bytes. An
    # IPv6 literal is no name either; an IPv4 address is one ending in a number.
    if len(name) > 253 or not _HOST_NAME.match(name) or _NUMERIC.match(name.rpartition(".")[2]):
        return ()
    registrable = _suffixes().privatesuffix(name)
    if registrable is None:  # the host itself is a public suffix
        return ()
    labels = name.split(".")
    depth = registrable.count(".") + 1
    found = [".".join(labels[i:]) for i in range(len(labels) - depth + 1)]
    if len(found) > MAX_DOMAINS:
        # Trackers set cookies host-only, on the registrable domain, or a level or two
        # below it (a site's configured cookie domain); rarely just below a deep host.
        found = [found[0], *found[len(found) - MAX_DOMAINS + 1 :]]
    for domain in extra:
        # A leading dot is ignored by browsers (RFC 6265 section 5.2.3).
        domain = domain.strip().lstrip(".").lower()
        matches = name == domain or name.endswith("." + domain)
        if matches and domain not in found and _suffixes().privatesuffix(domain) is not None:
            found.append(domain)
    return tuple(found)


@lru_cache(maxsize=1024)
def _domain_plan(host: str, extra: tuple[str, ...]) -> tuple[tuple[bytes, ...], int]:
    """``(the "; Domain=…" suffixes of host's expiries, their total length)``."""
    suffixes = tuple(_DOMAIN + domain.encode("ascii") for domain in cookie_domains(host, extra))
    return suffixes, sum(map(len, suffixes))


def expiry_value(name: str, domain: str | None = None) -> str:
    """A ``Set-Cookie`` value deleting cookie ``name`` set with ``Path=/`` and ``domain``."""
    value = f"{name}=; Max-Age=0; Path=/"
    return f"{value}; Domain={domain}" if domain else value


class Expiry:
    """The expiry headers of one engine: ``headers(names, host)`` for each response."""

    def __init__(
        self, extra_domains: Iterable[str] = (), *, budget: int = BUDGET, scan: int = SCAN
    ) -> None:
        self.extra = tuple(extra_domains)
        self.budget = budget
        self.scan = scan
        self._turn = itertools.count()

    def headers(self, names: Sequence[str], host: str) -> list[bytes]:
        """Expiry ``Set-Cookie`` values for as many of ``names`` as fit the budget, each
        with every Domain it may have been set on (half-expired cookies help nobody):
        from this response's turn on, looking at :data:`SCAN` names at most, skipping
        those that do not fit. The work is bounded, however many names a Cookie header
        brings."""
        count = len(names)
        if not count:
            return []
        plan = _domain_plan(host, self.extra) if len(host) <= _LONGEST_HOST else _HOST_ONLY
        suffixes, suffix_bytes = plan
        per_name = 1 + len(suffixes)  # values per name: host-only, then each Domain
        start = next(self._turn) % count
        left = self.budget
        out: list[bytes] = []
        seen: set[str] = set()
        for i in range(start, start + min(count, self.scan)):
            name = names[i % count]
            cost = per_name * (_VALUE + len(name)) + suffix_bytes
            if cost > left or name in seen:
                continue
            seen.add(name)
            value = name.encode("latin-1") + _DELETE
            out.append(value)
            out += [value + suffix for suffix in suffixes]
            left -= cost
            if left < per_name * (_VALUE + 1) + suffix_bytes:  # not even a one-letter name
                break
        return out
