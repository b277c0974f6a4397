"""Signed webhooks for the change feed: every consent change POSTed to a receiver,
at least once, in order, with retries and a dead-letter list.

The signature (header ``Consent-MW-Signature``)::

    Consent-MW-Signature: t=1733400000,v1=<hex HMAC-SHA256(secret, "1733400000." + body)>

``t`` is the sending time (seconds since the epoch); ``v1`` may appear more than once
while secrets rotate (one per secret). A receiver recomputes the HMAC over the raw body
with :func:`verify_signature`, refuses a ``t`` older than five minutes (a replayed
request) and drops a delivery whose ``Consent-MW-Delivery`` id it has already seen
(delivery is at least once). The body is the JSON of
:meth:`~consent_mw.query.adfeed.AdsFeed.changes`: ``{"changes": [...], "next_cursor"}``.

:class:`WebhookWorker` runs the delivery (``consent-mw webhooks run``): it reads the
feed from its last acknowledged cursor, POSTs each page, and on a failure (a network
error, a timeout, any status but 2xx) retries with exponential backoff and jitter; after
``max_attempts`` the page goes to the dead-letter list and the worker moves on, so one
broken page cannot hold back every withdrawal after it. ``consent-mw webhooks dead``
lists the dead letters, ``consent-mw webhooks replay`` sends them again. The cursor and
the dead letters live in a small SQLite file (``state``): the worker advances the
cursor only after the receiver acknowledged the page (or it was dead-lettered), so a
worker killed mid-delivery sends that page again when it restarts. Run one worker per
receiver and state file.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import secrets
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .._json import dumps
from ..exceptions import ConfigError, ConsentError, StoreUnavailable
from .adfeed import AdsFeed
from .caller import Caller

__all__ = [
    "DELIVERY_HEADER",
    "SIGNATURE_HEADER",
    "DeadLetter",
    "new_secret",
    "SignatureError",
    "WebhookWorker",
    "sign_body",
    "verify_signature",
]

log = logging.getLogger("consent_mw.webhooks")

SIGNATURE_HEADER = "Consent-MW-Signature"
DELIVERY_HEADER = "Consent-MW-Delivery"
#: How old a signature's timestamp may be before a receiver refuses it (seconds).
TOLERANCE = 300

#: ``send(url, body, headers, timeout) -> HTTP status``; raises OSError on a network error.
Sender = Callable[[str, bytes, dict[str, str], float], int]


class SignatureError(ConsentError, ValueError):
    """A webhook body whose signature is missing, malformed, wrong or too old."""


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign_body(secrets_: str | Sequence[str], body: bytes, timestamp: int | None = None) -> str:
    """The ``Consent-MW-Signature`` value for ``body`` (one ``v1`` per secret)."""
    keys = [secrets_] if isinstance(secrets_, str) else list(secrets_)
    when = int(time.time()) if timestamp is None else timestamp
    return ",".join([f"t={when}", *(f"v1={_mac(k, when, body)}" for k in keys)])


def verify_signature(
    secrets_: str | Iterable[str],
    body: bytes,
    header: str | None,
    *,
    tolerance: float = TOLERANCE,
    now: float | None = None,
) -> int:
    """Check a received webhook: ``header`` is the ``Consent-MW-Signature`` value,
    ``body`` the raw request body. Returns the signed timestamp; raises
    :class:`SignatureError` unless one ``v1`` matches one of ``secrets_`` and the
    timestamp is within ``tolerance`` seconds of ``now``. ::

        verify_signature(os.environ["WEBHOOK_SECRET"], await request.body(),
                         request.headers.get("consent-mw-signature"))
    """
    if not header:
        raise SignatureError(f"No {SIGNATURE_HEADER} header.")
    timestamp: int | None = None
    given: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isascii() and value.isdigit() and len(value) < 16:
            timestamp = int(value)
        elif name == "v1":
            given.append(value)
    if timestamp is None or not given:
        raise SignatureError(f"A {SIGNATURE_HEADER} header needs t=<time> and v1=<hmac>.")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError(f"The signature is {abs(current - timestamp):.0f} s old; refused.")
    keys = [secrets_] if isinstance(secrets_, str) else list(secrets_)
    for key in keys:
        expected = _mac(key, timestamp, body)
        if any(hmac.compare_digest(expected, v) for v in given):
            return timestamp
    raise SignatureError("No signature matches: wrong secret or a changed body.")


def urllib_send(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST with the standard library; the status (an error status is returned too)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@dataclass(frozen=True)
class DeadLetter:
    """A page the receiver never acknowledged: its delivery id, the cursor it ends
    at, the body, why it failed and when."""

    id: int
    delivery: str
    cursor: str
    body: bytes
    error: str
    time: float


_STATE = """
CREATE TABLE IF NOT EXISTS cursor (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dead (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery TEXT NOT NULL,
    cursor TEXT NOT NULL,
    body BLOB NOT NULL,
    error TEXT NOT NULL,
    time REAL NOT NULL
);
"""


class WebhookWorker:
    """Delivers the change feed to ``url``, signed with ``secret`` (a list while
    rotating: every one signs). ``state``: the SQLite file of the cursor and the dead
    letters. ``start``: where a worker with no saved cursor begins, ``"end"`` (only
    changes from now on) or ``"start"`` (the whole feed)."""

    def __init__(
        self,
        feed: AdsFeed,
        url: str,
        secret: str | Sequence[str],
        state: str,
        *,
        batch: int = 100,  # changes per POST
        max_attempts: int = 6,  # tries per page before it is dead-lettered
        backoff: float = 0.5,  # first retry delay, seconds; doubles each try
        max_backoff: float = 60.0,  # longest delay between tries, seconds
        timeout: float = 10.0,  # per POST, seconds
        start: str = "end",
        send: Sender = urllib_send,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"The webhook URL must be http:// or https://, not {url!r}.")
        keys = [secret] if isinstance(secret, str) else list(secret)
        if not keys or any(len(k) < 16 for k in keys):
            raise ConfigError("A webhook secret must be at least 16 characters.")
        if type(max_attempts) is not int or max_attempts < 1:
            raise ConfigError(f"max_attempts must be an int >= 1, not {max_attempts!r}.")
        if start not in ("end", "start"):
            raise ConfigError(f"start must be 'end' or 'start', not {start!r}.")
        self.feed, self.url, self.secrets = feed, url, keys
        self.batch, self.max_attempts, self.timeout = batch, max_attempts, timeout
        self.backoff, self.max_backoff = backoff, max_backoff
        self.start, self.send, self.sleep = start, send, sleep
        self.caller = Caller("webhooks", "webhook")
        self._db = sqlite3.connect(state, isolation_level=None, check_same_thread=False)
        self._db.executescript(_STATE)

    # -- state ---------------------------------------------------------------------------

    def cursor(self) -> str:
        row = self._db.execute("SELECT value FROM cursor WHERE name = 'feed'").fetchone()
        if row is not None:
            return str(row[0])
        first = self.feed.end(caller=self.caller) if self.start == "end" else "0"
        self._save(first)
        return first

    def _save(self, cursor: str) -> None:
        self._db.execute(
            "INSERT INTO cursor (name, value) VALUES ('feed', ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (cursor,),
        )

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        rows = self._db.execute(
            "SELECT id, delivery, cursor, body, error, time FROM dead ORDER BY id LIMIT ?",
            (limit,),
        ).fetchall()
        return [DeadLetter(*row) for row in rows]

    # -- delivery ------------------------------------------------------------------------

    def _post(self, delivery: str, body: bytes) -> str | None:
        """One POST; ``None`` on a 2xx, else why not."""
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign_body(self.secrets, body),
            DELIVERY_HEADER: delivery,
            "User-Agent": "consent-mw-webhooks",
        }
        try:
            status = self.send(self.url, body, headers, self.timeout)
        except OSError as exc:  # refused, reset, timed out, DNS
            return f"{type(exc).__name__}: {exc}"
        return None if 200 <= status < 300 else f"HTTP {status}"

    def deliver(self, delivery: str, body: bytes) -> str | None:
        """POST until acknowledged or ``max_attempts`` tries; ``None`` or the last error.
        Each retry waits ``backoff * 2**n`` seconds (at most ``max_backoff``), with up
        to 10 % jitter so many workers do not retry in step."""
        error: str | None = None
        for attempt in range(self.max_attempts):
            if attempt:
                delay = min(self.backoff * 2 ** (attempt - 1), self.max_backoff)
                self.sleep(delay * (1 + random.random() / 10))  # noqa: S311 (jitter)
            error = self._post(delivery, body)
            if error is None:
                return None
        return error

    def run_once(self, *, wait: float = 0.0) -> int:
        """Deliver one page of changes (waiting up to ``wait`` seconds for one); the
        number of changes it carried (delivered or dead-lettered)."""
        cursor = self.cursor()
        answer = self.feed.changes(cursor, limit=self.batch, wait=wait, caller=self.caller)
        if not answer["changes"]:
            return 0
        body = dumps(answer)
        # the id names the page by where it starts and ends: the same page, the same id
        delivery = f"{cursor}..{answer['next_cursor']}"
        error = self.deliver(delivery, body)
        if error is not None:
            self._db.execute(
                "INSERT INTO dead (delivery, cursor, body, error, time) VALUES (?, ?, ?, ?, ?)",
                (delivery, answer["next_cursor"], body, error, time.time()),
            )
        self._save(answer["next_cursor"])
        return len(answer["changes"])

    def run(self, *, wait: float = 20.0, stop: Callable[[], bool] = lambda: False) -> None:
        """Deliver forever (until ``stop()`` is true), long-polling the feed. While the
        ledger is unavailable it waits (with the same backoff) and tries again."""
        failures = 0
        while not stop():
            try:
                self.run_once(wait=wait)
                failures = 0
            except StoreUnavailable as exc:
                failures += 1
                delay = min(self.backoff * 2 ** min(failures - 1, 16), self.max_backoff)
                log.warning("consent ledger unavailable (%s); retrying in %.1f s", exc, delay)
                self.sleep(delay)

    def replay(self, ids: Iterable[int] | None = None) -> dict[int, str | None]:
        """Send dead letters again (all, or those ``ids``), each with its own retries;
        an acknowledged one leaves the list. ``{id: None | last error}``."""
        letters = self.dead_letters(limit=10**9)
        wanted = None if ids is None else set(ids)
        outcome: dict[int, str | None] = {}
        for letter in letters:
            if wanted is not None and letter.id not in wanted:
                continue
            error = self.deliver(letter.delivery, letter.body)
            outcome[letter.id] = error
            if error is None:
                self._db.execute("DELETE FROM dead WHERE id = ?", (letter.id,))
            else:
                self._db.execute("UPDATE dead SET error = ? WHERE id = ?", (error, letter.id))
        return outcome

    def close(self) -> None:
        self._db.close()


def new_secret() -> str:
    """A fresh webhook secret (32 bytes, URL-safe)."""
    return secrets.token_urlsafe(32)
