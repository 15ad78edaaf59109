"""`orderhub queue ls|show|retry|stats`: the operator API's queue view from a terminal."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.cli.database import with_connection
from app.domain.errors import ApiError
from app.domain.inbound import QUEUE_STATES, render_entry
from app.domain.order_checks import check_request
from app.services.inbound import retry_entry
from app.settings import Settings
from app.store import inbound


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _ls(settings: Settings, args: argparse.Namespace) -> int:
    total, rows = with_connection(
        settings,
        lambda conn: inbound.entries(conn, state=args.state, limit=args.limit, offset=args.offset),
    )
    print(f"{'ID':<32}  {'STATE':<6}  {'RECEIVED':<24}  {'TRIES':>5}  ERROR")
    for row in rows:
        entry = render_entry(row, with_payload=False)
        error = (entry["error"] or {}).get("details", [{}])[0].get("message", "")
        print(
            f"{entry['id']:<32}  {entry['state']:<6}  {entry['receivedAt']:<24}  "
            f"{entry['attempts']:>5}  {error}"
        )
    print(f"{len(rows)} of {total} entries")
    return 0


def _show(settings: Settings, args: argparse.Namespace) -> int:
    row = with_connection(settings, lambda conn: inbound.entry(conn, args.id))
    if row is None:
        print(f"orderhub: no inbound queue entry with id {args.id}", file=sys.stderr)
        return 1
    _print_json(render_entry(row, with_payload=True))
    return 0


def _retry(settings: Settings, args: argparse.Namespace) -> int:
    payload = None
    try:
        if args.payload:
            payload = json.loads(Path(args.payload).read_text(encoding="utf-8"))
            if not isinstance(payload, dict):
                raise ValueError("the payload file must hold a JSON object")
            check_request(payload)
        row = with_connection(
            settings, lambda conn: retry_entry(conn, args.id, payload, enqueue_now=False)
        )
    except (OSError, ValueError, ApiError) as exc:
        print(f"orderhub: {exc}", file=sys.stderr)
        return 2
    print(f"entry {row['id']} is queued again; a worker's sweeper picks it up within seconds")
    return 0


def _stats(settings: Settings, _args: argparse.Namespace) -> int:
    _print_json(with_connection(settings, inbound.stats))
    return 0


def add_commands(sub: Any) -> None:
    queue = sub.add_parser(
        "queue",
        help="The inbound queue of async orders.",
        description="The inbound queue of async orders. Without "
        "DATABASE_URL, the embedded server under ORDERHUB_DATA_DIR is used.",
    )
    queue_sub = queue.add_subparsers(dest="queue_command", required=True, metavar="COMMAND")
    ls = queue_sub.add_parser(
        "ls", help="List entries, newest first.", description="List entries, newest first."
    )
    ls.add_argument("--state", choices=QUEUE_STATES, help="only entries in this state")
    ls.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    ls.add_argument("--offset", type=int, default=0, help="how many to skip (default 0)")
    ls.set_defaults(func=_ls)
    show = queue_sub.add_parser(
        "show",
        help="One entry with its payload and error.",
        description="One entry with its payload and error, as JSON.",
    )
    show.add_argument("id", help="the entry's id (the order id it answered with)")
    show.set_defaults(func=_show)
    retry = queue_sub.add_parser(
        "retry",
        help="Put an entry in error back in the queue.",
        description="Put an entry in error back in the queue, after reference data was "
        "corrected or with a corrected payload.",
    )
    retry.add_argument("id", help="the entry's id")
    retry.add_argument("--payload", metavar="FILE", help="a corrected order body (JSON file)")
    retry.set_defaults(func=_retry)
    stats = queue_sub.add_parser(
        "stats",
        help="Counts per state, oldest queued age, throughput.",
        description="Counts per state, the oldest queued entry's age "
        "in seconds and entries processed in the last minute, as JSON.",
    )
    stats.set_defaults(func=_stats)
