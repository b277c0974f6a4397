"""What both adapters share (``consent_mw.adapter``): the same public surface, and the
same visits left for the recorder by the same requests."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from consent_mw import ConsentMiddleware, MemoryStore, Policy, WSGIConsentMiddleware
from consent_mw.adapter import Adapter
from consent_mw.core.facts import RequestFacts
from consent_mw.stores.base import Event
from support.harness import SECRET, consent_token
from support.html_apps import (
    ANDROID_PHONE,
    GOOGLEBOT,
    IPAD,
    WINDOWS_CHROME,
    AppRequest,
    Harness,
    Reply,
    build,
    html,
)

SURFACE = {
    "app",
    "complete",
    "config",
    "endpoints",
    "engine",
    "nonce",
    "recorder",
    "runtime",
    "store",
}
SAME_ORIGIN = {"origin": "http://testserver"}


def public(value: object) -> set[str]:
    return {name for name in dir(value) if not name.startswith("_")}


@pytest.fixture
def both() -> Any:
    middlewares = [
        cls(lambda *args: None, policy="gdpr", secret_key=SECRET, store=MemoryStore())
        for cls in (ConsentMiddleware, WSGIConsentMiddleware)
    ]
    yield middlewares
    for middleware in middlewares:
        middleware.recorder.close()


def test_both_adapters_have_the_same_public_surface(both: list[Any]) -> None:
    asgi, wsgi = both
    assert public(asgi) == public(wsgi) == SURFACE
    assert isinstance(asgi, Adapter) and isinstance(wsgi, Adapter)
    for name in ("app", "config", "runtime", "store", "recorder"):
        assert name in vars(asgi) and name in vars(wsgi), name
    assert asgi.store is asgi.config.store and wsgi.store is wsgi.config.store
    assert asgi.recorder is asgi.runtime.recorder and wsgi.recorder is wsgi.runtime.recorder


def test_both_adapters_take_the_same_options() -> None:
    asgi, wsgi = inspect.signature(ConsentMiddleware), inspect.signature(WSGIConsentMiddleware)
    assert [(p.name, p.kind, p.default) for p in asgi.parameters.values()] == [
        (p.name, p.kind, p.default) for p in wsgi.parameters.values()
    ]
    assert list(asgi.parameters)[:4] == ["app", "policy", "secret_key", "store"]


def test_the_same_methods_differ_only_in_being_async() -> None:
    assert inspect.iscoroutinefunction(ConsentMiddleware.complete)
    assert not inspect.iscoroutinefunction(WSGIConsentMiddleware.complete)
    for name in ("complete", "nonce", "engine", "endpoints"):
        asgi, wsgi = getattr(ConsentMiddleware, name), getattr(WSGIConsentMiddleware, name)
        assert asgi.__doc__ == wsgi.__doc__, name
    assert ConsentMiddleware.__doc__ and WSGIConsentMiddleware.__doc__
    assert ConsentMiddleware.engine.__doc__


# -- the same requests leave the same visits ---------------------------------------------------


def app(request: AppRequest) -> Reply:
    if request.path == "/login":
        request.consent.login("alice")
    if request.path == "/page":
        return html()
    status = 404 if request.path == "/missing" else 200
    return Reply(chunks=(b"ok",), status=status, headers=[("Content-Type", "text/plain")])


def visits(adapter: str, token: str) -> tuple[list[tuple[str, ...]], list[str]]:
    """The events and the user's linked subjects the request sequence leaves."""
    store = MemoryStore()
    harness = build(
        adapter,
        app,
        store=store,
        record_requests=True,
        record_exclude_paths=["/health"],
        device_id_cookie="did",
        report_blocked=True,
    )
    consent = {"consent_mw": token, "did": "dev-1"}
    sequence: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/shop", {"headers": {"user-agent": ANDROID_PHONE}}),
        ("GET", "/missing", {}),
        ("GET", "/health", {"cookies": consent}),
        ("GET", "/page", {"cookies": consent, "headers": {"user-agent": IPAD}}),
        ("HEAD", "/page", {"cookies": consent}),
        ("GET", "/shop", {"cookies": consent, "headers": {"sec-gpc": "1"}}),
        ("GET", "/shop", {"headers": {"user-agent": GOOGLEBOT}}),
        ("GET", "/_consent", {"cookies": consent}),
        ("POST", "/_consent", {"json": {"choices": {}}, "headers": SAME_ORIGIN}),
        ("GET", "/login", {"cookies": consent}),
    ]
    for method, path, options in sequence:
        # Starlette's TestClient has a User-Agent of its own; webtest sends none.
        options["headers"] = {"user-agent": WINDOWS_CHROME, **options.get("headers", {})}
        harness.request(method, path, **options)
    return _recorded(harness)


