"""The feed subcommands of ``consent-mw``: ``platforms``, ``as-of``, ``watch`` and
``webhooks run|dead|replay`` (see :mod:`.adfeed` and :mod:`.webhooks`).

Like the other query commands they open the ledger from ``--store`` or
``$CONSENT_MW_STORE`` and write an access-log entry per query. Webhook secrets come
from ``$CONSENT_MW_WEBHOOK_SECRET`` (comma-separated while rotating), never from the
command line, where other users could read them in the process list.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sys
from typing import Any

from .adfeed import MAX_CHANGES, MAX_WAIT, AdsFeed
from .commands import UsageError, _read_ids, _service, _store_options
from .service import MAX_LOOKUP
from .webhooks import WebhookWorker

__all__ = ["SECRET_ENV", "add_feed_commands", "parse_time"]

SECRET_ENV = "CONSENT_MW_WEBHOOK_SECRET"


def parse_time(text: str) -> float:
    """Seconds since the epoch, or an ISO 8601 time (``2026-12-04T10:00:00Z``; a time
    without an offset is UTC)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--at must be seconds since the epoch or an ISO 8601 time, not {text!r}."
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def _ids(args: argparse.Namespace) -> list[str]:
    ids = list(args.ids)
    if args.file is not None:
        try:
            if args.file == "-":
                ids += _read_ids(sys.stdin)
            else:
                with open(args.file, encoding="utf-8") as file:
                    ids += _read_ids(file)
        except OSError as exc:
            raise UsageError(f"Cannot read {args.file!r}: {exc.strerror}.") from exc
    if not ids:
        raise UsageError("Give consent ids as arguments or with --file (one per line, '-': stdin).")
    return ids


def _platforms(args: argparse.Namespace) -> int:
    ids = _ids(args)
    at = parse_time(args.at) if getattr(args, "at", None) is not None else None
    with _service(args) as service:
        feed = AdsFeed(service)
        for start in range(0, len(ids), MAX_LOOKUP):
            chunk = ids[start : start + MAX_LOOKUP]
            answer = feed.platforms(chunk) if at is None else feed.as_of(chunk, at)
            for row in answer["results"]:
                print(json.dumps({"at": answer["at"], **row}, ensure_ascii=False))
    return 0


def _watch(args: argparse.Namespace) -> int:
    if not 0 <= args.wait <= MAX_WAIT:
        raise UsageError(f"--wait must be 0 to {MAX_WAIT:g} seconds, not {args.wait:g}.")
    with _service(args) as service:
        feed = AdsFeed(service)
        cursor = args.cursor or ("0" if args.from_start else feed.end())
        try:
            while True:
                page = feed.changes(cursor, limit=args.limit, wait=0 if args.once else args.wait)
                for change in page["changes"]:
                    print(json.dumps(change, ensure_ascii=False), flush=True)
                cursor = page["next_cursor"]
                if args.once:
                    break
        except KeyboardInterrupt:  # Ctrl-C: say where to resume
            pass
        print(f"next cursor: {cursor}", file=sys.stderr)
        return 0


def _secrets() -> list[str]:
    value = os.environ.get(SECRET_ENV, "")
    keys = [k.strip() for k in value.split(",") if k.strip()]
    if not keys:
        raise UsageError(f"Set ${SECRET_ENV} to the webhook secret (comma-separated to rotate).")
    return keys


def _worker(args: argparse.Namespace, service: Any) -> WebhookWorker:
    return WebhookWorker(
        AdsFeed(service),
        args.url,
        _secrets(),
        args.state,
        batch=getattr(args, "batch", 100),
        max_attempts=args.max_attempts,
        start="start" if getattr(args, "from_start", False) else "end",
    )


def _webhooks_run(args: argparse.Namespace) -> int:
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    with _service(args) as service:
        worker = _worker(args, service)
        try:
            if args.once:
                sent = worker.run_once()
                print(f"{sent} changes delivered or dead-lettered", file=sys.stderr)
            else:
                worker.run(wait=args.wait, stop=lambda: stopping)
        except KeyboardInterrupt:
            pass
        finally:
            worker.close()
    return 0


def _webhooks_dead(args: argparse.Namespace) -> int:
    with _service(args) as service:
        worker = _worker(args, service)
        for letter in worker.dead_letters(limit=args.limit):
            row = {
                "id": letter.id,
                "delivery": letter.delivery,
                "cursor": letter.cursor,
                "error": letter.error,
                "time": letter.time,
                "bytes": len(letter.body),
            }
            print(json.dumps(row))
        worker.close()
    return 0


def _webhooks_replay(args: argparse.Namespace) -> int:
    with _service(args) as service:
        worker = _worker(args, service)
        outcome = worker.replay(args.id or None)
        worker.close()
    for letter, error in outcome.items():
        print(json.dumps({"id": letter, "delivered": error is None, "error": error}))
    return 0 if all(e is None for e in outcome.values()) else 1


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_feed_commands(commands: Any) -> None:
    """Add the feed subcommands to ``commands`` (an argparse subparsers object)."""
    for name, helptext in (
        ("platforms", "consent in Google Ads / GA4 terms for consent ids (JSON lines)"),
        ("as-of", "each consent id's state and platform fields at a past time (JSON lines)"),
    ):
        sub = commands.add_parser(name, help=helptext)
        sub.add_argument("ids", nargs="*", help="consent ids")
        sub.add_argument("--file", help="file of ids, one per line ('-': stdin)")
        if name == "as-of":
            sub.add_argument("--at", required=True, help="seconds since the epoch or ISO 8601")
        _store_options(sub, policy=True)
        sub.set_defaults(run=_platforms)

    watch = commands.add_parser("watch", help="follow the change feed (JSON lines)")
    watch.add_argument("--cursor", help="resume after this cursor (default: from now on)")
    watch.add_argument("--from-start", action="store_true", help="from the first change kept")
    watch.add_argument("--limit", type=_positive, default=100, help=f"per page, <= {MAX_CHANGES}")
    watch.add_argument("--wait", type=float, default=20.0, help=f"long-poll, <= {MAX_WAIT:g} s")
    watch.add_argument("--once", action="store_true", help="print one page, then the cursor")
    _store_options(watch, policy=True)
    watch.set_defaults(run=_watch)

    hooks = commands.add_parser("webhooks", help=f"signed webhooks (secret: ${SECRET_ENV})")
    hook_commands = hooks.add_subparsers(dest="webhooks_command", required=True)
    for name, helptext, run in (
        ("run", "deliver the change feed to a URL (a long-running worker)", _webhooks_run),
        ("dead", "list the dead letters", _webhooks_dead),
        ("replay", "send the dead letters again", _webhooks_replay),
    ):
        sub = hook_commands.add_parser(name, help=helptext)
        sub.add_argument("--url", required=True, help="the receiver (http:// or https://)")
        sub.add_argument("--state", required=True, help="SQLite file: cursor and dead letters")
        sub.add_argument("--max-attempts", type=_positive, default=6, help="tries per page")
        if name == "run":
            sub.add_argument("--batch", type=_positive, default=100, help="changes per POST")
            sub.add_argument("--wait", type=float, default=20.0, help="long-poll, seconds")
            sub.add_argument("--from-start", action="store_true", help="first run: whole feed")
            sub.add_argument("--once", action="store_true", help="deliver one page and exit")
        if name == "dead":
            sub.add_argument("--limit", type=_positive, default=100)
        if name == "replay":
            sub.add_argument("--id", type=int, action="append", help="only this dead letter")
        _store_options(sub, policy=True)
        sub.set_defaults(run=run)
