"""The query subcommands of ``consent-mw`` (wired into :mod:`consent_mw.cli`).

Each opens the store from ``--store`` or ``$CONSENT_MW_STORE``, the policy (for
``personalised_ads``) from ``--policy`` or ``$CONSENT_MW_POLICY``, and writes its
access-log entry as ``cli:<login name>``. Exit codes are in :mod:`consent_mw.cli`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from ..policy.model import Policy
from ..stores import BaseStore, store_from_url
from .errors import UnknownSubject
from .export import FORMATS, ExportRun, Format, csv_header, encode_rows
from .filters import FILTER_NAMES, Filters
from .service import MAX_LOOKUP, Caller, QueryService
from .stats import StatsAnswer
from .tokens import SCOPES, Scope, TokenSpec, hash_token, new_token

__all__ = ["POLICY_ENV", "STORE_ENV", "UsageError", "add_query_commands"]

STORE_ENV = "CONSENT_MW_STORE"
POLICY_ENV = "CONSENT_MW_POLICY"
EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, EXIT_STORE, EXIT_OUTPUT = 0, 1, 2, 3, 4


class UsageError(Exception):
    """Bad arguments: exit 2."""


def _caller() -> Caller:
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        name = "unknown"
    return Caller(f"cli:{name}", "cli")


@contextmanager
def _service(args: argparse.Namespace) -> Iterator[QueryService]:
    url = args.store or os.environ.get(STORE_ENV)
    if not url:
        raise UsageError(
            f"Name the ledger with --store URL or ${STORE_ENV} (sqlite:///path, redis://host)."
        )
    policy_path = getattr(args, "policy", None) or os.environ.get(POLICY_ENV)
    policy = Policy.from_toml(policy_path) if policy_path else None
    store: BaseStore = store_from_url(url)
    try:
        yield QueryService(store, policy=policy, caller=_caller())
    finally:
        store.close()


def _when(seconds: float) -> str:
    return (
        dt.datetime.fromtimestamp(seconds, dt.UTC)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z")
    )


def _dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=False)


# -- query -------------------------------------------------------------------------------


def _query(args: argparse.Namespace) -> int:
    with _service(args) as service:
        try:
            answer = service.subject(args.id, by="user" if args.user else "consent")
        except UnknownSubject as exc:
            print(f"consent-mw: {exc.detail}", file=sys.stderr)
            return EXIT_PROBLEM
    if args.json:
        print(_dump(answer))
        return EXIT_OK
    state = answer["state"]
    ads = state["personalised_ads"]
    lines = [
        ("consent id", state["subject_id"]),
        ("user", state["user_id"] or (answer["id"] if answer["by"] == "user" else "-")),
        ("decided", f"{_when(state['time'])} ({state['action']} via {state['source']})"),
        ("policy", f"{state['policy_version']} ({state['regime']}, {state['country'] or '-'})"),
        ("choices", ", ".join(f"{c} {'yes' if g else 'no'}" for c, g in state["choices"].items())),
        (
            "services",
            "; ".join(
                f"{c}: " + ", ".join(f"{n} {'yes' if g else 'no'}" for n, g in named.items())
                for c, named in (state.get("services") or {}).items()
            )
            or "-",
        ),
        (
            "GPC",
            "sent" + (", overridden by an explicit opt-in" if state["gpc_override"] else "")
            if state["gpc"]
            else "no",
        ),
        ("personalised ads", "unknown (pass --policy)" if ads is None else "yes" if ads else "no"),
    ]
    if state["prompt_reason"]:
        lines.append(("ask again", state["prompt_reason"]))
    if answer["linked_subjects"]:
        lines.append(("linked ids", ", ".join(answer["linked_subjects"])))
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key:<{width}}  {value}")
    return EXIT_OK


# -- lookup ------------------------------------------------------------------------------


def _read_ids(source: IO[str]) -> list[str]:
    return [s for s in (line.strip() for line in source) if s and not s.startswith("#")]


def _lookup(args: argparse.Namespace) -> int:
    if args.file in (None, "-"):
        if args.file is None and sys.stdin.isatty():
            raise UsageError(
                "Give a file of ids (one per line), or pipe them in: ... | consent-mw lookup"
            )
        ids = _read_ids(sys.stdin)
    else:
        try:
            with open(args.file, encoding="utf-8") as file:
                ids = _read_ids(file)
        except OSError as exc:
            raise UsageError(f"Cannot read {args.file!r}: {exc.strerror}.") from exc
    missing = 0
    with _service(args) as service:
        for start in range(0, len(ids), MAX_LOOKUP):
            answer = service.lookup(ids[start : start + MAX_LOOKUP])
            missing += answer["missing"]
            sys.stdout.write("".join(_dump(result) + "\n" for result in answer["results"]))
    sys.stdout.flush()
    if missing:
        print(f"consent-mw: {missing} of the ids have no consent state.", file=sys.stderr)
        return EXIT_PROBLEM
    return EXIT_OK


# -- stats -------------------------------------------------------------------------------


def stats_table(stats: StatsAnswer) -> str:
    out: list[str] = []
    for version in stats["policy_versions"]:
        mark = {True: " (current)", False: " (outdated)", None: ""}[version["current"]]
        out.append(f"policy {version['policy_version']}{mark}: {version['subjects']:,} subjects")
        rows = [(c, n["granted"], n["denied"]) for c, n in version["categories"].items()]
        width = max([len("category"), *(len(c) for c, _, _ in rows)])
        out.append(f"  {'category':<{width}}  {'granted':>11}  {'denied':>11}  {'granted %':>9}")
        for category, granted, denied in rows:
            share = f"{100 * granted / (granted + denied):.1f}" if granted + denied else "-"
            out.append(f"  {category:<{width}}  {granted:>11,}  {denied:>11,}  {share:>9}")
        services = version.get("services") or {}
        if services:
            out.append("  services (allowed: the whole category's grants + the service's own)")
        for category, named in services.items():
            for name, n in named.items():
                out.append(
                    f"    {category}/{name}: allowed {n['allowed']:,}"
                    f" (on its own: granted {n['granted']:,}, denied {n['denied']:,})"
                )
    out.append(f"total: {stats['subjects']:,} subjects")
    return "\n".join(out)


def _stats(args: argparse.Namespace) -> int:
    with _service(args) as service:
        stats = service.stats(policy_version=args.policy_version)
    print(_dump(stats) if args.json else stats_table(stats))
    return EXIT_OK


# -- export ------------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on a terminal (stderr), redrawn at most 10 times a second."""

    def __init__(self, stream: IO[str], run: ExportRun) -> None:
        self.stream, self.run = stream, run
        self.started = self.drawn = time.monotonic()

    def update(self, *, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.drawn < 0.1:
            return
        self.drawn = now
        run, total = self.run, self.run.total or 0
        rate = run.exported / max(now - self.started, 1e-9)
        if total:
            share = min(run.scanned / total, 1.0)
            bar = "#" * int(share * 24)
            head = f"[{bar:<24}] {share:4.0%}"
        else:
            head = f"scanned {run.scanned:,}"
        line = f"\r{head}  {run.exported:,} rows  {rate:,.0f} rows/s"
        self.stream.write(line + ("\n" if final else ""))
        self.stream.flush()


def _filters(args: argparse.Namespace) -> Filters:
    given = {name: getattr(args, name) for name in FILTER_NAMES if getattr(args, name) is not None}
    return Filters.from_params(given)


def _export(args: argparse.Namespace) -> int:
    fmt: Format = "csv" if args.format == "csv" else "jsonl"
    filters = _filters(args)
    with _service(args) as service:
        run = service.export(filters, cursor=args.cursor, limit=args.limit)
        # An output that cannot be opened is an OSError: exit 4, like one that fails later.
        out = sys.stdout.buffer if args.output in (None, "-") else open(args.output, "wb")  # noqa: SIM115
        to_terminal = args.output in (None, "-") and sys.stdout.isatty()
        show = not args.no_progress and sys.stderr.isatty() and not to_terminal
        progress = Progress(sys.stderr, run) if show else None
        try:
            header_written = False
            for rows in run.batches():
                if fmt == "csv" and not header_written:
                    out.write(csv_header(run.categories))
                    header_written = True
                if rows:
                    out.write(encode_rows(rows, fmt, run.categories))
                if progress is not None:
                    progress.update()
            if fmt == "csv" and not header_written:
                out.write(csv_header(run.categories))
            out.flush()
        finally:
            if out is not sys.stdout.buffer:
                out.close()
        if progress is not None:
            progress.update(final=True)
    if run.next_cursor is not None:
        print(f"next page: --cursor {run.next_cursor}", file=sys.stderr)
    return EXIT_OK


# -- admin -------------------------------------------------------------------------------


def _purge(args: argparse.Namespace) -> int:
    with _service(args) as service:
        purged = service.purge()
    print(f"purged {purged} expired events")
    return EXIT_OK


def _access_log(args: argparse.Namespace) -> int:
    with _service(args) as service:
        entries = service.access_log(limit=args.limit)
    for entry in entries:
        if args.json:
            print(entry.to_json())
        else:
            token = f" [{entry.scope} token {entry.token_id}]" if entry.token_id else ""
            route = f" {entry.route}" if entry.route else ""
            what = f"{entry.action} {_dump(dict(entry.params))}"
            print(f"{_when(entry.time)}  {entry.actor}{token} via {entry.via}{route}: {what}")
    return EXIT_OK


def _token_create(args: argparse.Namespace) -> int:
    token = new_token()
    scope: Scope = "admin" if args.scope == "admin" else "read"
    digest = hash_token(token)
    spec = TokenSpec(args.name or f"{scope}-{digest[:6]}", scope, digest)
    print("token (shown once; give it to the client, it is not stored anywhere):")
    print(f"  {token}")
    print("configure the server with (CONSENT_MW_QUERY_TOKENS, or create_app(tokens=[...])):")
    print(f"  {spec.line}")
    return EXIT_OK


# -- the parser --------------------------------------------------------------------------


def _store_options(parser: argparse.ArgumentParser, *, policy: bool = False) -> None:
    parser.add_argument(
        "--store", help=f"ledger URL (default: ${STORE_ENV}), e.g. sqlite:///ledger.sqlite3"
    )
    if policy:
        parser.add_argument(
            "--policy",
            help=f"policy TOML that personalised_ads is judged by (default: ${POLICY_ENV})",
        )


def add_query_commands(commands: Any) -> None:
    """Add the query subcommands to ``commands`` (an argparse subparsers object)."""
    query = commands.add_parser(
        "query", help="one subject's current state (by consent id or --user)"
    )
    query.add_argument("id", help="consent id (or user id with --user)")
    query.add_argument("--user", action="store_true", help="the id is a user id")
    query.add_argument("--json", action="store_true", help="print JSON")
    _store_options(query, policy=True)
    query.set_defaults(run=_query)

    lookup = commands.add_parser("lookup", help="current states of many consent ids (JSON lines)")
    lookup.add_argument("file", nargs="?", help="file of ids, one per line ('-' or none: stdin)")
    _store_options(lookup, policy=True)
    lookup.set_defaults(run=_lookup)

    stats = commands.add_parser("stats", help="subjects per policy version and category")
    stats.add_argument("--json", action="store_true", help="print JSON")
    stats.add_argument("--policy-version", help="only this policy version")
    _store_options(stats, policy=True)
    stats.set_defaults(run=_stats)

    export = commands.add_parser("export", help="export current states (JSON lines or CSV)")
    export.add_argument("--format", choices=FORMATS, default="jsonl")
    export.add_argument("-o", "--output", help="file to write (default: stdout)")
    export.add_argument("--limit", type=int, help="one page of at most this many rows")
    export.add_argument("--cursor", help="continue from a page's cursor")
    export.add_argument("--no-progress", action="store_true", help="no progress bar on a terminal")
    for name in FILTER_NAMES:
        export.add_argument(
            f"--{name.replace('_', '-')}", dest=name, metavar=name.upper(), help=f"filter: {name}"
        )
    _store_options(export, policy=True)
    export.set_defaults(run=_export)

    purge = commands.add_parser("purge", help="delete expired events (admin)")
    _store_options(purge)
    purge.set_defaults(run=_purge)

    log = commands.add_parser("access-log", help="who queried the ledger, newest first")
    log.add_argument("--limit", type=int, default=100)
    log.add_argument("--json", action="store_true", help="print JSON lines")
    _store_options(log)
    log.set_defaults(run=_access_log)

    token = commands.add_parser("token", help="query API tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="make a token; prints it once and its hash")
    create.add_argument("--scope", choices=SCOPES, required=True)
    create.add_argument("--name", help="name in the access log (default: <scope>-<hash prefix>)")
    create.set_defaults(run=_token_create)
