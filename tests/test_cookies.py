"""The signed consent cookie, and Cookie / Set-Cookie header helpers."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import BadSignature, Signer

from consent_mw import ConfigError, Consent, secret_from_env
from consent_mw.core.cookies import (
    MAX_COOKIE_SIZE,
    ConsentCookieCodec,
    parse_cookie_header,
    set_cookie_name,
)
from support.harness import OTHER_SECRET, SECRET

NOW = 1_790_000_000
CONSENT = Consent(
    id="AbCdEfGhIjKlMnOpQrStUv",
    policy_version="2024-05",
    choices={"functional": True, "analytics": False, "advertising": True},
    given_at=NOW - 1000,
    updated_at=NOW - 10,
    source="api",
    action="custom",
    gpc=True,
    gpc_override=True,
)
GOOD_PAYLOAD: dict[str, Any] = {
    "v": 1,
    "p": "1",
    "c": {"analytics": 1, "advertising": 0},
    "i": "AbCdEfGhIjKlMnOpQrStUv",
    "t": NOW - 100,
    "u": NOW - 10,
    "s": "banner",
    "a": "custom",
}


def signer(key: str = SECRET) -> Signer:
    return Signer(
        key, salt=b"consent_mw.cookie", key_derivation="hmac", digest_method=hashlib.sha256
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(data: Any, key: str = SECRET, *, raw: bytes | None = None) -> str:
    """A token whose payload is ``data`` (or ``raw`` bytes), correctly signed."""
    payload = raw if raw is not None else json.dumps(data).encode()
    return signer(key).sign(b64(payload)).decode()


# -- the codec ------------------------------------------------------------------------------


def test_round_trip(codec: ConsentCookieCodec) -> None:
    token = codec.dumps(CONSENT)
    assert codec.loads(token, now=NOW) == CONSENT


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"gpc": False, "gpc_override": False},
        {"source": "banner", "action": "accept_all"},
        {"choices": {}},
        {"given_at": NOW - 10},
        {
            "choices": {"functional": True, "analytics": False, "advertising": False},
            "services": {"advertising": {"Meta": True, "TikTok": False}, "analytics": {}},
        },
    ],
)
def test_round_trip_variants(codec: ConsentCookieCodec, changes: dict[str, Any]) -> None:
    consent = Consent(**{**CONSENT.__dict__, **changes})
    assert codec.loads(codec.dumps(consent), now=NOW) == consent


def test_format_one_unless_a_category_is_chosen_per_service(codec: ConsentCookieCodec) -> None:
    def version(consent: Consent) -> Any:
        payload = codec.dumps(consent).rpartition(".")[0]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))

    assert version(CONSENT)["v"] == 1
    per_service = Consent(
        **{
            **CONSENT.__dict__,
            "choices": {**CONSENT.choices, "advertising": False},
            "services": {"advertising": {"Meta": True}},
        }
    )
    data = version(per_service)
    assert data["v"] == 2
    assert data["c"]["advertising"] == {"Meta": 1}
    assert codec.loads(codec.dumps(per_service), now=NOW) == per_service


def test_payload_is_readable_json(codec: ConsentCookieCodec) -> None:
    payload = codec.dumps(CONSENT).rpartition(".")[0]
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert data == {
        "v": 1,
        "p": "2024-05",
        "c": {"functional": 1, "analytics": 0, "advertising": 1},
        "i": CONSENT.id,
        "t": CONSENT.given_at,
        "u": CONSENT.updated_at,
        "s": "api",
        "a": "custom",
        "g": 1,
        "o": 1,
    }


def test_itsdangerous_accepts_our_tokens(codec: ConsentCookieCodec) -> None:
    token = codec.dumps(CONSENT)
    payload = signer().unsign(token)
    assert payload == token.rpartition(".")[0].encode()
    with pytest.raises(BadSignature):
        signer(OTHER_SECRET).unsign(token)


def test_we_accept_itsdangerous_tokens(codec: ConsentCookieCodec) -> None:
    consent = codec.loads(sign(GOOD_PAYLOAD), now=NOW)
    assert consent is not None
    assert consent.choices == {"analytics": True, "advertising": False}


def test_key_rotation() -> None:
    old, new = ConsentCookieCodec(OTHER_SECRET), ConsentCookieCodec([SECRET, OTHER_SECRET])
    old_token, new_token = old.dumps(CONSENT), new.dumps(CONSENT)
    # The first key signs ...
    assert signer(SECRET).unsign(new_token)
    assert old_token != new_token
    # ... all keys verify ...
    assert new.loads(old_token, now=NOW) == CONSENT
    assert new.loads(new_token, now=NOW) == CONSENT
    assert old.loads(new_token, now=NOW) is None
    # ... and a token signed by a removed key is undecided.
    assert ConsentCookieCodec([SECRET]).loads(old_token, now=NOW) is None


@pytest.mark.parametrize("keys", [[], "short", b"short", ["a" * 16, "b" * 15]])
def test_bad_keys(keys: Any) -> None:
    with pytest.raises(ConfigError):
        ConsentCookieCodec(keys)


def test_bytes_keys_equal_str_keys() -> None:
    token = ConsentCookieCodec(SECRET.encode()).dumps(CONSENT)
    assert ConsentCookieCodec(SECRET).loads(token, now=NOW) == CONSENT


def _flip(text: str, index: int) -> str:
    char = text[index]
    return text[:index] + ("A" if char != "A" else "B") + text[index + 1 :]


def _tampered_payload(token: str) -> str:
    payload, _, signature = token.rpartition(".")
    return f"{_flip(payload, len(payload) // 2)}.{signature}"


def _tampered_signature(token: str) -> str:
    payload, _, signature = token.rpartition(".")
    return f"{payload}.{_flip(signature, 3)}"


INVALID: list[tuple[str, Any]] = [
    ("tampered payload", _tampered_payload),
    ("tampered signature", _tampered_signature),
    ("truncated signature", lambda t: t[:-4]),
    ("no signature", lambda t: t.rpartition(".")[0]),
    ("empty signature", lambda t: t.rpartition(".")[0] + "."),
    ("no payload", lambda t: "." + t.rpartition(".")[2]),
    ("payload only dot", lambda t: "."),
    ("empty", lambda t: ""),
    ("garbled base64", lambda t: "!!!.???"),
    ("non-ASCII", lambda t: t + "é"),
    ("non-ASCII payload", lambda t: "é" + t),
    ("doubled", lambda t: t + "." + t),
    ("signed by another key", lambda t: sign(GOOD_PAYLOAD, OTHER_SECRET)),
    ("signed non-JSON", lambda t: sign(None, raw=b"not json")),
    ("signed invalid UTF-8", lambda t: sign(None, raw=b'{"v": "\xff"}')),
    ("signed JSON array", lambda t: sign([GOOD_PAYLOAD])),
    ("signed JSON string", lambda t: sign("consent")),
    ("unknown format version", lambda t: sign({**GOOD_PAYLOAD, "v": 3})),
    (
        "services in a format-1 cookie",
        lambda t: sign({**GOOD_PAYLOAD, "c": {"advertising": {"Meta": 1}}}),
    ),
    (
        "service flag not 0/1",
        lambda t: sign({**GOOD_PAYLOAD, "v": 2, "c": {"advertising": {"Meta": 2}}}),
    ),
    (
        "service name with a quote",
        lambda t: sign({**GOOD_PAYLOAD, "v": 2, "c": {"advertising": {'Me"ta': 1}}}),
    ),
    (
        "empty service name",
        lambda t: sign({**GOOD_PAYLOAD, "v": 2, "c": {"advertising": {"": 1}}}),
    ),
    (
        "too many services",
        lambda t: sign(
            {**GOOD_PAYLOAD, "v": 2, "c": {"advertising": {f"S{i}": 1 for i in range(33)}}}
        ),
    ),
    (
        "services as a list",
        lambda t: sign({**GOOD_PAYLOAD, "v": 2, "c": {"advertising": ["Meta"]}}),
    ),
    ("format version as string", lambda t: sign({**GOOD_PAYLOAD, "v": "1"})),
    ("missing id", lambda t: sign({k: v for k, v in GOOD_PAYLOAD.items() if k != "i"})),
    ("short id", lambda t: sign({**GOOD_PAYLOAD, "i": "abc"})),
    ("id with bad characters", lambda t: sign({**GOOD_PAYLOAD, "i": "a" * 20 + "/+"})),
    ("empty policy version", lambda t: sign({**GOOD_PAYLOAD, "p": ""})),
    ("long policy version", lambda t: sign({**GOOD_PAYLOAD, "p": "x" * 33})),
    ("numeric policy version", lambda t: sign({**GOOD_PAYLOAD, "p": 1})),
    ("choices not an object", lambda t: sign({**GOOD_PAYLOAD, "c": [1]})),
    ("choice of 2", lambda t: sign({**GOOD_PAYLOAD, "c": {"analytics": 2}})),
    ("choice as float", lambda t: sign({**GOOD_PAYLOAD, "c": {"analytics": 1.0}})),
    ("choice as string", lambda t: sign({**GOOD_PAYLOAD, "c": {"analytics": "1"}})),
    ("bad category id", lambda t: sign({**GOOD_PAYLOAD, "c": {"Analytics": 1}})),
    ("too many choices", lambda t: sign({**GOOD_PAYLOAD, "c": {f"c{i}": 1 for i in range(65)}})),
    ("unknown source", lambda t: sign({**GOOD_PAYLOAD, "s": "cookie"})),
    ("unknown action", lambda t: sign({**GOOD_PAYLOAD, "a": "accept"})),
    ("given after updated", lambda t: sign({**GOOD_PAYLOAD, "t": NOW, "u": NOW - 10})),
    ("zero timestamps", lambda t: sign({**GOOD_PAYLOAD, "t": 0, "u": 0})),
    ("float timestamp", lambda t: sign({**GOOD_PAYLOAD, "u": float(NOW)})),
    ("bool timestamp", lambda t: sign({**GOOD_PAYLOAD, "t": True})),
    ("from the future", lambda t: sign({**GOOD_PAYLOAD, "u": NOW + 301})),
    ("expired", lambda t: sign({**GOOD_PAYLOAD, "t": NOW - 731 * 86400, "u": NOW - 731 * 86400})),
    ("oversized", lambda t: sign({**GOOD_PAYLOAD, "x": "a" * MAX_COOKIE_SIZE})),
]


@pytest.mark.parametrize("make", [case[1] for case in INVALID], ids=[case[0] for case in INVALID])
def test_invalid_tokens_are_undecided(codec: ConsentCookieCodec, make: Any) -> None:
    token = make(codec.dumps(CONSENT))
    assert codec.loads(token, now=NOW) is None


@pytest.mark.parametrize(
    "payload",
    [
        GOOD_PAYLOAD,
        {**GOOD_PAYLOAD, "u": NOW + 300},  # clock skew tolerated
        {**GOOD_PAYLOAD, "t": NOW - 730 * 86400, "u": NOW - 730 * 86400},  # oldest allowed
        {**GOOD_PAYLOAD, "x": "a" * 1000},  # unknown fields ignored; size is what matters
        {k: v for k, v in GOOD_PAYLOAD.items() if k not in ("s", "a")},  # defaults
        {**GOOD_PAYLOAD, "c": {f"c{i}": 1 for i in range(64)}},
        {**GOOD_PAYLOAD, "c": {"analytics": True}},
    ],
)
def test_valid_edge_tokens(codec: ConsentCookieCodec, payload: dict[str, Any]) -> None:
    assert codec.loads(sign(payload), now=NOW) is not None


def test_size_limit_is_the_reason() -> None:
    codec = ConsentCookieCodec(SECRET)
    fits = sign({**GOOD_PAYLOAD, "x": "a" * 2000})
    assert len(fits) <= MAX_COOKIE_SIZE
    assert codec.loads(fits, now=NOW) is not None
    too_big = sign({**GOOD_PAYLOAD, "x": "a" * 3100})
    assert len(too_big) > MAX_COOKIE_SIZE
    assert codec.loads(too_big, now=NOW) is None


def test_max_age_option() -> None:
    codec = ConsentCookieCodec(SECRET, max_age_days=1)
    token = codec.dumps(CONSENT)
    assert codec.loads(token, now=CONSENT.updated_at + 86400) == CONSENT
    assert codec.loads(token, now=CONSENT.updated_at + 86401) is None


def test_loads_defaults_to_the_clock(codec: ConsentCookieCodec) -> None:
    now = int(time.time())
    fresh = Consent(**{**CONSENT.__dict__, "given_at": now, "updated_at": now})
    assert codec.loads(codec.dumps(fresh)) == fresh
    old = now - codec.max_age - 60
    stale = Consent(**{**CONSENT.__dict__, "given_at": old, "updated_at": old})
    assert codec.loads(codec.dumps(stale)) is None


@given(st.text(max_size=300))
def test_arbitrary_text_never_raises_and_never_verifies(value: str) -> None:
    codec = ConsentCookieCodec(SECRET)
    assert codec.loads(value, now=NOW) is None


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.="))
def test_arbitrary_token_shaped_text_never_verifies(value: str) -> None:
    codec = ConsentCookieCodec(SECRET)
    assert codec.loads(value, now=NOW) is None


# -- the verified-value cache -------------------------------------------------------------


def test_cache_does_not_accept_a_modified_token(codec: ConsentCookieCodec) -> None:
    token = codec.dumps(CONSENT)
    assert codec.loads(token, now=NOW) == CONSENT
    assert codec.loads(_tampered_payload(token), now=NOW) is None
    assert codec.loads(_tampered_signature(token), now=NOW) is None
    assert codec.loads(token + " ", now=NOW) is None
    assert codec.loads(token, now=NOW) == CONSENT


def test_cache_still_applies_expiry(codec: ConsentCookieCodec) -> None:
    token = codec.dumps(CONSENT)
    assert codec.loads(token, now=NOW) == CONSENT
    later = CONSENT.updated_at + codec.max_age + 1
    assert codec.loads(token, now=later) is None
    earlier = CONSENT.updated_at - 301
    assert codec.loads(token, now=earlier) is None
    assert codec.loads(token, now=NOW) == CONSENT


def test_cache_is_bounded() -> None:
    codec = ConsentCookieCodec(SECRET, cache_size=3)
    tokens = [
        codec.dumps(Consent(**{**CONSENT.__dict__, "id": f"{'a' * 20}{i:02d}"})) for i in range(10)
    ]
    for token in tokens:
        assert codec.loads(token, now=NOW) is not None
    assert len(codec._verified) <= 3
    assert all(codec.loads(token, now=NOW) is not None for token in tokens)


def test_cache_can_be_disabled() -> None:
    codec = ConsentCookieCodec(SECRET, cache_size=0)
    token = codec.dumps(CONSENT)
    assert codec.loads(token, now=NOW) == codec.loads(token, now=NOW) == CONSENT
    assert codec._verified == {}


# -- header helpers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "pairs"),
    [
        ("", []),
        ("a=1", [("a", "1")]),
        ("a=1; b=2", [("a", "1"), ("b", "2")]),
        ("a=1;b=2", [("a", "1"), ("b", "2")]),
        ("  a = 1 ;  b=2  ", [("a", "1"), ("b", "2")]),
        ("a=1; a=2", [("a", "1"), ("a", "2")]),
        ("a=x=y", [("a", "x=y")]),
        ("a=", [("a", "")]),
        ("flag", [("", "flag")]),
        ("a=1;;; b=2;", [("a", "1"), ("b", "2")]),
        ('q="quoted; not"', [("q", '"quoted'), ("", 'not"')]),
        ("é=ü", [("é", "ü")]),
    ],
)
def test_parse_cookie_header(header: str, pairs: list[tuple[str, str]]) -> None:
    assert parse_cookie_header(header) == pairs


@given(st.text())
def test_parse_cookie_header_never_raises(header: str) -> None:
    for name, value in parse_cookie_header(header):
        assert ";" not in name and ";" not in value


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("_ga=GA1.2; Path=/; Max-Age=10", "_ga"),
        ("_ga=GA1.2", "_ga"),
        (" _ga =x", "_ga"),
        ("_ga=", "_ga"),
        ("a=b=c; Path=/", "a"),
        ("noequals; Path=/", ""),
        ("=value", ""),
        ("", ""),
        ("session=1; Domain=example.com; HttpOnly", "session"),
    ],
)
def test_set_cookie_name(value: str, name: str) -> None:
    assert set_cookie_name(value) == name


class RacedDict(dict):  # type: ignore[type-arg]
    """A memo where another thread always evicts the oldest entry just before us."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        for key in list(super().__iter__()):
            super().pop(key, None)  # the other thread's eviction
            yield key


