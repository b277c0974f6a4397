"""Validators of rewritten pages: the app's ETag made specific to the visitor's decision.

A rewritten page differs per decision (tags neutralised, the Consent Mode default),
but the app computed its ``ETag`` over its own body, the same for everyone. Passed on
as it is, a browser that stored the page under one decision revalidates it after a
change of consent and gets a 304 for the old body (a cache may send the validators
of every response it stores, RFC 9111 section 4.3.1). So:

- a rewritten response's ``ETag`` becomes weak (its bytes are not the app's, so no
  range request may rely on it, RFC 9110 section 13.1.5) and carries a tag of the
  decision: ``"abc"`` becomes ``W/"abc-cmw<10 hex digits>"``; its ``Last-Modified``
  goes (a date cannot tell two decisions apart);
- on the way in, ``If-None-Match`` entity tags of the current decision are handed to
  the app as its own (If-None-Match compares weakly, RFC 9110 section 13.1.2), those
  of another decision are removed, and ``If-Modified-Since`` with them when none is
  left, so the app answers 200 with the body for the decision in force;
- a 304 the app answers to one of our tags gets that tag back on its ``ETag``, so the
  stored response keeps it (RFC 9111 section 4.3.4).
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["MARK", "app_if_none_match", "decision_etag", "decision_tag"]

#: what sets an entity tag of ours apart: ``-cmw`` and the decision's tag
MARK = "-cmw"
_TAG_LENGTH = 10
# RFC 9110 section 8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; commas may
# appear inside the quotes, so the list is read tag by tag, not split on commas.
_ENTITY_TAG = re.compile(r'\s*(\*|(?:W/)?"[^"]*")\s*(?:,|\Z)')


def decision_tag(version: str, allowed: frozenset[str]) -> str:
    """Ten hex digits that tell apart the bodies of one policy version's decisions."""
    text = version + "\0" + "\0".join(sorted(allowed))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_TAG_LENGTH]


def decision_etag(value: bytes, tag: str) -> bytes | None:
    """The app's ``ETag`` value made weak and specific to ``tag``; None when the value
    is no entity tag (then the response goes without one)."""
    opaque = value.strip()
    if opaque.startswith(b"W/"):
        opaque = opaque[2:]
    if len(opaque) < 2 or opaque[:1] != b'"' or opaque[-1:] != b'"' or opaque.count(b'"') != 2:
        return None
    return b"W/" + opaque[:-1] + MARK.encode() + tag.encode() + b'"'


def app_if_none_match(header: str, tag: str) -> tuple[str | None, bool]:
    """``(the If-None-Match the app sees, whether any tag of ours matched)``.

    The first is None when ``header`` holds no tag of ours (unchanged) and ``""``
    when none is left (the header and If-Modified-Since are removed).
    """
    if MARK not in header:
        return None, False
    kept: list[str] = []
    matched = False
    position = 0
    while position < len(header):
        found = _ENTITY_TAG.match(header, position)
        if found is None:
            # Not a list of entity tags: the app judges it (it cannot match ours).
            return None, False
        position = found.end()
        item = found.group(1)
        at = item.rfind(MARK)
        if at < 0 or len(item) - at - len(MARK) - 1 != _TAG_LENGTH:
            kept.append(item)
        elif item[at + len(MARK) : -1] == tag:
            kept.append(item[:at] + '"')
            matched = True
        # else: the tag of another decision (or policy version): its body is stale.
    return ", ".join(kept), matched
