"""Write src/consent_mw/policy/data/registry.json, the tracker registry, from open data.

Sources (each one's licence ships beside the data, see that folder's NOTICE):

- the Open Cookie Database (Apache-2.0), tests/fixtures/open-cookie-database/: first-party
  Marketing and Analytics cookie names (an empty Domain: the site's own domain receives
  them, so the middleware can strip them), and its third-party rows' domains as hosts
  with their owner and category;
- EasyPrivacy and EasyList (GPL-3.0-or-later or CC BY-SA 3.0+; used here under the
  GPL, the option that combines with List-KR's): EasyPrivacy's tracking-server and
  third-party sections give hosts (and host/path prefixes) of trackers; EasyList's
  ad-server and third-party sections give ad hosts of the vendors the other sources
  name, and say which tracking hosts serve ads;
- List-KR (GPL-3.0): the ad hosts Korean sites run (its shared first- and third-party
  domain lists).

scripts/registry_rules.toml adds what the data cannot say: generic cookie names never
stripped on the registry's word, platform domains that are never hosts, the owners of
hosts the lists name without one, and the inline-snippet signatures and click ids of the
major vendors.

    python scripts/build_registry.py            # rewrite the shipped file
    python scripts/build_registry.py --check    # exit 1 when it is not what this writes

EasyList and EasyPrivacy are read from Debian's uBlock Origin package (``apt-get download
webext-ublock-origin-chromium`` and ``dpkg-deb -x`` it, or install it), List-KR from a
clone of https://github.com/List-KR/List-KR; give other places with ``--easylist`` and
``--list-kr``. The output records each input's revision and SHA-256.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import subprocess
import sys
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from publicsuffixlist import PublicSuffixList

ROOT = Path(__file__).resolve().parent.parent
OCD = ROOT / "tests" / "fixtures" / "open-cookie-database" / "open-cookie-database.csv"
RULES = ROOT / "scripts" / "registry_rules.toml"
TARGET = ROOT / "src" / "consent_mw" / "policy" / "data" / "registry.json"
EASYLIST = Path("/usr/share/chromium/extensions/ublock-origin/assets/thirdparties/easylist")

OCD_REVISION = "0ee5a17"
FORMAT = 1

# Sections of the filter lists taken, and the category their hosts get when nothing
# else names one. The CNAME-cloaking sections name single sites' own subdomains,
# the mining and anti-adblock ones are not about consent.
EASYPRIVACY_SECTIONS = {
    "easyprivacy/easyprivacy_trackingservers.txt",
    "easyprivacy/easyprivacy_trackingservers_general.txt",
    "easyprivacy/easyprivacy_trackingservers_thirdparty.txt",
    "easyprivacy/easyprivacy_trackingservers_international.txt",
    "easyprivacy/easyprivacy_thirdparty.txt",
    "easyprivacy/easyprivacy_thirdparty_international.txt",
}
EASYLIST_SECTIONS = {"easylist/easylist_adservers.txt", "easylist/easylist_thirdparty.txt"}
LIST_KR_FILES = (
    "filterslists/adblocking/filters-share/1st_domains.txt",
    "filterslists/adblocking/filters-share/3rd_domains.txt",
)

# `||host^`, `||host/path`, `||host^$third-party` and the like: a host (and path
# prefix) with no wildcard, no regular expression and no site restriction.
_RULE = re.compile(
    r"\|\|(?P<host>[a-z0-9-]+(?:\.[a-z0-9-]+)+)(?P<path>/[a-z0-9._/-]*)?\^?"
    r"(?:\$(?P<options>[a-z,~-]+))?"
)
_OPTIONS = {"third-party", "3p", "script", "image", "xmlhttprequest", "ping", "subdocument"}
_SECTION = re.compile(r"! \*\*\* easylist:(\S+) \*\*\*")

_psl = PublicSuffixList()


@dataclass
class Vendor:
    owner: str
    category: str
    cookies: dict[str, None] = field(default_factory=dict)
    hosts: dict[str, None] = field(default_factory=dict)
    inline: tuple[str, ...] = ()
    click_ids: tuple[str, ...] = ()
    sources: dict[str, None] = field(default_factory=dict)

    def data(self) -> dict[str, object]:
        out: dict[str, object] = {"owner": self.owner, "category": self.category}
        for key in ("cookies", "hosts"):
            if getattr(self, key):
                out[key] = sorted(getattr(self, key))
        if self.inline:
            out["inline"] = list(self.inline)
        if self.click_ids:
            out["click_ids"] = list(self.click_ids)
        out["sources"] = sorted(self.sources)
        return out


def registrable(host: str) -> str:
    return _psl.privatesuffix(host) or host


def trimmed(name: str) -> str:
    return name.strip("_-.").casefold()


class Rules:
    def __init__(self, data: dict[str, object]) -> None:
        self.categories: dict[str, str] = data["categories"]  # type: ignore[assignment]
        generic = data["generic"]
        self.generic = {trimmed(n) for n in generic["names"]}  # type: ignore[index]
        self.min_length: int = generic["min_length"]  # type: ignore[index]
        self.keep = set(data["keep"]["names"])  # type: ignore[index]
        self.not_hosts = set(data["not_hosts"]["domains"])  # type: ignore[index]
        self.vendors: dict[str, dict[str, object]] = data["vendors"]  # type: ignore[assignment]
        #: host or host/path of a rule -> owner, longest first
        self.domains = sorted(
            ((d, owner) for owner, v in self.vendors.items() for d in v["domains"]),  # type: ignore[attr-defined]
            key=lambda item: -len(item[0]),
        )

    def strips(self, pattern: str) -> bool:
        """Whether a cookie-name pattern may be stripped on the registry's word."""
        if pattern in self.keep:
            return False
        wildcard = pattern.endswith("*")
        core = trimmed(pattern.rstrip("*"))
        if core in self.generic:
            return False
        return len(core) >= self.min_length + (1 if wildcard else 0)

    def owner_of(self, entry: str) -> str | None:
        host, _, path = entry.partition("/")
        for domain, owner in self.domains:
            rule_host, _, rule_path = domain.partition("/")
            if (host == rule_host or host.endswith("." + rule_host)) and (
                not rule_path
                or path == rule_path
                or path.startswith(rule_path + "/")
                or path.startswith(rule_path.rstrip("/") + "/")
            ):
                return owner
        return None


