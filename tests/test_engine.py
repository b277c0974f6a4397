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
    for name in (
        "_verdicts",
        "_cookie_views",
        "_cookie_headers",
        "_set_cookie_categories",
        "_click_queries",
    ):
        assert isinstance(getattr(engine, name), dict)
        setattr(engine, name, RacedDict())
    for index in range(4):
        token = harness.token({"analytics": index % 2 == 0})
        result = harness.get(
            f"/?gclid={index % 2}&a=1",
            cookies=[("consent_mw", token), ("_ga", str(index)), ("_fbp", "1")],
        )
        assert result.status == 200
        assert result.body["allows"]["analytics"] is (index % 2 == 0)
        assert result.body["query"] == "a=1"


def test_memo_size_zero_turns_memos_off(client: ClientFactory) -> None:
    harness = client()
    engine = harness.middleware.engine
    engine.cache_size = 0
    for _ in range(2):
        assert harness.get("/", cookies={"_ga": "1"}).kept == ["session", "chat_id", "session"]
        assert harness.get("/?fbclid=1&b=2").body["query"] == "b=2"
    assert engine._cookie_headers == {} and engine._verdicts == {}
    assert engine._click_queries == {}


def test_a_remembered_query_is_answered_as_the_first_time(client: ClientFactory) -> None:
    # A page's query string comes back request after request: the second answer is
    # the memo's, and must be the first one's (stripped, emptied or untouched).
    harness = client()
    engine = harness.middleware.engine
    queries = {"q=shoes&gclid=a1&page=2": "q=shoes&page=2", "gclid=1": "", "a=1&b=&c": "a=1&b=&c"}
    for _ in range(2):
        for query, seen in queries.items():
            assert harness.get(f"/?{query}").body["query"] == seen
    assert engine._click_queries == {
        "q=shoes&gclid=a1&page=2": "q=shoes&page=2",
        "gclid=1": "",
        "a=1&b=&c": None,
    }
    # With advertising allowed nothing is hidden, remembered or not.
    token = harness.token({"advertising": True})
    result = harness.get("/?gclid=1", cookies=[("consent_mw", token)])
    assert result.body["query"] == "gclid=1"
