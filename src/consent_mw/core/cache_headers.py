"""The headers that keep a consent-dependent response out of shared caches."""

from __future__ import annotations

__all__ = ["DEPENDENT_HEADERS", "make_private", "mark_dependent", "merge_vary"]

Headers = list[tuple[bytes, bytes]]

#: what a consent-dependent response without Vary or Cache-Control gets
DEPENDENT_HEADERS = ((b"vary", b"Cookie, Sec-GPC"), (b"cache-control", b"private"))


def mark_dependent(headers: Headers) -> None:
    """Make ``headers`` say the response depends on consent (Vary, Cache-Control)."""
    vary_at = cache_at = -1
    for index, (key, _) in enumerate(headers):
        key = key.lower()
        if key == b"vary":
            vary_at = index
        elif key == b"cache-control":
            cache_at = index
    merge_vary(headers, vary_at)
    make_private(headers, cache_at)


def merge_vary(headers: list[tuple[bytes, bytes]], at: int) -> None:
    # Shared caches must key consent-dependent responses on the consent cookie and
    # the GPC signal (RFC 9110 section 12.5.5).
    if at < 0:
        headers.append((b"vary", b"Cookie, Sec-GPC"))
        return
    name, value = headers[at]
    present = {v.strip().lower() for v in value.split(b",")}
    if b"*" in present:
        return
    missing = [v for v in (b"Cookie", b"Sec-GPC") if v.lower() not in present]
    if missing:
        headers[at] = (
            name,
            b", ".join([value, *missing]) if value.strip() else b", ".join(missing),
        )


def make_private(headers: list[tuple[bytes, bytes]], at: int) -> None:
    # Many CDNs ignore Vary: Cookie, so a page made for one visitor's consent must
    # also not be stored by shared caches at all (RFC 9111 section 5.2.2.7).
    if at < 0:
        headers.append((b"cache-control", b"private"))
        return
    name, value = headers[at]
    directives = [d.strip() for d in value.split(b",") if d.strip()]
    lowered = {d.split(b"=", 1)[0].lower() for d in directives}
    if b"no-store" in lowered or b"private" in lowered:
        return
    kept = [d for d in directives if d.split(b"=", 1)[0].lower() not in (b"public", b"s-maxage")]
    headers[at] = (name, b", ".join([b"private", *kept]))
