"""The Redis store's key layout, shared by its sync and async faces.

Every key of one subject carries the subject as its hash tag, so one Lua script
can touch all of them on Redis Cluster (the one-slot rule)::

    {p}:{<subject>}:hist        list    the proof records, newest first (JSON)
    {p}:{<subject>}:cur         string  the current state (the JSON of the latest record)
    {p}:{<subject>}:users       set     users this subject was linked to (for deletion)
    {p}:{<subject>}:evt / :eve  zsets   the subject's events by time / by expiry
    {p}:{<subject>}:ev:<eid>    string  one event (JSON), PXAT its expires_at
    {p}:{<subject>}:feed        set     the subject's entry ids in the change feed
    {p}:n:{<slot tag>}          hash    counter shard of one slot (see below)
    {p}:n:total                 hash    all counters (single server only; see below)
    {p}:access                  stream  the access log (who queried what), capped
    {p}:feed                    stream  the change feed (single server only), capped
    {p}:u:{<user>}:subjects     zset    subjects linked to a user, by link time
    {p}:u:{<user>}:evt / :eve   zsets   the user's events (bodies live with their subject)
    {p}:g:{e<k>}:evt / :eve     zsets   all events, 16 shards (for listing without a filter)

Counter shards: the counters of every subject whose keys hash to slot ``s`` live in the
hash ``{p}:n:{T[s]}``, where ``T[s]`` is a short tag chosen so that it hashes to that
same slot ``s``. The consent-change script therefore reads the old state, appends,
replaces and moves the counters of a subject inside one slot, atomically, on a single
server and on a cluster alike.

On a single server (no slot rule) the same script also moves the same counters in
``{p}:n:total``, so ``counts()`` is one HGETALL. The total carries a marker field
``#`` and is only maintained while it exists: when it is missing (a ledger written
before it existed, or someone deleted it) ``counts()`` rebuilds it from the shards in
one script, atomically, and the changes that follow keep it exact. On a cluster
``counts()`` sums the (at most 16384) shards. Upgrading from a version without the
total: a writer still on that version moves only the shards, so delete
``{p}:n:total`` once the last such writer has stopped (the next ``counts()`` rebuilds
it), or stop them all before the upgrade.

Ids are escaped (``%`` ``{`` ``}``) so a brace in an id can never move the hash tag, and
no two ids share a key.
"""

from __future__ import annotations

import binascii
import functools
import itertools
import os
import secrets

from ..exceptions import ConfigError

__all__ = [
    "EVENT_SHARDS",
    "SLOTS",
    "TOTAL_MARKER",
    "Keys",
    "counter_field",
    "glob_escape",
    "parse_counter_field",
    "slot_tags",
]

SLOTS = 16384
EVENT_SHARDS = 16
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def _slot(tag: str) -> int:
    # Redis Cluster's key slot: CRC16/XMODEM of the hash tag, mod 16384 (binascii's
    # crc_hqx is that CRC, the same function redis-py uses).
    return binascii.crc_hqx(tag.encode("utf-8"), 0) % SLOTS


@functools.cache
def slot_tags() -> tuple[str, ...]:
    """For every slot, the first base-36 numeral (``"0"``, ``"1"``…) that hashes to it.

    Deterministic, so every process agrees on the shard names (about 90,000 CRCs, once).
    """
    tags: list[str | None] = [None] * SLOTS
    missing, n = SLOTS, 0
    while missing:
        digits, rest = "", n
        while True:
            rest, digit = divmod(rest, 36)
            digits = _ALPHABET[digit] + digits
            if not rest:
                break
        slot = _slot(digits)
        if tags[slot] is None:
            tags[slot] = digits
            missing -= 1
        n += 1
    return tuple(t for t in tags if t is not None)


def escape(value: str) -> str:
    if "{" in value or "}" in value or "%" in value:
        return value.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")
    return value


#: The field that marks ``{p}:n:total`` as built (never a counter: those start with a digit).
TOTAL_MARKER = b"#"


