"""Bounded memos: the one way this package keeps a cache.

A memo an object keeps in a plain ``dict`` (the engine's, the cookie codec's, the tracker
matcher's, the query views', the HTML rewriter's) is read with ``dict.get`` or
``memo[key]`` as usual and written only through :func:`remember`, which holds it to
``limit`` entries by dropping the oldest first (a dict keeps insertion order)::

    found = self._memo.get(key)
    if found is None:
        found = compute(key)
        remember(self._memo, key, found, 4096)

Reads cost a dict lookup and nothing more, which is what the per-request memos need. A
memo of a pure function of hashable arguments (the expiry Domains per host, the parsed
user agents) is ``functools.lru_cache(maxsize=...)`` instead: the standard library's, in
C, with ``cache_info()`` for tests. Nothing else: no memo cleared when full, no hand-made
eviction. (``functools.cache`` without a bound is only for what a few settings key, such
as the HTML scanner's compiled patterns: nothing a visitor sends.)
"""

from __future__ import annotations

from typing import TypeVar

__all__ = ["remember"]

_K = TypeVar("_K")
_V = TypeVar("_V")


def remember(memo: dict[_K, _V], key: _K, value: _V, limit: int) -> None:
    """Keep ``value`` under ``key`` in ``memo``, which holds at most ``limit`` entries:
    when it is full the oldest goes first. A ``limit`` of 0 (or less) keeps nothing."""
    if limit <= 0:
        return
    if len(memo) >= limit:
        # Threads of a WSGI server evict at the same time: the oldest entry may be gone
        # already, or the dict may change under the iterator. Either way there is room.
        try:
            memo.pop(next(iter(memo)), None)
        except (RuntimeError, StopIteration):
            pass
    memo[key] = value
