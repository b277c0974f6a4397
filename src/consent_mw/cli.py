"""The ``consent-mw`` command.

::

    consent-mw demo [--csp enforce]          run the demo ticketing site
    consent-mw policy check|render|diff      validate, render or compare policy files
    consent-mw audit [--hosts] [--declare]   cookies and third-party hosts nobody declared
    consent-mw registry cookie|host|list|info  look a cookie or host up in the tracker registry
    consent-mw history ID                    a subject's ledger records (JSON lines;
                                             ``history -- ID`` for an id that begins with -)
    consent-mw query ID [--user] [--json]    current state; may ads be personalised?
    consent-mw lookup [FILE]                 many consent ids (file or stdin), JSON lines
    consent-mw stats [--json]                subjects per policy version and category
    consent-mw export [-o FILE] [filters]    current states as JSON lines or CSV
    consent-mw purge                         delete expired events
    consent-mw access-log [--json]           who queried the ledger
    consent-mw token create --scope S        a query API token (printed once) and its hash
    consent-mw platforms ID…|--file F        consent in Google Ads / GA4 terms, JSON lines
    consent-mw as-of --at T ID…|--file F     the state and platform fields at time T
    consent-mw watch [--cursor C]            follow the change feed, JSON lines
    consent-mw webhooks run|dead|replay      deliver the feed as signed webhooks

The query commands (``history`` and from ``query`` on) read the ledger from ``--store
URL`` or ``$CONSENT_MW_STORE`` (``sqlite:///ledger.sqlite3``, ``redis://host:6379/0``,
``redis+cluster://…``, ``?prefix=`` for a non-default Redis key prefix) and judge
``personalised_ads`` by the policy in ``--policy FILE`` or ``$CONSENT_MW_POLICY``;
each is written to the access log as ``cli:<login name>``. ``export`` draws a progress
bar on stderr when stderr is a terminal and the rows do not go to that same terminal;
never when stderr is piped or redirected (nor with ``--no-progress``).

Exit codes (scripts may rely on them):

- 0 success;
- 1 the thing asked about is wrong or missing: an invalid policy, a failed schedule
  check, an unknown subject (``history``, ``query``), ids without a state (``lookup``:
  the found ones are still printed);
- 2 bad usage: unknown options, a bad filter, cursor or store URL, no store named, a
  ``--policy`` file that does not load;
- 3 the store is unreachable or refused the operation;
- 4 the output could not be written (a file, or a pipe closed early: ``… | head``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from .exceptions import ConfigError, PolicyError, StoreError
from .query.commands import STORE_ENV, UsageError, add_query_commands
from .query.errors import BadQuery, QueryError, UnknownSubject
from .query.feed_commands import add_feed_commands

__all__ = ["main"]

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, EXIT_STORE, EXIT_OUTPUT = 0, 1, 2, 3, 4


def _demo(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        print("consent-mw demo needs uvicorn: pip install 'consent_mw[cli]'", file=sys.stderr)
        return EXIT_USAGE
    from .demo import QUERY_PATH, create_app, with_query_api
    from .query.app import TOKENS_ENV
    from .query.tokens import TokenSpec, hash_token, new_token, parse_token_lines

    site = create_app(store=args.store, csp=args.csp)
    base = f"http://{args.host}:{args.port}"
    shown = "" if args.csp == "off" else f", csp: {args.csp}"
    print(f"Ticketbox demo on {base}/  (ledger: {args.store}{shown})", file=sys.stderr)
    configured = os.environ.get(TOKENS_ENV, "")
    if configured.strip():
        tokens = [spec.line for spec in parse_token_lines(configured)]
        told = f"tokens from ${TOKENS_ENV}"
    else:
        # No tokens configured: one read token for this run, printed once.
        token = new_token()
        tokens = [TokenSpec("demo-ads", "read", hash_token(token)).line]
        told = f"read token for this run: {token}"
    print(f"Query API on {base}{QUERY_PATH}/  ({told})", file=sys.stderr)
    uvicorn.run(with_query_api(site, tokens), host=args.host, port=args.port, log_level="warning")
    return EXIT_OK


def _policy_check(args: argparse.Namespace) -> int:
    from .policy.model import Policy

    try:
        policy = Policy.from_toml(args.file)
    except PolicyError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    print(
        f"{args.file}: policy {policy.version} is valid; categories: "
        f"{', '.join(c.id for c in policy.categories)}; locales: {', '.join(policy.locales)}"
    )
    return EXIT_OK


def _policy_render(args: argparse.Namespace) -> int:
    from .notice.render import render_notice
    from .policy.model import Policy

    try:
        policy = Policy.from_toml(args.file)
        text = render_notice(policy, args.locale, fmt=args.format)
    except PolicyError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    output = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False, indent=2)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as file:
            file.write(output)
    else:
        sys.stdout.write(output if output.endswith("\n") else output + "\n")
    return EXIT_OK


def _policy_diff(args: argparse.Namespace) -> int:
    from .policy.diff import check_schedule, diff_files, render_diff

    try:
        diff = diff_files(args.old, args.new)
    except PolicyError as exc:
        print(f"consent-mw: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    print(render_diff(diff, args.locale))
    if args.check:
        from .policy.model import Policy

        try:
            check_schedule(Policy.from_toml(args.new), major=diff.major)
        except PolicyError as exc:
            print(f"{args.new}: {exc}", file=sys.stderr)
            return EXIT_PROBLEM
    return EXIT_OK


def _audit(args: argparse.Namespace) -> int:
    from .core.audit import summarise
    from .core.host_audit import summarise_hosts
    from .stores import store_from_url

    store = store_from_url(args.store)
    try:
        events = store.events(limit=args.limit)
    finally:
        store.close()
    cookies, hosts = summarise(events), summarise_hosts(events)
    if not (args.declare or args.json):
        print(_registry_line())
    if args.declare:
        print(_declarations(hosts), end="")
    elif args.json:
        print(json.dumps(hosts if args.hosts else cookies, ensure_ascii=False, indent=2))
    elif args.hosts:
        _print_hosts(hosts)
    else:
        _print_cookies(cookies)
        print()
        _print_hosts(hosts)
    return EXIT_OK


def _registry_line() -> str:
    from .policy.registry import registry

    info = registry().summary()
    sources = ", ".join(f"{s['name']} {s['revision']}" for s in info["sources"])
    return f"Tracker registry {info['version']}: {info['vendors']} vendors, from {sources}."


def _registry(args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    from .policy import Policy
    from .policy.registry import registry
    from .policy.trackers import BUILTIN_TRACKERS

    policy = Policy.from_toml(args.policy) if args.policy else Policy.preset("gdpr")
    matcher = policy.matcher
    if args.what == "info":
        info = registry().summary()
        print(json.dumps(info, indent=2) if args.json else _registry_line())
        return EXIT_OK
    if args.what == "list":
        replaced = {t.owner for t in policy.trackers}
        listed = [(t, "built-in") for t in BUILTIN_TRACKERS if t.owner not in replaced]
        listed += [(t, "policy") for t in policy.trackers]
        listed += [(t, "registry") for t in registry().trackers if t.owner not in replaced]
        rows = [
            {
                "owner": t.owner,
                "category": t.category,
                "from": origin,
                "cookies": len(t.cookies),
                "hosts": len(t.hosts),
            }
            for t, origin in listed
            if (not args.category or t.category == args.category)
            and args.owner.casefold() in t.owner.casefold()
        ]
        if args.json:
            print(json.dumps(rows, ensure_ascii=False, indent=2))
        for row in [] if args.json else rows:
            print(
                f"{row['owner']:<36} {row['category']:<12} {row['from']:<9} "
                f"{row['cookies']:>4} cookies {row['hosts']:>5} hosts"
            )
        return EXIT_OK
    value = (args.value or "").strip()
    if args.what == "cookie" and (not value or any(c in value for c in ' \t;,="')):
        raise UsageError(f"{value!r} is not a cookie name: give one name, as Set-Cookie sends it.")
    if args.what == "cookie":
        found = matcher.cookie_owner(value)
    else:
        url = value if "://" in value else f"https://{value}"
        try:
            host = urlsplit(url).hostname
        except ValueError:
            host = None
        if not host or "." not in host:
            raise UsageError(f"{value!r} is not a host or URL (e.g. cdn.example.com/tag.js).")
        found = matcher.url_owner(url)
    result = {"query": value, "category": found[0], "owner": found[1]} if found else None
    if args.json:
        print(json.dumps(result or {"query": value, "category": None, "owner": None}))
    elif found:
        print(f"{value}: {found[0]} ({found[1]})")
    else:
        print(f"{value}: not in the registry or the policy", file=sys.stderr)
    return EXIT_OK if found else EXIT_PROBLEM


def _print_cookies(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print("No undeclared cookies seen.")
        return
    print(f"{'cookie':<28} {'suggested':<12} {'route':<24} attributes")
    for row in rows:
        flags = ", ".join(
            flag for flag, on in (("HttpOnly", row["http_only"]), ("Secure", row["secure"])) if on
        )
        extra = f"SameSite={row['same_site']}" if row.get("same_site") else ""
        attributes = "; ".join(x for x in (flags, extra, row.get("lifetime") or "") if x)
        print(f"{row['name']:<28} {row['suggested_category']:<12} {row['route']:<24} {attributes}")


def _print_hosts(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print('No third-party hosts reported by browsers (csp = "report" or "enforce").')
        return
    print(f"{'host':<32} {'category':<12} {'directive':<16} {'count':>7}  {'last seen':<20} page")
    for row in rows:
        seen = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row["last_seen"]))
        print(
            f"{row['host']:<32} {row['category'] or '?':<12} {row['directive']:<16} "
            f"{row['count']:>7}  {seen:<20} {row['path']}"
        )


def _declarations(rows: list[dict[str, Any]]) -> str:
    """Policy lines that would declare the reported hosts, by category (a person
    confirms them: a host the registry does not know is listed under "unknown")."""
    by_category: dict[str, list[str]] = {}
    for row in rows:
        names = by_category.setdefault(row["category"] or "unknown", [])
        if row["host"] not in names:
            names.append(row["host"])
    if not by_category:
        return "# No third-party hosts reported by browsers.\n"
    out = ["# Hosts browsers reported, by category. Add each list to that category's"]
    out.append("# `hosts` in the policy file; a host the site needs whatever the visitor")
    out.append("# chose (CDN, fonts, payment, its own API) goes under `necessary`.")
    for category in sorted(by_category, key=lambda c: (c == "unknown", c)):
        hosts = ", ".join(json.dumps(h) for h in sorted(by_category[category]))
        if category == "unknown":
            out.append("\n# not in the registry: decide their category (or necessary)")
            out.append(f"# hosts = [{hosts}]")
        else:
            out.append(f'\n# in the [[categories]] entry with id = "{category}":')
            out.append(f"hosts = [{hosts}]")
    return "\n".join(out) + "\n"


def _history(args: argparse.Namespace) -> int:
    from .stores import store_from_url

    url = args.store or os.environ.get(STORE_ENV)
    if not url:
        raise UsageError(f"Name the ledger with --store URL or ${STORE_ENV}.")
    store = store_from_url(url)
    try:
        records = store.history(args.subject, limit=args.limit)
    finally:
        store.close()
    if not records:
        print(f"No ledger records for subject {args.subject!r}.", file=sys.stderr)
        return EXIT_PROBLEM
    for record in records:
        print(record.to_json())
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="consent-mw", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="run the demo ticketing site")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument(
        "--store",
        default="sqlite:///consent-demo.sqlite3",
        help="ledger URL (default: %(default)s)",
    )
    demo.add_argument(
        "--csp",
        choices=("off", "report", "enforce"),
        default="off",
        help="the per-visitor Content-Security-Policy (default: %(default)s)",
    )
    demo.set_defaults(run=_demo)

    policy = commands.add_parser("policy", help="work with policy files")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True)
    check = policy_commands.add_parser("check", help="validate a policy TOML file")
    check.add_argument("file")
    check.set_defaults(run=_policy_check)
    render = policy_commands.add_parser("render", help="render the privacy notice")
    render.add_argument("file")
    render.add_argument("--locale", default="ko")
    render.add_argument("--format", choices=["markdown", "html", "json"], default="markdown")
    render.add_argument("--output", help="write to this file instead of stdout")
    render.set_defaults(run=_policy_render)
    diff = policy_commands.add_parser(
        "diff", help="what changed between two policy files, and whether it is major"
    )
    diff.add_argument("old")
    diff.add_argument("new")
    diff.add_argument("--locale", default="en")
    diff.add_argument(
        "--check", action="store_true", help="also check the 7/30-day announcement rule"
    )
    diff.set_defaults(run=_policy_diff)

    audit = commands.add_parser(
        "audit", help="cookies the app set that neither the policy nor the registry declares"
    )
    audit.add_argument("--store", required=True, help="ledger URL, e.g. sqlite:///ledger.sqlite3")
    audit.add_argument("--limit", type=int, default=10_000)
    audit.add_argument("--json", action="store_true", help="machine-readable output")
    audit.add_argument(
        "--hosts",
        action="store_true",
        help="only the third-party hosts browsers reported (with --json: those as JSON)",
    )
    audit.add_argument(
        "--declare",
        action="store_true",
        help="print the policy entries that would declare the hosts browsers reported",
    )
    audit.set_defaults(run=_audit)

    lookup = commands.add_parser(
        "registry", help="look a cookie name or host up in the tracker registry, list vendors"
    )
    lookup.add_argument("what", choices=("cookie", "host", "list", "info"))
    lookup.add_argument("value", nargs="?", help="a cookie name, or a host or URL")
    lookup.add_argument("--policy", help="a policy TOML file whose trackers and hosts count too")
    lookup.add_argument("--category", help="list: only vendors of this category")
    lookup.add_argument("--owner", default="", help="list: only owners containing this text")
    lookup.add_argument("--json", action="store_true", help="machine-readable output")
    lookup.set_defaults(run=_registry)

    history = commands.add_parser("history", help="print a subject's ledger records (JSON lines)")
    history.add_argument("subject", help="consent id")
    history.add_argument("--store", help=f"ledger URL (default: ${STORE_ENV})")
    history.add_argument("--limit", type=int, default=100)
    history.set_defaults(run=_history)

    add_query_commands(commands)
    add_feed_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except (ConfigError, PolicyError, UsageError, BadQuery) as exc:
        print(f"consent-mw: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except UnknownSubject as exc:
        print(f"consent-mw: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    except QueryError as exc:  # e.g. a ledger that keeps no change feed
        print(f"consent-mw: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        print(f"consent-mw: {exc}", file=sys.stderr)
        return EXIT_STORE
    except BrokenPipeError:
        # The reader went away (… | head): point stdout at /dev/null so the flush at
        # exit does not fail again, and say so by the exit code.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # stdout is not a file descriptor (tests)
            pass
        return EXIT_OUTPUT
    except OSError as exc:
        print(f"consent-mw: cannot write the output: {exc}", file=sys.stderr)
        return EXIT_OUTPUT
    return code


if __name__ == "__main__":
    sys.exit(main())