def ocd_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def cookie_entries(rows: list[dict[str, str]], rules: Rules) -> Iterator[tuple[str, str, str]]:
    """``(platform, category, name pattern)`` of each first-party cookie the registry strips."""
    for row in rows:
        category = rules.categories.get(row["Category"].strip())
        name = ocd_cookie(row)
        if not row["Domain"].strip() and category and rules.strips(name):
            yield row["Platform"].strip(), category, name


def load_rules(path: Path = RULES) -> Rules:
    with path.open("rb") as file:
        return Rules(tomllib.load(file))


def ocd_domains(value: str) -> Iterator[str]:
    """The domains a Domain cell names ('.bing.com (3rd party) or .microsoft.com (3rd party)')."""
    for part in re.split(r"\s+or\s+|,", value):
        part = re.sub(r"\(.*?\)", "", part).strip().strip(".").lower()
        if re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", part):
            yield part


def ocd_cookie(row: dict[str, str]) -> str:
    name = row["Cookie / Data Key name"].strip()
    return name + "*" if row["Wildcard match"].strip() == "1" else name


def list_rules(lines: Iterable[str]) -> Iterator[str]:
    """``host`` or ``host/path`` for each plain host rule among filter-list lines."""
    for line in lines:
        match = _RULE.fullmatch(line.strip())
        if not match:
            continue
        options = match["options"]
        if options and not set(options.split(",")) <= _OPTIONS:
            continue  # a rule for some sites only, or with an exception
        path = (match["path"] or "").rstrip("/")
        yield match["host"] + path


