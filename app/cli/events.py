"""`orderhub events subscriptions|dead|replay`: the hub's subscriptions and the event
deliveries parked as dead, from a terminal; replay sends dead deliveries again."""

from __future__ import annotations

import argparse
import json
from typing import Any

from app.cli.database import with_connection
from app.services.hub import replay
from app.settings import Settings
from app.store import deliveries, hub
from app.store.db import Connection


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


async def _listed(conn: Connection) -> tuple[list[dict[str, Any]], dict[str, tuple[int, float]]]:
    return await hub.all_subscriptions(conn), await deliveries.pending_by_subscription(conn)


def _subscriptions(settings: Settings, _args: argparse.Namespace) -> int:
    """PENDING and BEHIND: deliveries waiting, and how long the oldest has waited."""
    rows, pending = with_connection(settings, _listed)
    print(
        f"{'ID':<32}  {'STATE':<9}  {'OWNER':<16}  {'PENDING':>8}  {'BEHIND':>8}  CALLBACK  QUERY"
    )
    for row in rows:
        count, behind = pending.get(row["id"], (0, 0.0))
        print(
            f"{row['id']:<32}  {row['state']:<9}  {row['owner']:<16}  {count:>8}  "
            f"{behind:>7.0f}s  {row['callback']}  {row['query']}"
        )
    return 0


def _dead(settings: Settings, args: argparse.Namespace) -> int:
    rows = with_connection(
        settings,
        lambda conn: deliveries.dead(conn, subscription=args.subscription, limit=args.limit),
    )
    if args.json:
        _print_json(rows)
        return 0
    print(f"{'SUBSCRIPTION':<32}  {'EVENT':<32}  {'TYPE':<38}  {'TRIES':>5}  LAST ERROR")
    for row in rows:
        print(
            f"{row['subscription']:<32}  {row['event_id']:<32}  {row['event_type']:<38}  "
            f"{row['attempts']:>5}  {row['last_error'] or ''}"
        )
    print(f"{len(rows)} dead deliveries")
    return 0


def _replay(settings: Settings, args: argparse.Namespace) -> int:
    count = with_connection(
        settings,
        lambda conn: replay(conn, subscription=args.subscription, event_id=args.event),
    )
    print(f"{count} deliveries replayed; the workers send them within seconds")
    return 0


def add_commands(sub: Any) -> None:
    events = sub.add_parser(
        "events",
        help="Hub subscriptions and dead event deliveries.",
        description="Hub subscriptions and event deliveries parked as dead. Without "
        "DATABASE_URL, the embedded server under ORDERHUB_DATA_DIR is used.",
    )
    events_sub = events.add_subparsers(dest="events_command", required=True, metavar="COMMAND")
    subs = events_sub.add_parser(
        "subscriptions",
        help="Every hub subscription and its state.",
        description="Every hub subscription, oldest first, with its state (a subscriber that "
        "failed for the whole retry horizon is suspended), its deliveries still to be sent "
        "(PENDING, events not yet fanned out included) and how long the oldest has waited "
        "(BEHIND).",
    )
    subs.set_defaults(func=_subscriptions)
    dead = events_sub.add_parser(
        "dead",
        help="Deliveries parked as dead, newest first.",
        description="Deliveries parked as dead (refused, or failing past the retry horizon), "
        "newest first.",
    )
    dead.add_argument("--subscription", help="only this subscription's")
    dead.add_argument("--limit", type=int, default=100, help="how many (default 100)")
    dead.add_argument("--json", action="store_true", help="as JSON")
    dead.set_defaults(func=_dead)
    again = events_sub.add_parser(
        "replay",
        help="Send dead deliveries again.",
        description="Send dead deliveries again, as new (back-off and horizon start over); a "
        "suspended subscription named or among them is active again. With neither option, "
        "every dead delivery.",
    )
    again.add_argument("--subscription", help="only this subscription's")
    again.add_argument("--event", metavar="EVENT_ID", help="only this event's")
    again.set_defaults(func=_replay)