def _recorded(harness: Harness) -> tuple[list[tuple[str, ...]], list[str]]:
    harness.middleware.recorder.flush()
    events: list[Event] = harness.store.events(limit=1000)
    rows = sorted(
        tuple(
            repr(value)
            for value in (e.kind, e.purpose, e.path, e.status, e.ip, e.subject_id, e.user_id)
        )
        + (repr(e.bot), repr(sorted(e.device.items())))
        for e in events
    )
    subjects = harness.store.subjects_of("alice")
    harness.middleware.recorder.close()
    return rows, subjects


def test_both_adapters_record_the_same_visits() -> None:
    token = consent_token(Policy.preset("gdpr"), {"analytics": True, "advertising": True})
    asgi, wsgi = visits("asgi", token), visits("wsgi", token)
    assert asgi == wsgi
    rows, subjects = asgi
    paths = [row[2] for row in rows]
    assert "'/health'" not in paths and "'/_consent'" not in paths
    assert {"'/shop'", "'/missing'", "'/page'", "'/login'"} <= set(paths)
    assert len(subjects) == 1


# -- the same request read from a scope and from an environ --------------------------------

FACT_NAMES = (
    "method",
    "path",
    "query_string",
    "scheme",
    "host",
    "client_ip",
    "cookie_header",
    "gpc",
    "user_agent",
    "if_none_match",
    "headers",
)


@pytest.mark.parametrize("host", ["shop.example:8443", None])
def test_a_scope_and_an_environ_give_the_same_facts(host: str | None) -> None:
    headers = [
        ("cookie", "a=1"),
        ("cookie", "b=2"),
        ("sec-gpc", "1"),
        ("user-agent", IPAD),
        ("if-none-match", '"x"'),
        ("accept", "text/html"),
        *([("host", host)] if host else []),
    ]
    path = "/caf\u00e9/menu"
    scope = {
        "type": "http",
        "method": "POST",
        "scheme": "https",
        "path": path,
        "query_string": b"q=1&r=2",
        "headers": [(n.encode(), v.encode("latin-1")) for n, v in headers],
        "client": ("203.0.113.9", 5000),
        "server": ("shop.example", 8443),
    }
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": path.encode("utf-8").decode("latin-1"),  # PEP 3333
        "QUERY_STRING": "q=1&r=2",
        "wsgi.url_scheme": "https",
        "REMOTE_ADDR": "203.0.113.9",
        "SERVER_NAME": "shop.example",
        "SERVER_PORT": "8443",
        "HTTP_COOKIE": "a=1; b=2",
        "HTTP_SEC_GPC": "1",
        "HTTP_USER_AGENT": IPAD,
        "HTTP_IF_NONE_MATCH": '"x"',
        "HTTP_ACCEPT": "text/html",
    }
    if host:
        environ["HTTP_HOST"] = host
    from_scope, from_environ = RequestFacts.from_asgi(scope), RequestFacts.from_environ(environ)
    for name in FACT_NAMES:
        assert getattr(from_scope, name) == getattr(from_environ, name), name
    assert from_scope.path == path and from_scope.gpc is True
    assert from_scope.host == "shop.example:8443"
    assert from_scope.headers["cookie"] == "a=1; b=2"
