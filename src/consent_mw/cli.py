"""The ``consent-mw`` command.

Exit codes: 0 success, 1 the thing asked about is wrong or missing (an
invalid policy, an unknown subject), 2 bad usage, 3 the store is unreachable.
"""

from __future__ import annotations

import argparse
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
