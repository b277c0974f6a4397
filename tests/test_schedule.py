"""Policy versions over time: announcement, the coming-change notice, and re-prompting
only after a major change. Both adapters."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from starlette.testclient import TestClient

from consent_mw import ConsentMiddleware, MemoryStore, Policy, PolicyError
from consent_mw.policy.schedule import PolicySchedule

SECRET = "schedule-secret-0123456789abcdef"
TODAY = dt.datetime.now(dt.UTC).date()


def version(name: str, announced: dt.date, effective: dt.date, **changes: Any) -> Policy:
    data = Policy.preset("gdpr").raw
    data = {**data, "version": name, "announced": announced, "effective": effective}
    data.update(changes)
    return Policy.from_dict(data)


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


OLD = version("1", days(-100), days(-90))


def analytics_text(text: str) -> list[dict[str, Any]]:
    categories = [dict(c) for c in Policy.preset("gdpr").raw["categories"]]
    categories[2] = {**categories[2], "description": {"en": text, "ko": text}}
    return categories


def test_a_minor_change_keeps_earlier_choices_as_compatible() -> None:
    minor = version("2", days(-10), days(-3), texts={"en": {"title": "Choices"}})
    schedule = PolicySchedule([OLD, minor])
    current = schedule.versions[schedule.index(TODAY)]
    assert current.policy.version == "2" and not current.major
    assert current.policy.accepts_version("1")


def test_a_major_change_asks_again() -> None:
    major = version("2", days(-40), days(-5), categories=analytics_text("New purpose."))
    schedule = PolicySchedule([OLD, major])
    current = schedule.versions[schedule.index(TODAY)]
    assert current.major and not current.policy.accepts_version("1")


@pytest.mark.parametrize(
    ("announced", "effective", "major", "ok"),
    [(-6, 0, False, False), (-7, 0, False, True), (-29, 0, True, False), (-30, 0, True, True)],
)
def test_notice_periods(announced: int, effective: int, major: bool, ok: bool) -> None:
    changes = (
        {"categories": analytics_text("Other.")} if major else {"texts": {"en": {"save": "OK"}}}
    )
    new = version("2", days(announced), days(effective), **changes)
    if ok:
        PolicySchedule([OLD, new])
    else:
        with pytest.raises(PolicyError) as error:
            PolicySchedule([OLD, new])
        assert error.value.key == "effective"


def test_versions_must_be_in_order_and_distinct() -> None:
    with pytest.raises(PolicyError):
        PolicySchedule([OLD, version("1", days(-40), days(-1))])
    with pytest.raises(PolicyError):
        PolicySchedule([OLD, version("0", days(-300), days(-200))])
    with pytest.raises(PolicyError):
        PolicySchedule([])


def app(policies: list[Policy], store: MemoryStore) -> ConsentMiddleware:
    async def home(scope, receive, send):  # type: ignore[no-untyped-def]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return ConsentMiddleware(home, policy=policies, secret_key=SECRET, store=store)


def test_the_banner_announces_a_coming_change_and_the_old_version_is_enforced() -> None:
    upcoming = version("2", days(-2), days(30), categories=analytics_text("Soon."))
    client = TestClient(app([OLD, upcoming], MemoryStore()))
    body = client.get("/_consent?locale=en").json()
    assert body["policy"]["version"] == "1"
    assert body["policy"]["pending_change"] == {
        "version": "2",
        "effective": days(30).isoformat(),
        "major": True,
    }


def test_a_version_not_announced_yet_is_not_shown() -> None:
    later = version("2", days(5), days(40), categories=analytics_text("Later."))
    client = TestClient(app([OLD, later], MemoryStore()))
    assert client.get("/_consent?locale=en").json()["policy"]["pending_change"] is None


def test_consent_survives_a_minor_change_and_not_a_major_one() -> None:
    store = MemoryStore()
    client = TestClient(app([OLD], store))
    client.post("/_consent", json={"action": "accept_all"})
    cookie = client.cookies.get("consent_mw")
    minor = version("2", days(-10), days(-1), texts={"en": {"save": "Save"}})
    major = version("2", days(-40), days(-1), categories=analytics_text("Changed."))
    for new, prompt in ((minor, False), (major, True)):
        other = TestClient(app([OLD, new], store), cookies={"consent_mw": cookie})
        state = other.get("/_consent?locale=en").json()["state"]
        assert state["needs_prompt"] is prompt
        assert ("analytics" in state["allowed"]) is (not prompt)
