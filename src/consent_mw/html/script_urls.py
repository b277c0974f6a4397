"""The URLs an inline script sends requests to, where it writes them as literals.

A script is read for the web platform's calls that send a request to a URL given
as a string literal: ``fetch("…")``, ``navigator.sendBeacon("…")``,
``new Request("…")``, ``xhr.open("POST", "…")``, ``new Image().src = "…"`` (any
``.src =``), ``new Worker("…")``, ``new SharedWorker("…")``,
``importScripts("…")``, ``import("…")``, a module's ``import … from "…"``,
``new EventSource("…")`` and ``new WebSocket("…")``. Escapes a literal may
hold are decoded (``\\/``, ``\\x2e``, ``\\u002e``, ``\\u{2e}``). A URL put
together at run time (string concatenation, ``atob``, a variable) is not seen
here: the browser-enforced policy (``csp="enforce"``) is what stops those.

Speculation rules (``<script type="speculationrules">``) are JSON: each URL of a
rule's ``urls`` list is one the browser may prefetch or prerender.
"""

from __future__ import annotations

import json
import re
from typing import Final

__all__ = ["call_urls", "rule_urls"]

_CALL: Final = re.compile(
    rb"(?:(?<![\w$])(?:fetch|importScripts|import|navigator\s*\.\s*sendBeacon"
    rb"|new\s+(?:Request|Worker|SharedWorker|EventSource|WebSocket)))\s*\(\s*"
    rb"|\.\s*open\s*\(\s*(?P<m>[\"'`])[A-Za-z]+(?P=m)\s*,\s*"
    rb"|\.\s*src\s*=(?!=)\s*"
    rb"|(?<![\w$.])(?:import|from)\s*(?=[\"'])"  # import "…", import x from "…", export … from
)
_LITERAL: Final = re.compile(rb"(?P<q>[\"'`])(?P<s>(?:(?!(?P=q))[^\\\n]|\\[\s\S])*+)(?P=q)")
_ESCAPE: Final = re.compile(
    r"\\(?:x([0-9a-fA-F]{2})|u\{([0-9a-fA-F]{1,6})\}|u([0-9a-fA-F]{4})|([\s\S]))"
)
# (an escaped line break continues the literal)
_SIMPLE: Final = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_SIMPLE["\n"] = ""


def call_urls(body: bytes) -> list[str]:
    """The literal URLs ``body`` (a script's text) sends requests to, in order."""
    found: list[str] = []
    for call in _CALL.finditer(body):
        literal = _LITERAL.match(body, call.end())
        if literal is None:
            continue
        if literal["q"] == b"`" and b"${" in literal["s"]:
            continue  # a template with substitutions is assembled at run time
        found.append(_unescape(literal["s"].decode("latin-1")))
    return found


def rule_urls(body: bytes) -> list[str]:
    """The URLs of the rules in a speculation-rules set (none if it is not valid JSON,
    which the browser ignores too)."""
    try:
        rules = json.loads(body)
    except ValueError:
        return []
    found: list[str] = []
    if isinstance(rules, dict):
        for action in rules.values():
            for rule in action if isinstance(action, list) else ():
                urls = rule.get("urls") if isinstance(rule, dict) else None
                if isinstance(urls, list):
                    found += (url for url in urls if isinstance(url, str))
    return found


def _decode(m: re.Match[str]) -> str:
    hex2, braced, hex4, char = m.groups()
    code = hex2 or braced or hex4
    if code is not None:
        value = int(code, 16)
        return chr(value) if value <= 0x10FFFF else "\ufffd"
    return _SIMPLE.get(char, char)


def _unescape(literal: str) -> str:
    return _ESCAPE.sub(_decode, literal) if "\\" in literal else literal
