"""Embeds: the policy's [embeds] table and categories' storage keys, the placeholder
the rewriter puts before a refused embed, and the script injected for them (the
browser's side: tests/browser/test_browser_embeds.py, js/test/embeds.test.mjs)."""

from __future__ import annotations

import html as html_lib
import json
import re
from typing import Any

import pytest

from consent_mw import Policy
from consent_mw.core.assets import IMMUTABLE, embeds_path
from consent_mw.exceptions import PolicyError
from consent_mw.html.placeholder import size_style
from consent_mw.html.rewrite import HTMLRewriter
from consent_mw.i18n.embeds import EMBED_TEXTS
from consent_mw.policy.embeds import shipped_embeds
from consent_mw.policy.presets import preset_dict
from support.html_apps import AppRequest, RawResult, Reply, build, html

NOTHING = frozenset({"necessary"})
YOUTUBE = (
    b'<iframe width="560" height="315" src="https://www.youtube.com/embed/abc?t=1&amp;x=2"'
    b" allowfullscreen></iframe>"
)
MAPS = (
    b'<iframe src="https://www.google.com/maps/embed?pb=1" width="100%" height="450"'
    b' style="border:0"></iframe>'
)
WIDGET = b'<script async src="https://platform.twitter.com/widgets.js" charset="utf-8"></script>'
VIMEO = b'<iframe src="https://player.vimeo.com/video/76979871" width="640" height="360"></iframe>'
TIKTOK = b'<iframe src="https://www.tiktok.com/embed/v2/7000000000000000000"></iframe>'
PIXEL = b'<script src="https://analytics.tiktok.com/i18n/pixel/events.js"></script>'
PAGE = b"<!doctype html><html><head></head><body>" + YOUTUBE + MAPS + WIDGET + b"</body></html>"


def policy(**embeds: Any) -> Policy:
    return Policy.preset("gdpr", embeds={"category": "functional", **embeds})


def rewrite(body: bytes, pol: Policy, allowed: frozenset[str] = NOTHING, locale: str = "en") -> str:
    return HTMLRewriter(pol.matcher, allowed, locale=locale).whole(body).decode("ascii")


def placeholders(out: str) -> list[str]:
    return re.findall(r'<div class="consent-embed".*?</div>', out)


# -- the policy ------------------------------------------------------------------------


def test_a_policy_without_embeds_leaves_them_alone() -> None:
    pol = Policy.preset("gdpr")
    assert pol.embeds is None and pol.matcher.embeds == {}
    assert HTMLRewriter(pol.matcher, NOTHING).whole(PAGE) == PAGE


def test_embeds_become_trackers_of_the_policy_category_owned_by_the_service() -> None:
    matcher = policy().matcher
    assert set(matcher.embeds) == set(shipped_embeds())
    for url, owner in [
        ("https://www.youtube.com/embed/abc", "YouTube"),
        ("https://www.youtube-nocookie.com/embed/abc", "YouTube"),
        ("https://player.vimeo.com/video/1", "Vimeo"),
        ("https://www.google.com/maps/embed?pb=1", "Google Maps"),
        ("https://www.instagram.com/embed.js", "Instagram"),
        ("https://platform.twitter.com/widgets.js", "X"),
        ("https://www.tiktok.com/embed/v2/1", "TikTok"),
    ]:
        assert matcher.url_owner(url) == ("functional", owner), url
    # A service's player and its tracking stay apart: TikTok's pixel is advertising.
    assert matcher.url_owner("https://analytics.tiktok.com/i18n/pixel/events.js") == (
        "advertising",
        "TikTok",
    )
    assert matcher.cookie_category("_ttp") == "advertising"
    # Not embeds: the sites themselves
    assert matcher.url_owner("https://www.youtube.com/watch?v=abc") is None


def test_services_narrow_the_embeds() -> None:
    pol = policy(services=["YouTube"])
    assert set(pol.matcher.embeds) == {"YouTube"}
    out = rewrite(PAGE, pol)
    assert len(placeholders(out)) == 1 and MAPS.decode() in out


