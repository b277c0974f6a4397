"""Whether an inline script may run on a page, read from the page's own
``Content-Security-Policy`` headers: the Consent Mode default goes inline when it may
(no extra request before the page renders), and is fetched from a URL only when not.

CSP Level 3, section 6.7.3.3 ("Does a source list allow all inline behavior"): the
directive that governs a ``<script>`` element is ``script-src-elem``, else ``script-src``,
else ``default-src``; none of them: anything runs. Inline code runs with a nonce the
list names, or with ``'unsafe-inline'`` as long as the list names no nonce, no hash and
no ``'strict-dynamic'`` (any of those turns ``'unsafe-inline'`` off). A response may carry
several policies (several headers, or one header with policies joined by commas): a
script runs only if every one of them lets it. ``-Report-Only`` policies block nothing.
A ``<meta>`` policy applies only to what follows it in the document, and the injected
block comes first in ``<head>``, so it is not read.
"""

from __future__ import annotations

from typing import Final

from .._memo import remember

__all__ = ["ANY", "inline_nonce"]

#: the answer "an inline script without a nonce runs"
ANY: Final = ""

_GOVERNING = (b"script-src-elem", b"script-src", b"default-src")


#: the answers for the policies a site sends, with the page's own nonce marked: a strict
#: CSP names a new nonce on every response, the rest of it stays the same
_answers: dict[tuple[tuple[bytes, ...], bool], str | None] = {}
_MARK: Final = "\x00"


def inline_nonce(policies: list[bytes] | None, preferred: str | None) -> str | None:
    """:data:`ANY` if an inline script runs as it is, a nonce if it runs with that
    nonce (``preferred``, the ``csp_nonce`` option's value, when the policies accept
    it), None if no inline script can run. ``policies``: the values of the response's
    ``Content-Security-Policy`` headers (see ``Visit.csp``)."""
    if not policies:
        return preferred if preferred is not None else ANY
    if preferred is not None:
        value = preferred.encode("latin-1", "replace")
        policies = [policy.replace(value, b"\x00") for policy in policies]
    key = (tuple(policies), preferred is not None)
    found = _answers.get(key)
    if found is None and key not in _answers:
        found = _answer(policies, _MARK if preferred is not None else None)
        remember(_answers, key, found, 256)
    if found and preferred is not None:
        return found.replace(_MARK, preferred)
    return found


def _answer(policies: list[bytes], preferred: str | None) -> str | None:
    needed: set[str] | None = None
    for value in policies:
        for policy in value.split(b","):
            nonces = _policy_nonces(policy)
            if nonces is None:
                return None
            if nonces:
                needed = nonces if needed is None else needed & nonces
                if not needed:
                    return None
    if needed is None:
        return preferred if preferred is not None else ANY
    if preferred is not None and preferred in needed:
        return preferred
    return min(needed)  # any will do; min() keeps the choice stable


def _policy_nonces(policy: bytes) -> set[str] | None:
    """For one policy: an empty set (inline runs), the nonces that let it run, or None."""
    directives: dict[bytes, list[bytes]] = {}
    for directive in policy.split(b";"):
        tokens = directive.split()
        if tokens:
            # The first occurrence of a directive wins (section 2.2.1).
            directives.setdefault(tokens[0].lower(), tokens[1:])
    for name in _GOVERNING:
        sources = directives.get(name)
        if sources is not None:
            break
    else:
        return set()
    nonces: set[str] = set()
    unsafe_inline = restricted = False
    for source in sources:
        lowered = source.lower()
        if lowered.startswith(b"'nonce-") and lowered.endswith(b"'") and len(source) > 8:
            # The value is case-sensitive: only the keyword is lowered.
            nonces.add(source[7:-1].decode("latin-1"))
        elif lowered == b"'unsafe-inline'":
            unsafe_inline = True
        elif lowered == b"'strict-dynamic'" or lowered.startswith(
            (b"'sha256-", b"'sha384-", b"'sha512-")
        ):
            restricted = True
    if nonces:
        return nonces
    if unsafe_inline and not restricted:
        return set()
    return None