def test_cache_eviction_survives_a_concurrent_eviction() -> None:
    codec = ConsentCookieCodec(SECRET, cache_size=2)
    codec._verified = RacedDict()
    tokens = [
        codec.dumps(Consent(**{**CONSENT.__dict__, "id": f"{'b' * 20}{i:02d}"})) for i in range(5)
    ]
    for token in tokens:
        assert codec.loads(token, now=NOW) is not None


def test_cache_under_threads_never_raises() -> None:
    import sys
    import threading

    codec = ConsentCookieCodec(SECRET, cache_size=2)
    tokens = [
        codec.dumps(Consent(**{**CONSENT.__dict__, "id": f"{'c' * 18}{i:04d}"})) for i in range(400)
    ]
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for token in tokens[offset::8]:
                assert codec.loads(token, now=NOW) is not None
        except BaseException as exc:
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        for _ in range(20):
            codec._verified.clear()
            threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []


@pytest.mark.parametrize(
    "key",
    [
        "change-me-to-a-long-random-secret",
        "Change Me To Something Long",
        "your-secret-key-0123456789",
        "replace_me_with_a_real_key",
        ["0123456789abcdef0123", "changeme-changeme-changeme"],
    ],
)
def test_a_published_placeholder_is_no_signing_key(key: Any) -> None:
    with pytest.raises(ConfigError, match="placeholder"):
        ConsentCookieCodec(key)


def test_secret_from_env_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SITE_CONSENT_KEY", raising=False)
    with pytest.raises(ConfigError, match="SITE_CONSENT_KEY is not set"):
        secret_from_env("SITE_CONSENT_KEY")
    monkeypatch.setenv("SITE_CONSENT_KEY", "change-me-to-a-long-random-secret")
    with pytest.raises(ConfigError, match="SITE_CONSENT_KEY is a placeholder"):
        secret_from_env("SITE_CONSENT_KEY")
    monkeypatch.setenv("SITE_CONSENT_KEY", "s3cr3t")
    with pytest.raises(ConfigError, match="SITE_CONSENT_KEY must be at least 16"):
        secret_from_env("SITE_CONSENT_KEY")
    monkeypatch.setenv("SITE_CONSENT_KEY", "k5Qz9-vT2mXr8LpW4nYb")
    assert secret_from_env("SITE_CONSENT_KEY") == "k5Qz9-vT2mXr8LpW4nYb"
