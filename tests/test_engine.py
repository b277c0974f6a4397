"""Engine internals the adapters rely on and the behaviour table cannot reach."""

from __future__ import annotations

from support.harness import ClientFactory
from test_cookies import RacedDict


def test_memos_survive_concurrent_eviction(client: ClientFactory) -> None:
    # A threaded WSGI server runs requests through one Engine at the same time; when
    # its memos are full, two requests may evict the same oldest entry.
    harness = client()
    engine = harness.middleware.engine
    engine.cache_size = 1
    for name in ("_verdicts", "_cookie_views", "_cookie_headers", "_set_cookie_categories"):
        assert isinstance(getattr(engine, name), dict)
        setattr(engine, name, RacedDict())
    for index in range(4):
        token = harness.token({"analytics": index % 2 == 0})
        result = harness.get(
            "/", cookies=[("consent_mw", token), ("_ga", str(index)), ("_fbp", "1")]
        )
        assert result.status == 200
        assert result.body["allows"]["analytics"] is (index % 2 == 0)


def test_memo_size_zero_turns_memos_off(client: ClientFactory) -> None:
    harness = client()
    engine = harness.middleware.engine
    engine.cache_size = 0
    for _ in range(2):
        assert harness.get("/", cookies={"_ga": "1"}).kept == ["session", "chat_id", "session"]
    assert engine._cookie_headers == {} and engine._verdicts == {}
