"""Write src/consent_mw/core/data/crawler-patterns.txt from crawler-user-agents' JSON.

The shipped file keeps the ``pattern`` of each listed crawler that consent_mw's generic
words (``consent_mw.core.bots.GENERIC``) do not already cover, less the few in
:data:`OVERRIDES` that also match real browsers and phones. A pattern counts as covered
when the generic words match its literal head and every example (``instances``) the list
gives for it; a pattern that starts with a class, an anchor or an alternation is kept.

    python scripts/crawler_patterns.py            # rewrite the shipped file
    python scripts/crawler_patterns.py --check    # exit 1 when it is not what this writes

The source is tests/fixtures/user_agents/crawler-user-agents.json, the file from the
``crawler-user-agents`` package on PyPI (version in the fixture README); to update,
replace that file (``pip download --no-deps crawler-user-agents``), run this script and
the tests (tests/test_bots.py measures recall and false positives).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from consent_mw.core.bots import GENERIC, compile_patterns, split_pattern

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tests" / "fixtures" / "user_agents" / "crawler-user-agents.json"
TARGET = ROOT / "src" / "consent_mw" / "core" / "data" / "crawler-patterns.txt"

#: upstream pattern -> (what ships instead, why); the tests check every replacement
#: still matches the upstream examples
OVERRIDES: dict[str, tuple[tuple[str, ...], str]] = {
    "Sonic": (
        (r"sonic/(?<![a-z]sonic/)", "ranksonic"),
        "'HUAWEI SONIC', 'Lucky Ultra Sonic', 'Panasonic_dL1' are phones",
    ),
    "Butterfly": ((r"butterfly/",), "'HTC Butterfly s' is a phone"),
    r"008\/": ((r"008/(?<![\w-]008/)",), "'sprd-L008/1.0 ... Browser/AppleWebKit533.1' is a phone"),
    "speedy": (
        (),
        "its examples all say 'Speedy Spider' ('spider' covers them); '(speedy;HTC;PG06100' is"
        " a phone",
    ),
    r"NING\/": ((r"^NING\/",), "'Lightning/1.0b1' is Thunderbird's calendar in SeaMonkey"),
    "Fluid": ((), "Fluid is a site-specific browser people use; 'FLUID' names a Windows Phone"),
    r"AP3A\.240617\.008": ((), "an Android build (80legs copies a OnePlus phone's user agent)"),
    "MetaIAB Facebook": ((), "Meta's in-app browser (IAB) in the Facebook app, which people use"),
    r"Code\/1\.": ((), "VS Code's Electron, whose Simple Browser people use to view pages"),
    r"Trae\/": ((), "the Trae editor's Electron, like VS Code's"),
}


def build(source: Path) -> str:
    data = json.loads(source.read_bytes())
    generic = compile_patterns(GENERIC)
    kept: dict[str, None] = {}
    covered = 0
    for entry in data:
        pattern: str = entry["pattern"]
        if pattern in OVERRIDES:
            kept.update(dict.fromkeys(OVERRIDES[pattern][0]))
            continue
        heads = [head for head, _ in split_pattern(pattern)]
        instances = [i.lower() for i in entry.get("instances", [])]
        if all(h and generic.search(h) for h in heads) and all(
            generic.search(i) for i in instances
        ):
            covered += 1
            continue
        kept[pattern] = None
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    lines = [
        "# Named patterns of automated clients, one regular expression a line, matched",
        "# case-insensitively (consent_mw.core.bots).",
        "#",
        "# From crawler-user-agents (https://github.com/monperrus/crawler-user-agents),",
        "# Copyright (c) 2017 Martin Monperrus, MIT licence: LICENSE-crawler-user-agents",
        f"# beside this file. Source file sha256 {digest}:",
        f"# {len(data)} patterns, {covered} covered by consent_mw's generic words, "
        f"{len(OVERRIDES)} narrowed or left out",
        "# (scripts/crawler_patterns.py says why), the rest here.",
        "#",
        "# Written by scripts/crawler_patterns.py: do not edit by hand.",
        *sorted(kept, key=lambda p: (p.lower(), p)),
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    text = build(args.source)
    if args.check:
        current = TARGET.read_text("utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run scripts/crawler_patterns.py")
            return 1
        print(f"{TARGET.relative_to(ROOT)} is up to date")
        return 0
    TARGET.write_text(text, "utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}: {sum(1 for _ in text.splitlines())} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
