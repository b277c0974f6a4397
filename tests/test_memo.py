"""The bounded memo every cache of the package goes through."""

from __future__ import annotations

from consent_mw._memo import remember
from test_cookies import RacedDict


def test_a_full_memo_drops_its_oldest_entry() -> None:
    memo: dict[str, int] = {}
    for index, key in enumerate("abcde"):
        remember(memo, key, index, 3)
    assert memo == {"c": 2, "d": 3, "e": 4}


def test_a_limit_of_zero_keeps_nothing() -> None:
    memo: dict[str, int] = {}
    remember(memo, "a", 1, 0)
    remember(memo, "b", 2, -1)
    assert memo == {}


def test_an_eviction_by_another_thread_first_is_no_error() -> None:
    memo = RacedDict({"a": 1, "b": 2})
    remember(memo, "c", 3, 2)
    assert memo["c"] == 3 and len(memo) <= 2
