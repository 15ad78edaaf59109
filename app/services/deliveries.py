"""One event delivery attempt's before and after, each in a short transaction of its own: no
connection is held while the subscriber is being called."""

from __future__ import annotations

import json
from dataclasses import dataclass

from app.domain.deliveries import Outcome, after_attempt
from app.domain.hub_query import parse_query, project
from app.domain.outbound_retries import RetryPolicy
from app.store import deliveries, hub
from app.store.db import Connection
from app.store.deliveries import Head


@dataclass(frozen=True)
class Attempt:
    """What to POST, and where."""

    target: hub.Target
    order_id: str
    head: Head
    body: bytes


async def next_attempt(
    conn: Connection, target: hub.Target, order_id: str, lease_seconds: float
) -> Attempt | str:
    """The lane's head, leased for one attempt, or why there is none to make now: "busy",
    "not due" or "done"."""
    lane = (target.id, order_id)
    head = await deliveries.lease_head(conn, lane, lease_seconds)
    if head is None:
        return "done"
    if isinstance(head, str):
        return head
    projected = project(parse_query(target.query), head.body)
    body = json.dumps(projected, separators=(",", ":"), ensure_ascii=False).encode()
    return Attempt(target, lane[1], head, body)


async def attempted(
    conn: Connection,
    attempt: Attempt,
    status: int | None,
    reason: str,
    policy: RetryPolicy,
) -> tuple[Outcome, float | None]:
    """Records what the attempt gave: (the outcome, seconds from the event's commit to its
    delivery when delivered)."""
    subscription, seq = attempt.target.id, attempt.head.seq
    async with conn.transaction():
        if status is not None and 200 <= status < 300:
            await hub.succeeded(conn, subscription)
            return Outcome("delivered"), await deliveries.delivered(conn, subscription, seq)
        failing_for = await hub.failed(conn, subscription)
        outcome = after_attempt(
            status,
            policy=policy,
            attempts=attempt.head.attempts,
            since_first=attempt.head.since_first,
            failing_for=failing_for,
        )
        if outcome.kind == "retry":
            assert outcome.retry_in is not None
            lane = (subscription, attempt.order_id)
            await deliveries.retry_later(conn, lane, seq, outcome.retry_in, reason)
            return outcome, None
        await deliveries.park(conn, subscription, seq, reason)
        if outcome.suspend:
            await hub.suspend(conn, subscription)
            await deliveries.park_all(conn, subscription, "subscription suspended")
    return outcome, None


async def target(conn: Connection, subscription: str) -> hub.Target | None:
    """The subscription, while it takes deliveries (None: deleted or suspended)."""
    found = await hub.target(conn, subscription)
    return found if found is not None and found.active else None


async def due_lanes(conn: Connection, subscription: str, limit: int) -> list[str]:
    return await deliveries.due_lanes(conn, subscription, limit)


async def has_due(conn: Connection, subscription: str) -> bool:
    return await deliveries.has_due(conn, subscription)
