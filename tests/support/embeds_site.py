"""A page with a YouTube and a Google Maps embed, and a policy that holds embeds
behind placeholders: shared by the real-browser embed tests."""

from __future__ import annotations

from typing import Any

from consent_mw import Policy
from consent_mw.policy.presets import preset_dict
from support.browser_sites import Site, page

YOUTUBE = "https://www.youtube.com/embed/M7lc1UVf-VE"
MAPS = "https://www.google.com/maps/embed?pb=!1m18!1m12"

# A page's own script that leaves what the players and an analytics tag would: it
# runs before the cleaner (a deferred script), as a player's storage would be there.
_SETS_STORAGE = """<script>
localStorage.setItem('yt-remote-device-id', '1');
sessionStorage.setItem('ytidb::LAST_RESULT_ENTRY_KEY', '2');
localStorage.setItem('amp_device', '3');
localStorage.setItem('site-theme', 'dark');
document.cookie = 'amp_session=4; path=/';
</script>"""

EMBEDS_PAGE = page(
    f'<h1>Embeds</h1><iframe id=yt width="560" height="315" src="{YOUTUBE}"'
    ' title="video" allowfullscreen></iframe>'
    f'<iframe id=map src="{MAPS}" width="100%" height="450" style="border:0"></iframe>'
    "<p id=after>after</p>"
)
SITE = Site(
    {
        "/": ("text/html; charset=utf-8", EMBEDS_PAGE, []),
        "/storage": (
            "text/html; charset=utf-8",
            page(_SETS_STORAGE + "<p id=done>done</p>"),
            [],
        ),
    }
)


def embeds_policy() -> Policy:
    """The GDPR preset with embeds in "functional" and an analytics tag's storage."""
    data: dict[str, Any] = preset_dict("gdpr")
    for category in data["categories"]:
        if category["id"] == "analytics":
            category["storage"] = ["amp_*"]
            category["cookies"] = [*category.get("cookies", []), "amp_session"]
    return Policy.from_dict({**data, "embeds": {"category": "functional"}})
