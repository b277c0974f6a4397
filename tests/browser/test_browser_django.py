"""The Django example (examples/django_site) on real servers, in headless Chromium: under
uvicorn through Django's ASGI handler, and under ``manage.py runserver`` (WSGI). Each runs
in a process of its own, on a migrated database of its own (the ORM ledger)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consent_mw import Policy

from .conftest import NetLog, require_browser

pytestmark = pytest.mark.browser

SITE = Path(__file__).resolve().parents[2] / "examples" / "django_site"
EN = Policy.from_toml(SITE.parent / "policy.toml").ui_texts("en")
GTAG = "https://www.googletagmanager.com/gtag/js?id=G-SHOP"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module", params=["asgi", "wsgi"])
def django_example(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The example served by uvicorn (ASGI) or runserver (WSGI): its base URL."""
    require_browser()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CONSENT_MW"))}
    env["DJANGO_SECRET_KEY"] = "browser-django-example-0123456789abcdefghijklmnopqrstuv"
    env["DJANGO_DATABASE"] = str(tmp_path_factory.mktemp("django") / "db.sqlite3")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=SITE,
        env=env,
        check=True,
        timeout=120,
    )
    port = _free_port()
    if request.param == "asgi":
        command = [sys.executable, "-m", "uvicorn", "shop.asgi:application", "--lifespan", "off"]
        command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    else:
        command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    server = subprocess.Popen(command, cwd=SITE, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "the Django example did not start"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stderr is not None:
            server.stderr.close()


@pytest.fixture
def page(browser: Any, django_example: str) -> Iterator[Any]:
    context = browser.new_context(locale="en-US", reduced_motion="reduce")
    context.set_default_timeout(10_000)
    net = NetLog(django_example.removeprefix("http://"))
    context.route("**/*", net.handle)
    page = context.new_page()
    page.net = net
    page.base = django_example
    try:
        yield page
    finally:
        context.close()


def load(page: Any, path: str) -> None:
    page.net.clear()
    page.goto(page.base + path)
    page.wait_for_function("() => !!(window.ConsentBanner && window.ConsentBanner.state)")
    page.wait_for_load_state("networkidle")


def cookies(page: Any) -> set[str]:
    return {c["name"] for c in page.context.cookies(page.base)}


def test_the_django_example_waits_for_consent_then_activates_marked_tags(page: Any) -> None:
    load(page, "/")
    # Nothing third-party before a choice; the marked tags are there, inert.
    assert page.net.third_party == []
    marked = page.locator('script[type="text/plain"][data-consent-category="analytics"]')
    assert marked.count() == 2
    assert page.locator("#stats").inner_text() == "Usage statistics are off."
    assert not {"_ga", "_fbp"} & cookies(page)
    assert page.evaluate("() => window.shopAnalytics") is None

    layer1 = page.locator(".cmw-l1")
    layer1.wait_for()
    with page.expect_response(
        lambda r: r.url.split("?", 1)[0].endswith("/_consent") and r.request.method == "POST"
    ):
        layer1.get_by_role("button", name=EN["accept_all"], exact=True).click()
    # The banner activates the template's marked tags in place, in document order. The
    # page reached "networkidle" before the click, so waiting for that state again would
    # not wait for the script the banner inserts: wait for the script itself to run.
    page.wait_for_function("() => window.shopAnalytics === 'on'")
    page.wait_for_function("() => !!(window.__fake && window.__fake.gtag_js)")
    assert GTAG in page.net.third_party
    assert page.evaluate("() => window.__fake.gtag_js") == 1

    # The next page comes from the server under the new decision.
    load(page, "/")
    assert page.locator("#stats").inner_text() == "Thanks for helping us improve the site."
    assert {"_ga", "_fbp", "consent_mw"} <= cookies(page)
    page.wait_for_function("() => window.shopAnalytics === 'on'")

    # The choice is in the site's own database, readable by the visitor.
    records = page.context.request.get(page.base + "/_consent/records?format=json")
    assert records.ok
    [record] = records.json()["records"]
    assert record["action"] == "accept_all"


def test_the_django_examples_streamed_page_is_neutralised(page: Any) -> None:
    load(page, "/feed")
    assert page.net.third_party == []
    assert page.locator(f'script[type="text/plain"][data-consent-src="{GTAG}"]').count() == 1
    assert page.get_by_text("Today's shows").count() == 1