def glob_escape(text: str) -> str:
    """``text`` matched literally by a SCAN MATCH pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def counter_field(version: str, category: str, granted: bool) -> str:
    """The counter field the scripts write (see :func:`parse_counter_field`)."""
    return f"{len(version.encode('utf-8'))}:{version}{category}:{'1' if granted else '0'}"


def parse_counter_field(field: bytes) -> tuple[str, str, bool]:
    """``b"<len>:<version><category>:<0|1>"`` (as the scripts write it) → the triple."""
    colon = field.index(b":")
    size = int(field[:colon])
    version = field[colon + 1 : colon + 1 + size]
    rest = field[colon + 1 + size :]
    if rest[-2:-1] != b":" or rest[-1:] not in (b"0", b"1"):
        raise ValueError(f"not a counter field: {field!r}")
    return version.decode("utf-8"), rest[:-2].decode("utf-8"), rest[-1:] == b"1"


_SUFFIX_MASK = (1 << 48) - 1
_EVENT_SEQUENCE = itertools.count(secrets.randbits(48))


def _reseed() -> None:
    """A forked worker (gunicorn --preload, multiprocessing) starts a counter of its
    own: its parent's copy would make the same ids as its siblings."""
    global _EVENT_SEQUENCE
    _EVENT_SEQUENCE = itertools.count(secrets.randbits(48))


os.register_at_fork(after_in_child=_reseed)


class Keys:
    """Key names under one prefix."""

    def __init__(self, prefix: str = "cmw") -> None:
        if not prefix or "{" in prefix or "}" in prefix:
            raise ConfigError(f"The Redis key prefix must be non-empty, no braces: {prefix!r}.")
        self.prefix = prefix

    # -- one subject (one slot) ------------------------------------------------------

    def subject(self, subject_id: str) -> str:
        return f"{self.prefix}:{{{escape(subject_id)}}}"

    def hist(self, subject_id: str) -> str:
        return self.subject(subject_id) + ":hist"

    def cur(self, subject_id: str) -> str:
        return f"{self.prefix}:{{{escape(subject_id)}}}:cur"

    def curs(self, subject_ids: list[str]) -> list[str]:
        """``cur()`` of many subjects (the batch path of ``lookup``)."""
        blob = "".join(subject_ids)
        if "{" in blob or "}" in blob or "%" in blob:
            return [self.cur(s) for s in subject_ids]
        prefix = self.prefix
        return [f"{prefix}:{{{s}}}:cur" for s in subject_ids]

    def feed_ids(self, subject_id: str) -> str:
        return self.subject(subject_id) + ":feed"

    def users(self, subject_id: str) -> str:
        return self.subject(subject_id) + ":users"

    def counters(self, subject_id: str) -> str:
        return f"{self.prefix}:n:{{{slot_tags()[_slot(escape(subject_id))]}}}"

    def all_counters(self) -> list[str]:
        return [f"{self.prefix}:n:{{{tag}}}" for tag in slot_tags()]

    def total(self) -> str:
        return f"{self.prefix}:n:total"

    def current_pattern(self) -> str:
        """SCAN MATCH pattern of every current-state key (and nothing else: a subject's
        braces are escaped, the prefix has none)."""
        return f"{glob_escape(self.prefix)}:{{*}}:cur"

    def access(self) -> str:
        return f"{self.prefix}:access"

    def feed(self) -> str:
        return f"{self.prefix}:feed"

    # -- users -------------------------------------------------------------------------

    def user(self, user_id: str) -> str:
        return f"{self.prefix}:u:{{{escape(user_id)}}}"

    def user_subjects(self, user_id: str) -> str:
        return self.user(user_id) + ":subjects"

    # -- events --------------------------------------------------------------------------

    def shard(self, k: int) -> str:
        return f"{self.prefix}:g:{{e{k}}}"

    @staticmethod
    def event_id(when: float, shard: int | None = None) -> str:
        """Time-ordered and unique: 12 hex digits of milliseconds + 11 of a counter that
        starts at a random value per process (no system call per id, as a random
        suffix would need; ids of two processes meet only if their counters do) + one
        for the shard (:meth:`shard_of`). Without ``shard`` the counter picks it, so
        consecutive ids spread over the shards; a batch of events written together
        takes one shard for all (one index to write to, not sixteen)."""
        n = next(_EVENT_SEQUENCE)
        low = n if shard is None else shard
        return f"{int(when * 1000):012x}{((n << 4) | (low % EVENT_SHARDS)) & _SUFFIX_MASK:012x}"

    @staticmethod
    def shard_of(event_id: str) -> int:
        return int(event_id[-2:], 16) % EVENT_SHARDS

    @staticmethod
    def by_time(scope: str) -> str:
        return scope + ":evt"

    @staticmethod
    def by_expiry(scope: str) -> str:
        return scope + ":eve"