def sections(path: Path, wanted: set[str]) -> Iterator[str]:
    section = None
    with path.open(encoding="utf-8") as file:
        for line in file:
            found = _SECTION.match(line)
            if found:
                section = found[1]
            elif section in wanted and not line.startswith("!"):
                yield line


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def git_revision(repo: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def list_kr_lines(repo: Path) -> tuple[list[str], list[str]]:
    """List-KR's shared domain lists, from a work tree or a bare clone."""
    lines: list[str] = []
    digests: list[str] = []
    for name in LIST_KR_FILES:
        if (repo / name).is_file():
            data = (repo / name).read_bytes()
        else:
            data = subprocess.run(
                ["git", "-C", str(repo), "show", f"HEAD:{name}"], capture_output=True, check=True
            ).stdout
        digests.append(hashlib.sha256(data).hexdigest())
        lines += data.decode("utf-8").splitlines()
    return lines, digests


def build(easylist: Path, list_kr: Path) -> dict[str, object]:
    rules = load_rules()
    vendors: dict[str, Vendor] = {}

    def vendor(owner: str, category: str) -> Vendor:
        found = vendors.get(owner)
        if found is None:
            spec = rules.vendors.get(owner, {})
            found = vendors[owner] = Vendor(
                owner,
                str(spec.get("category", category)),
                inline=tuple(spec.get("inline", ())),  # type: ignore[arg-type]
                click_ids=tuple(spec.get("click_ids", ())),  # type: ignore[arg-type]
            )
        return found

    # -- the Open Cookie Database ----------------------------------------------
    rows = ocd_rows(OCD)
    # a third-party domain's owner and category: its platform's, Marketing first
    domain_owner: dict[str, Counter[str]] = defaultdict(Counter)
    domain_category: dict[str, set[str]] = defaultdict(set)
    for owner, category, name in cookie_entries(rows, rules):
        found = vendor(owner, category)
        if found.category != category:
            # one platform, two categories: the cookie keeps its own
            found = vendor(f"{owner} ({category})", category)
        found.cookies[name] = None
        found.sources["Open Cookie Database"] = None
    for row in rows:
        category = rules.categories.get(row["Category"].strip())
        for domain in ocd_domains(row["Domain"]):
            domain_owner[domain][row["Platform"].strip()] += 1
            if category:
                domain_category[domain].add(category)
    for domain, categories in domain_category.items():
        if registrable(domain) in rules.not_hosts or domain in rules.not_hosts:
            continue
        owner = rules.owner_of(domain) or domain_owner[domain].most_common(1)[0][0]
        category = "advertising" if "advertising" in categories else "analytics"
        found = vendor(owner, category)
        found.hosts[domain] = None
        found.sources["Open Cookie Database"] = None
    ocd_owner = {registrable(d): c.most_common(1)[0][0] for d, c in domain_owner.items()}

    # -- the filter lists -------------------------------------------------------
    privacy = easylist / "easyprivacy.txt"
    ads = easylist / "easylist.txt"
    ad_entries = list(dict.fromkeys(list_rules(sections(ads, EASYLIST_SECTIONS))))
    ad_domains = {registrable(e.partition("/")[0]) for e in ad_entries}
    kr_lines, kr_digests = list_kr_lines(list_kr)

    def add(entry: str, category: str, source: str) -> None:
        host = entry.partition("/")[0]
        domain = registrable(host)
        if domain in rules.not_hosts and "/" not in entry and host == domain:
            return  # a whole platform; its tracking endpoints have their own rules
        owner = rules.owner_of(entry) or ocd_owner.get(domain) or domain
        found = vendor(owner, category)
        found.hosts[entry] = None
        found.sources[source] = None

    for entry in dict.fromkeys(list_rules(sections(privacy, EASYPRIVACY_SECTIONS))):
        domain = registrable(entry.partition("/")[0])
        add(entry, "advertising" if domain in ad_domains else "analytics", "EasyPrivacy")
    named = set(ocd_owner) | {registrable(d.partition("/")[0]) for d, _ in rules.domains}
    for entry in ad_entries:
        if registrable(entry.partition("/")[0]) in named or rules.owner_of(entry):
            add(entry, "advertising", "EasyList")
    for entry in dict.fromkeys(list_rules(kr_lines)):
        add(entry, "advertising", "List-KR")
    for owner, spec in rules.vendors.items():
        for entry in spec.get("hosts", ()):  # type: ignore[attr-defined]
            found = vendor(owner, str(spec["category"]))
            found.hosts[entry] = None
            found.sources["vendor documentation"] = None

    # -- tidy: no host also covered by a parent entry of the same vendor ---------
    for found in vendors.values():
        hosts = set(found.hosts)
        found.hosts = {h: None for h in found.hosts if not _covered(h, hosts - {h})}
    listed = sorted(vendors.values(), key=lambda v: v.owner.casefold())
    return {
        "format": FORMAT,
        "rules": sha256(RULES),
        "sources": [
            {
                "name": "Open Cookie Database",
                "licence": "Apache-2.0",
                "revision": OCD_REVISION,
                "sha256": sha256(OCD),
            },
            {
                "name": "EasyPrivacy",
                "licence": "GPL-3.0-or-later",
                "revision": _list_version(privacy),
                "sha256": sha256(privacy),
            },
            {
                "name": "EasyList",
                "licence": "GPL-3.0-or-later",
                "revision": _list_version(ads),
                "sha256": sha256(ads),
            },
            {
                "name": "List-KR",
                "licence": "GPL-3.0",
                "revision": git_revision(list_kr),
                "sha256": hashlib.sha256("".join(kr_digests).encode()).hexdigest(),
            },
        ],
        "vendors": [v.data() for v in listed if v.cookies or v.hosts or v.inline],
    }


def _covered(entry: str, others: set[str]) -> bool:
    host, _, path = entry.partition("/")
    while True:
        if host in others:
            return True
        for other in others:
            o_host, _, o_path = other.partition("/")
            if o_host == host and path and o_path and (path + "/").startswith(o_path + "/"):
                return True
        _, dot, host = host.partition(".")
        if not dot or "." not in host:
            return False
        path = ""  # a parent host covers every path


def _list_version(path: Path) -> str:
    """The list's ``! Version:`` line, else the uBlock Origin package's version."""
    with path.open(encoding="utf-8") as file:
        for line, _ in zip(file, range(40), strict=False):
            if line.startswith("! Version:"):
                return line.split(":", 1)[1].strip()
    return "as in uBlock Origin 1.67.0"


def render(data: dict[str, object]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=0, separators=(",", ":")) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--easylist", type=Path, default=EASYLIST)
    parser.add_argument("--list-kr", type=Path, required=True)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    for path in (args.easylist / "easyprivacy.txt", args.easylist / "easylist.txt"):
        if not path.is_file():
            sys.exit(
                f"{path} is missing: install Debian's webext-ublock-origin-chromium or pass"
                " --easylist with a folder holding easyprivacy.txt and easylist.txt"
            )
    text = render(build(args.easylist, args.list_kr))
    if args.check:
        if TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET} is not what this script writes", file=sys.stderr)
            return 1
        return 0
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
