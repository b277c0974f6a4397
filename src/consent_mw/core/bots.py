"""Which user agents declare an automated client: crawlers, uptime monitors, link checkers,
feed readers, archivers, HTTP libraries and automated browsers. Such a client sees no
banner and leaves no device facts (see :func:`~consent_mw.core.device.bot_check`).

One regular expression, searched in the lower-cased string, from two sources:

- :data:`GENERIC`: words that say what a client does rather than who made it (``bot``,
  ``crawl``, ``monitor``, ``+http://``...), written here, so that a crawler nobody has
  listed yet is still known;
- ``data/crawler-patterns.txt``: the named patterns of the crawler-user-agents project (MIT,
  its licence beside the file) that those words do not already cover, less the few that
  also match real browsers; written by ``scripts/crawler_patterns.py``.

Every alternative starts with a literal, and the literals share one prefix tree, so at a
position where no pattern can start the search costs one character comparison per branch.
The expression is compiled when first needed (about 20 ms; the engine asks when it starts),
not at import. docs/bots.md has the sources, what counts as a bot, and the measured recall
and false positives.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache, lru_cache
from importlib import resources

__all__ = [
    "GENERIC",
    "MAX_LENGTH",
    "PATTERNS_FILE",
    "compile_patterns",
    "declares_bot",
    "expression",
    "is_bot",
    "named_patterns",
    "split_pattern",
]

#: the characters of a user agent that are searched (device.MAX_USER_AGENT, which imports
#: this module, cuts a user agent to the same length before it is parsed or recorded)
MAX_LENGTH = 512

#: Words that name an automated client's trade, lower-case regular expressions each
#: starting with a literal. Every one is checked against real browsers and phones by
#: tests/test_bots.py; a word that also names a phone or a browser is narrowed (the reason
#: beside it) or left to the named patterns.
GENERIC: tuple[str, ...] = (
    # Cubot is a phone brand ("Android 12; CUBOT NOTE 20 PRO"), not a robot.
    r"bot(?<!cubot)",
    "crawl",
    "spider",
    "slurp",
    "scrape",
    "scrapy",
    "archiv",
    "fetch",
    "checker",
    "checklink",
    "linkcheck",
    "link check",
    "monitor",
    "uptime",
    "scanner",
    "indexer",
    "validator",
    "analyzer",
    "analyser",
    "harvest",
    "sitemap",
    "screenshot",
    "headless",
    "phantomjs",
    "selenium",
    "puppeteer",
    "lighthouse",
    # WebPageTest marks its agents " PTST/<version>".
    "ptst/",
    "pingdom",
    "statuscake",
    "feed",
    "rss",
    "preview",
    "facebookexternalhit",
    "synthetic",
    "survey",
    "detector",
    "webhook",
    "favicon",
    "research",
    "inspect",
    "metadata",
    "verifi",
    "optimiz",
    "datadog",
    "zabbix",
    "nagios",
    # A contact address: "+http://...", "(https://...", "; http://...", an e-mail address,
    # which browsers never carry (a phone's build string may: "GT-S5830 - Forum: http://...",
    # "ARCHOS 101G9 Build/ICS@ROM_04.06.2012", and so may Ecosia: "(Ecosia android@150.0.0.0)").
    r"\+http",
    r"\(https?://",
    r"\( https?://",
    r";https?://",
    r"; https?://",
    r"www\.",
    r"@[a-z0-9-]+\.[a-z]{2}",
    "mailto:",
    r"\(at\)",
    r"\[at\]",
    # HTTP libraries and command-line clients.
    "python",
    "curl",
    "wget",
    "libwww",
    "httpclient",
    "http-client",
    "http_client",
    "httpx",
    "okhttp",
    "axios",
    "node-fetch",
    "undici",
    "go-http",
    "perl",
    "urllib",
    "requests",
    # "Java/1.8.0_292" is Java's HTTP client; J2ME phones say "Java/ASVM/1.1",
    # "HuaweiJava/1.0" or "Java/SEMC-Java/2.0".
    r"^java/\d",
    # NAVER's and Daum's crawlers; DaumApps is Daum's app with its in-app browser.
    "yeti",
    r"daum(?:oa)?(?![a-z])",
)

PATTERNS_FILE = "crawler-patterns.txt"

# Characters that end a pattern's literal head.
_SPECIAL = frozenset(".^$*+?{}[]()|\\")
_QUANTIFIERS = frozenset("*+?{")
# "[cC]" in a pattern matched case-insensitively is just "c". (Both expressions are
# compiled when the patterns are, not at import: re keeps them.)
_CASE_PAIR = r"(?<!\\)\[([a-zA-Z])([a-zA-Z])\]"
# A leading group of literal alternatives, "(^| )PTST" or "(sistrix|SISTRIX) ".
_LEADING_GROUP = r"\(((?:\^?[\w ]*\|)+\^?[\w ]*)\)(?![*+?{])"


def _top_level(pattern: str) -> list[str]:
    """``pattern`` cut at each ``|`` outside a group or a class."""
    parts: list[str] = []
    depth, start, escaped, in_class = 0, 0, False, False
    for i, ch in enumerate(pattern):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
    parts.append(pattern[start:])
    return parts


def _head(pattern: str) -> tuple[str, str]:
    head: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and not pattern[i + 1].isalnum():
            literal, width = pattern[i + 1], 2
        elif ch not in _SPECIAL:
            literal, width = ch, 1
        else:
            break
        if i + width < len(pattern) and pattern[i + width] in _QUANTIFIERS:
            break  # "https?": the s belongs to the rest
        head.append(literal)
        i += width
    return "".join(head).lower(), pattern[i:]


def split_pattern(pattern: str) -> list[tuple[str, str]]:
    """The ``(literal head, rest)`` pairs that together match what ``pattern`` matches
    case-insensitively: one per top-level alternative and per alternative of a leading
    group; a leading ``^`` becomes a look-behind after the head. A head is empty where
    no literal starts every match (a class, a group left as it is)."""
    pairs: list[tuple[str, str]] = []
    for part in _top_level(pattern):
        part = re.sub(
            _CASE_PAIR, lambda m: m[1].lower() if m[1].lower() == m[2].lower() else m[0], part
        )
        group = re.match(_LEADING_GROUP, part)
        variants = [a + part[group.end() :] for a in group[1].split("|")] if group else [part]
        for variant in variants:
            anchored = variant.startswith("^")
            head, rest = _head(variant[1:] if anchored else variant)
            if not head:
                pairs.append(("", variant))
            elif anchored:
                pairs.append((head, f"(?<=^{re.escape(head)}){rest}"))
            else:
                pairs.append((head, rest))
    return pairs


class _Node:
    __slots__ = ("children", "ends")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        #: the rests of the patterns whose head ends here ("" for a plain literal)
        self.ends: list[str] = []


def _source(node: _Node) -> str:
    if "" in node.ends:
        return ""  # a plain literal ends here: whatever follows is a match already
    branches = [*dict.fromkeys(node.ends)]
    branches += [re.escape(ch) + _source(child) for ch, child in sorted(node.children.items())]
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


def compile_patterns(patterns: Iterable[str]) -> re.Pattern[str]:
    """One expression for ``patterns`` (to be searched in a lower-cased string): their
    literal heads in a prefix tree, the rest of each (matched case-insensitively) after
    its head, patterns without a head as alternatives of their own."""
    root = _Node()
    headless: list[str] = []
    for pattern in patterns:
        for head, rest in split_pattern(pattern):
            if not head:
                headless.append(f"(?i:{rest})")
                continue
            node = root
            for ch in head:
                node = node.children.setdefault(ch, _Node())
            node.ends.append(f"(?i:{rest})" if any(c.isalpha() for c in rest) else rest)
    branches = [_source(root) if root.children else "", *dict.fromkeys(headless)]
    # No pattern at all matches nothing (an empty expression would match everything).
    return re.compile("|".join(filter(None, branches)) or "(?!)")


def named_patterns() -> tuple[str, ...]:
    """The shipped named patterns, one regular expression a line (``#`` starts a comment;
    a pattern may end in a space, so lines are not stripped)."""
    data = resources.files("consent_mw").joinpath("core", "data", PATTERNS_FILE)
    lines = data.read_text("utf-8").splitlines()
    return tuple(line for line in lines if line and not line.startswith("#"))


@cache
def expression() -> re.Pattern[str]:
    """The compiled expression (built on first use: about 20 ms)."""
    return compile_patterns((*GENERIC, *named_patterns()))


@lru_cache(maxsize=4096)
def declares_bot(user_agent: str) -> bool:
    """Whether the patterns name ``user_agent`` an automated client; remembered per string
    (a site sees few distinct user agents)."""
    return expression().search(user_agent.lower()) is not None


def is_bot(user_agent: str | None) -> bool:
    """Whether a user agent declares itself an automated client (crawler, monitor, link
    checker, feed reader, archiver, library, automated browser).

    Only the first 512 characters count, as for device facts and the ledger: a pattern with
    an open gap ("Current[\\s\\S]*RSS Reader") costs time in proportion to the square of
    what it searches, and a header can be far longer. At most 4,096 answers are kept."""
    if not user_agent:
        return False
    if len(user_agent) > MAX_LENGTH:
        user_agent = user_agent[:MAX_LENGTH]
    return declares_bot(user_agent)
