"""Signed webhooks of the change feed: the signature scheme and its verification, and
delivery through a real HTTP receiver that fails the first attempts (retries with
exponential backoff), a receiver that never recovers (dead letters, replay), a worker
restarted mid-feed (at least once, in order) and the CLI worker."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from consent_mw import ConfigError, SQLiteStore
from consent_mw.cli import main
from consent_mw.query import QueryService
from consent_mw.query.adfeed import AdsFeed
from consent_mw.query.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    SignatureError,
    WebhookWorker,
    sign_body,
    verify_signature,
)
from support.query import NOW, make_record

SECRET = "s3cret-webhook-key-0123456789"


class Receiver:
    """An HTTP server on 127.0.0.1 that answers ``fail_first`` requests with 503, then
    verifies each body's signature (401 when it does not hold) and keeps it."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.attempts = 0
        self.accepted: list[dict[str, Any]] = []
        self.deliveries: list[str] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["content-length"]))
                with receiver.lock:
                    receiver.attempts += 1
                    failing = receiver.attempts <= receiver.fail_first
                if failing:
                    self.send_response(503)
                    self.end_headers()
                    return
                try:
                    verify_signature(SECRET, body, self.headers.get(SIGNATURE_HEADER))
                except SignatureError:
                    self.send_response(401)
                    self.end_headers()
                    return
                with receiver.lock:
                    receiver.accepted.append(json.loads(body))
                    receiver.deliveries.append(self.headers[DELIVERY_HEADER])
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/consent"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def subjects(self) -> list[str]:
        return [c["record"]["subject_id"] for page in self.accepted for c in page["changes"]]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    ledger = SQLiteStore(tmp_path / "ledger.sqlite3")
    yield ledger
    ledger.close()


def worker(store: SQLiteStore, url: str, state: Path, **options: Any) -> WebhookWorker:
    delays: list[float] = []
    made = WebhookWorker(
        AdsFeed(QueryService(store)),
        url,
        SECRET,
        str(state),
        start="start",
        sleep=delays.append,  # the backoff is asserted, not waited for
        **options,
    )
    made.delays = delays  # type: ignore[attr-defined]
    return made


# -- the signature -------------------------------------------------------------------------


def test_a_signature_verifies_and_a_changed_body_or_secret_does_not() -> None:
    body = b'{"changes":[]}'
    header = sign_body(SECRET, body, timestamp=1_790_000_000)
    assert header.startswith("t=1790000000,v1=")
    assert verify_signature(SECRET, body, header, now=1_790_000_010) == 1_790_000_000
    with pytest.raises(SignatureError, match="No signature matches"):
        verify_signature(SECRET, body + b" ", header, now=1_790_000_010)
    with pytest.raises(SignatureError, match="No signature matches"):
        verify_signature("another-secret-of-16+", body, header, now=1_790_000_010)
    with pytest.raises(SignatureError, match="old"):
        verify_signature(SECRET, body, header, now=1_790_000_000 + 301)
    for bad in (None, "", "v1=abc", "t=12", "t=x,v1=ab"):
        with pytest.raises(SignatureError):
            verify_signature(SECRET, body, bad, now=1_790_000_000)


def test_rotating_secrets_sign_with_each_and_verify_with_any() -> None:
    body = b"{}"
    header = sign_body(["new-secret-0123456789", SECRET], body, timestamp=100)
    assert header.count("v1=") == 2
    assert verify_signature(SECRET, body, header, now=100) == 100
    assert verify_signature(["new-secret-0123456789"], body, header, now=100) == 100


# -- delivery ------------------------------------------------------------------------------


def test_delivery_retries_through_a_receiver_that_fails_first(
    store: SQLiteStore, tmp_path: Path
) -> None:
    for i in range(5):
        store.append(make_record(f"w{i}", at=NOW + i, advertising=i % 2 == 0))
    receiver = Receiver(fail_first=3)
    try:
        hooks = worker(store, receiver.url, tmp_path / "state.sqlite3", batch=10)
        assert hooks.run_once() == 5
        assert receiver.attempts == 4  # three refusals, then the delivery
        assert receiver.subjects() == [f"w{i}" for i in range(5)]
        # exponential backoff: 0.5, 1, 2 s (each with at most 10 % jitter)
        assert len(hooks.delays) == 3
        for delay, base in zip(hooks.delays, (0.5, 1.0, 2.0), strict=True):
            assert base <= delay <= base * 1.1
        assert hooks.dead_letters() == []
        assert hooks.run_once() == 0  # nothing new: nothing sent
        assert receiver.attempts == 4
        hooks.close()
    finally:
        receiver.close()