@pytest.mark.parametrize(
    ("embeds", "message"),
    [
        ({"category": "nope"}, "is not one of the categories"),
        ({"category": "necessary"}, "is required"),
        ({"category": "functional", "services": ["Dailymotion"]}, "is not an embed service"),
        ({"category": "functional", "services": "YouTube"}, "list"),
        ({"category": "functional", "colour": "red"}, "colour"),
        ({}, "category"),
    ],
)
def test_bad_embeds_tables(embeds: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        Policy.preset("gdpr", embeds=embeds)


@pytest.mark.parametrize("key", ["", "*", "**", " amp_x", 3])
def test_bad_storage_keys(key: Any) -> None:
    data = preset_dict("gdpr")
    data["categories"][2]["storage"] = [key]
    with pytest.raises(PolicyError, match="storage"):
        Policy.from_dict(data)


def test_the_storage_map_has_the_policy_registry_and_embed_entries() -> None:
    data = preset_dict("gdpr")
    analytics = next(c for c in data["categories"] if c["id"] == "analytics")
    analytics["storage"] = ["amp_*"]
    pol = Policy.from_dict({**data, "embeds": {"category": "functional"}})
    found = pol.storage_map
    assert found["analytics"][""]["s"] == ["amp_*"]
    assert "_ga" in found["analytics"]["Google Analytics"]["c"]
    assert found["functional"]["YouTube"] == {"s": ["yt-remote-*", "yt-player-*", "ytidb::*"]}
    assert "necessary" not in found
    assert Policy.from_dict(preset_dict("gdpr")).categories[1].storage == ()


# -- the placeholder ---------------------------------------------------------------------


def test_a_refused_iframe_gets_a_labelled_placeholder_and_is_hidden() -> None:
    out = rewrite(PAGE, policy())
    youtube, maps, widget = placeholders(out)
    texts = {k: html_lib.escape(v.format(service="YouTube")) for k, v in EMBED_TEXTS["en"].items()}
    assert 'role="group"' in youtube and f'aria-label="{texts["title"]}"' in youtube
    assert f"<strong>{texts['title']}</strong>" in youtube
    assert texts["blocked"] in youtube
    assert '<a href="https://www.youtube.com/embed/abc?t=1&amp;x=2" rel="noopener">' in youtube
    assert '<a href="https://policies.google.com/privacy" rel="noopener">' in youtube
    assert 'data-embed-service="YouTube" data-embed-category="functional"' in youtube
    assert f'data-embed-always="{texts["always"]}"' in youtube
    assert "width:560px;max-width:100%;aspect-ratio:560/315;" in youtube
    # the iframe follows, hidden, in the form the banner re-activates
    assert out.count("<iframe hidden ") == 2
    assert 'data-consent-src="https://www.youtube.com/embed/abc?t=1&amp;x=2"' in out
    assert "width:100%;max-width:100%;height:450px;border:0" in maps
    # a widget script: no content link, and the script stays where it was (not hidden)
    assert "widgets.js" not in widget and "X privacy notice" in widget
    assert '<script type="text/plain" data-consent-category="functional"' in out


def test_korean_placeholders_whatever_the_page_encoding() -> None:
    out = rewrite(PAGE, policy(), locale="ko")
    youtube = html_lib.unescape(placeholders(out)[0])
    ko = EMBED_TEXTS["ko"]
    assert ko["title"].format(service="YouTube") in youtube
    assert ko["privacy"].format(service="YouTube") in youtube
    assert 'lang="ko"' in youtube


def test_an_allowed_embed_is_untouched_and_the_memo_keeps_languages_apart() -> None:
    pol = policy()
    assert rewrite(PAGE, pol, NOTHING | {"functional"}) == PAGE.decode()
    en, ko = rewrite(PAGE, pol, locale="en"), rewrite(PAGE, pol, locale="ko")
    assert en != ko
    assert rewrite(PAGE, pol, locale="en") == en
    body = PAGE + b"<!-- another page -->"
    streamed = HTMLRewriter(pol.matcher, NOTHING, locale="ko")
    assert (streamed.feed(body) + streamed.close()).decode() == rewrite(body, pol, locale="ko")


def test_rewriting_twice_gives_what_once_gave() -> None:
    once = rewrite(PAGE, policy())
    assert rewrite(once.encode(), policy()) == once


def test_the_output_does_not_depend_on_the_chunks() -> None:
    pol = policy()
    whole = rewrite(PAGE, pol)
    for size in (1, 7, 64):
        r = HTMLRewriter(pol.matcher, NOTHING)
        out = b"".join(r.feed(PAGE[i : i + size]) for i in range(0, len(PAGE), size))
        assert (out + r.close()).decode() == whole


def test_vimeo_tiktok_and_the_tiktok_pixel() -> None:
    out = rewrite(VIMEO + TIKTOK + PIXEL, policy(), NOTHING | {"advertising"})
    assert [re.search(r'data-embed-service="([^"]+)"', p)[1] for p in placeholders(out)] == [  # type: ignore[index]
        "Vimeo",
        "TikTok",
    ]
    assert PIXEL.decode() in out  # advertising allowed: the pixel runs
    refused = rewrite(PIXEL, policy())
    assert "consent-embed" not in refused and "data-consent-src" in refused


@pytest.mark.parametrize(
    ("width", "height", "style"),
    [
        ("560", "315", "width:560px;max-width:100%;aspect-ratio:560/315;"),
        (" 640px ", "360", "width:640px;max-width:100%;aspect-ratio:640/360;"),
        (None, None, "width:300px;max-width:100%;aspect-ratio:300/150;"),
        ("100%", "450", "width:100%;max-width:100%;height:450px;"),
        ("0", "0", "width:0px;max-width:100%;height:0px;"),
        ("wide", "315", "width:300px;max-width:100%;aspect-ratio:300/315;"),
        ('1"><script>', "1", "width:300px;max-width:100%;aspect-ratio:300/1;"),
    ],
)
def test_size_style(width: str | None, height: str | None, style: str) -> None:
    assert size_style(width, height) == style


def test_an_iframe_style_that_fetches_is_not_copied() -> None:
    tag = b'<iframe src="https://www.youtube.com/embed/a" style="background:url(https://x.test/a.png)"></iframe>'
    (shown,) = placeholders(rewrite(tag, policy()))
    assert "url(" not in shown


# -- served ------------------------------------------------------------------------------


def _page(request: AppRequest) -> Reply:
    return html(PAGE)


@pytest.fixture(params=["asgi", "wsgi"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_the_page_gets_the_placeholders_and_the_script_in_its_language(kind: str) -> None:
    harness = build(kind, _page, policy=policy())
    result = harness.request("GET", "/", headers={"accept-language": "ko-KR,ko;q=0.9"})
    assert isinstance(result, RawResult)
    text = html_lib.unescape(result.raw.decode())
    assert EMBED_TEXTS["ko"]["title"].format(service="YouTube") in text
    src = embeds_path("/_consent")
    assert src is not None
    match = re.search(rf'<script src="{re.escape(src)}" defer ([^>]*)>', result.raw.decode())
    assert match is not None
    assert 'data-allowed="necessary"' in match[1]
    storage = re.search(r'data-storage="([^"]*)"', match[1])
    assert storage is not None
    assert json.loads(html_lib.unescape(storage[1])) == harness.policy.storage_map
    asset = harness.request("GET", src, headers={"accept-encoding": "gzip"})
    assert asset.status == 200 and asset.header("cache-control") == IMMUTABLE


def test_no_script_without_embeds_or_storage_keys(kind: str) -> None:
    harness = build(kind, _page)
    result = harness.request("GET", "/")
    assert isinstance(result, RawResult)
    assert b"embeds." not in result.raw and b"consent-embed" not in result.raw


def test_an_embed_service_can_be_allowed_on_its_own() -> None:
    # "Always allow YouTube" posts {"functional": {"YouTube": true}}: the policy must
    # know YouTube as a service of the category its [embeds] table names, and only there.
    from support.embeds_site import embeds_policy

    policy = embeds_policy()
    assert policy.embeds is not None
    category = policy.embeds.category
    assert policy.knows_service(category, "YouTube")
    assert policy.knows_service(category, "Google Maps")
    other = next(c.id for c in policy.categories if c.id not in (category, "necessary"))
    assert not policy.knows_service(other, "Google Maps")
    assert not policy.knows_service(category, "Not An Embed")
