"""The ``consent-mw`` command.

Exit codes: 0 success, 1 the thing asked about is wrong or missing (an
invalid policy, an unknown subject), 2 bad usage, 3 the store is unreachable.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .exceptions import ConfigError, PolicyError, StoreError

__all__ = ["main"]

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, EXIT_STORE = 0, 1, 2, 3


def _demo(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        print("consent-mw demo needs uvicorn: pip install 'consent_mw[cli]'", file=sys.stderr)
        return EXIT_USAGE
    from .demo import create_app

    app = create_app(store=args.store)
    print(
        f"Ticketbox demo on http://{args.host}:{args.port}/  (ledger: {args.store})",
        file=sys.stderr,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return EXIT_OK


def _policy_check(args: argparse.Namespace) -> int:
    from .policy import Policy

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
    from .notice import render_notice
    from .policy import Policy

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
    from .policy_diff import check_schedule, diff_files, render_diff

    try:
        diff = diff_files(args.old, args.new)
    except PolicyError as exc:
        print(f"consent-mw: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    print(render_diff(diff, args.locale))
    if args.check:
        from .policy import Policy

        try:
            check_schedule(Policy.from_toml(args.new), major=diff.major)
        except PolicyError as exc:
            print(f"{args.new}: {exc}", file=sys.stderr)
            return EXIT_PROBLEM
    return EXIT_OK


def _audit(args: argparse.Namespace) -> int:
    from .audit import summarise
    from .stores import store_from_url

    store = store_from_url(args.store)
    try:
        rows = summarise(store.events(limit=args.limit))
    finally:
        store.close()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not rows:
        print("No undeclared cookies seen.")
        return EXIT_OK
    print(f"{'cookie':<28} {'suggested':<12} {'route':<24} attributes")
    for row in rows:
        flags = ", ".join(
            flag for flag, on in (("HttpOnly", row["http_only"]), ("Secure", row["secure"])) if on
        )
        extra = f"SameSite={row['same_site']}" if row.get("same_site") else ""
        attributes = "; ".join(x for x in (flags, extra, row.get("lifetime") or "") if x)
        print(f"{row['name']:<28} {row['suggested_category']:<12} {row['route']:<24} {attributes}")
    return EXIT_OK


def _history(args: argparse.Namespace) -> int:
    from .stores import store_from_url

    store = store_from_url(args.store)
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
    audit.set_defaults(run=_audit)

    history = commands.add_parser("history", help="print a subject's ledger records (JSON lines)")
    history.add_argument("subject", help="consent id")
    history.add_argument("--store", required=True, help="ledger URL, e.g. sqlite:///ledger.sqlite3")
    history.add_argument("--limit", type=int, default=100)
    history.set_defaults(run=_history)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except ConfigError as exc:
        print(f"consent-mw: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        print(f"consent-mw: {exc}", file=sys.stderr)
        return EXIT_STORE
    return code


if __name__ == "__main__":
    sys.exit(main())