def test_a_receiver_that_never_recovers_fills_the_dead_letters_then_replay(
    store: SQLiteStore, tmp_path: Path
) -> None:
    store.append(make_record("withdrawn", at=NOW, advertising=False, action="withdraw"))
    receiver = Receiver(fail_first=10**6)
    try:
        hooks = worker(store, receiver.url, tmp_path / "state.sqlite3", max_attempts=3)
        assert hooks.run_once() == 1
        assert receiver.attempts == 3
        [letter] = hooks.dead_letters()
        assert letter.error == "HTTP 503"
        # the feed moved on: a later change is not held back by the dead page
        store.append(make_record("next", at=NOW + 1))
        receiver.fail_first = 0
        assert hooks.run_once() == 1
        assert receiver.subjects() == ["next"]
        assert hooks.replay() == {letter.id: None}
        assert receiver.subjects() == ["next", "withdrawn"]
        assert receiver.deliveries[-1] == letter.delivery  # the same id: receivers dedupe
        assert hooks.dead_letters() == []
        hooks.close()
    finally:
        receiver.close()


def test_a_worker_restarted_mid_feed_delivers_every_change_in_order(
    store: SQLiteStore, tmp_path: Path
) -> None:
    for i in range(7):
        store.append(make_record(f"r{i}", at=NOW + i))
    receiver = Receiver()
    state = tmp_path / "state.sqlite3"
    try:
        first = worker(store, receiver.url, state, batch=3)
        assert first.run_once() == 3
        first.close()  # a stop; its cursor is in the state file
        store.append(make_record("r7", at=NOW + 7))
        second = worker(store, receiver.url, state, batch=3)
        while second.run_once():
            pass
        assert receiver.subjects() == [f"r{i}" for i in range(8)]
        second.close()
    finally:
        receiver.close()


def test_an_unreachable_receiver_is_retried_then_dead_lettered(
    store: SQLiteStore, tmp_path: Path
) -> None:
    from support.redis_servers import free_port

    store.append(make_record("a", at=NOW))
    url = f"http://127.0.0.1:{free_port()}/nobody-listens"
    hooks = worker(store, url, tmp_path / "state.sqlite3", max_attempts=2, timeout=2.0)
    assert hooks.run_once() == 1
    [letter] = hooks.dead_letters()
    assert "ConnectionRefusedError" in letter.error or "URLError" in letter.error
    hooks.close()


@pytest.mark.parametrize(
    ("url", "secret", "options", "match"),
    [
        ("ftp://example.test/", SECRET, {}, "http"),
        ("http://127.0.0.1/", "short", {}, "16 characters"),
        ("http://127.0.0.1/", SECRET, {"max_attempts": 0}, "max_attempts"),
        ("http://127.0.0.1/", SECRET, {"start": "middle"}, "start"),
    ],
)
def test_bad_worker_options_are_config_errors(
    store: SQLiteStore, tmp_path: Path, url: str, secret: str, options: Any, match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        WebhookWorker(AdsFeed(QueryService(store)), url, secret, str(tmp_path / "s"), **options)


def test_a_new_worker_starts_at_the_end_by_default(store: SQLiteStore, tmp_path: Path) -> None:
    store.append(make_record("old", at=NOW))
    receiver = Receiver()
    try:
        hooks = WebhookWorker(
            AdsFeed(QueryService(store)), receiver.url, SECRET, str(tmp_path / "state")
        )
        assert hooks.run_once() == 0
        store.append(make_record("new", at=NOW + 1))
        assert hooks.run_once() == 1
        assert receiver.subjects() == ["new"]
        hooks.close()
    finally:
        receiver.close()


# -- the CLI worker -------------------------------------------------------------------------


def test_the_cli_worker_delivers_and_lists_dead_letters(
    store: SQLiteStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store.append(make_record("cli", at=NOW, advertising=True))
    receiver = Receiver()
    monkeypatch.setenv("CONSENT_MW_STORE", f"sqlite:///{store.path}")
    state = str(tmp_path / "hooks.sqlite3")
    common = ["--url", receiver.url, "--state", state]
    try:
        monkeypatch.delenv("CONSENT_MW_WEBHOOK_SECRET", raising=False)
        assert main(["webhooks", "run", *common, "--once", "--from-start"]) == 2
        monkeypatch.setenv("CONSENT_MW_WEBHOOK_SECRET", SECRET)
        assert main(["webhooks", "run", *common, "--once", "--from-start"]) == 0
        assert receiver.subjects() == ["cli"]
        capsys.readouterr()
        assert main(["webhooks", "dead", *common]) == 0
        assert capsys.readouterr().out == ""
        assert main(["webhooks", "replay", *common]) == 0
    finally:
        receiver.close()


def test_the_worker_waits_out_an_unavailable_ledger(store: SQLiteStore, tmp_path: Path) -> None:
    from consent_mw import StoreUnavailable

    store.append(make_record("after-outage", at=NOW))
    receiver = Receiver()
    try:
        hooks = worker(store, receiver.url, tmp_path / "state.sqlite3")
        real = hooks.feed.changes
        outages = iter([True, True, False, False])

        def flaky(*args: Any, **kwargs: Any) -> Any:
            if next(outages, False):
                raise StoreUnavailable("the ledger is down")
            return real(*args, **kwargs)

        hooks.feed.changes = flaky  # type: ignore[method-assign]
        rounds = iter(range(3))
        hooks.run(wait=0, stop=lambda: next(rounds, None) is None)
        assert receiver.subjects() == ["after-outage"]
        assert hooks.delays == [0.5, 1.0]  # type: ignore[attr-defined]
        hooks.close()
    finally:
        receiver.close()
