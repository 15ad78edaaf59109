"""`orderhub order timeline`: one order's life, from the database, for the operator at a
terminal (docs/tracing.md)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from app.cli.database import with_connection
from app.domain.timeline import OrderRecords, assemble, render_lines
from app.settings import Settings
from app.store import timeline
from app.store.db import Connection


async def _read(conn: Connection, ref: str) -> OrderRecords | list[str] | None:
    """The records of the order `ref` names; the candidates when its externalId names
    several; None when it names nothing."""
    found = await timeline.find_orders(conn, ref)
    if len(found) > 1 and found[0] != ref:
        return found
    return await timeline.order_records(conn, found[0] if found else ref)


def _timeline(settings: Settings, args: argparse.Namespace) -> int:
    read = with_connection(settings, lambda conn: _read(conn, args.id))
    if read is None:
        print(f"orderhub: no order or queue entry with id or externalId {args.id}", file=sys.stderr)
        return 1
    if isinstance(read, list):
        print(
            f"orderhub: externalId {args.id} names {len(read)} orders; give one's id: "
            + ", ".join(read),
            file=sys.stderr,
        )
        return 1
    events = assemble(read)
    if args.json:
        document: dict[str, Any] = {
            "orderId": read.order_id,
            "externalId": read.order["external_id"] if read.order else None,
            "state": read.order["state"] if read.order else None,
            "events": [e.to_json() for e in events],
        }
        print(json.dumps(document, indent=2))
        return 0
    if read.order is None:
        print(f"queue entry {read.order_id}: no order was created from it")
    else:
        external = read.order["external_id"]
        print(
            f"order {read.order_id}"
            + (f" (externalId {external})" if external else "")
            + f", state {read.order['state']}"
        )
    for line in render_lines(events):
        print(line)
    return 0


def add_commands(sub: Any) -> None:
    order = sub.add_parser(
        "order",
        help="One order, read from the database.",
        description="One order, read from the database. Without DATABASE_URL, the embedded "
        "server under ORDERHUB_DATA_DIR is used.",
    )
    order_sub = order.add_subparsers(dest="order_command", required=True, metavar="COMMAND")
    timeline_parser = order_sub.add_parser(
        "timeline",
        help="The order's life in time order: queue entry, creation, revisions, domain "
        "orders, outbound requests, sends, callbacks, work notes, operators, cancellations.",
        description="Print one order's life in time order, one line each (time in UTC, "
        "what, details): its queue entry accepted and processed (with its attempts and "
        "error), the order created, its revisions, domain orders, outbound requests and "
        "their last state (sent, or as the latest callback left it), failed sends, work "
        "notes, console operators' actions and cancellations. An async order whose "
        "processing failed shows its queue entry alone. Exit code 1 when ID names nothing.",
    )
    timeline_parser.add_argument(
        "id",
        metavar="ID",
        help="the order's id (sys_id, or the orderId a 202 answered with) or its externalId",
    )
    timeline_parser.add_argument(
        "--json", action="store_true", help="print a JSON document instead of lines"
    )
    timeline_parser.set_defaults(func=_timeline)
