"""The order_event and event_delivery tables: the events' outbox.

Events and their deliveries are written by the transaction of the change that raised them,
with a NOTIFY that wakes the workers' dispatchers on commit (a hint only: a sweep finds what a
lost notification or a lost job left). A lane is one subscription's deliveries of one order;
only its oldest pending delivery (its head) is ever sent, under a lease, so events of one order
reach a subscriber in the order they were raised. A delivered row is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.store.db import Connection

CHANNEL = "orderhub_events"
Lane = tuple[str, str]  # (subscription, order id)

INSERT_EVENTS = """
INSERT INTO order_event (event_id, order_id, event_type, body)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[])
RETURNING seq, event_id
"""
INSERT_DELIVERIES = """
INSERT INTO event_delivery (subscription, event_seq, order_id)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])
"""
NOTIFY = "SELECT pg_notify($1, '')"
CLAIM_UNENQUEUED = """
UPDATE event_delivery d SET enqueued_at = clock_timestamp()
  FROM (SELECT subscription, event_seq FROM event_delivery
         WHERE state = 'pending' AND enqueued_at IS NULL
         ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED) c
 WHERE d.subscription = c.subscription AND d.event_seq = c.event_seq
RETURNING d.subscription, d.order_id
"""
SWEEP_LOCK = "SELECT pg_try_advisory_xact_lock(7411644)"
# Heads of lanes that are due, not leased, and whose last trigger is older than the threshold.
LOST_HEADS = """
WITH heads AS (
    SELECT DISTINCT ON (subscription, order_id) subscription, event_seq, order_id,
           enqueued_at, next_attempt_at, leased_until
      FROM event_delivery WHERE state = 'pending'
     ORDER BY subscription, order_id, event_seq
)
UPDATE event_delivery d SET enqueued_at = clock_timestamp()
  FROM (SELECT subscription, event_seq FROM heads
         WHERE coalesce(leased_until, '-infinity') < clock_timestamp()
           AND coalesce(greatest(enqueued_at, next_attempt_at), '-infinity')
               < clock_timestamp() - make_interval(secs => $1)
         LIMIT $2) h
 WHERE d.subscription = h.subscription AND d.event_seq = h.event_seq
RETURNING d.subscription, d.order_id
"""
DUE_LANES = """
SELECT DISTINCT order_id FROM (
    SELECT order_id FROM event_delivery
     WHERE subscription = $1 AND state = 'pending'
       AND coalesce(next_attempt_at, '-infinity') <= clock_timestamp()
       AND coalesce(leased_until, '-infinity') < clock_timestamp()
     ORDER BY event_seq LIMIT $2) oldest
"""
HAS_DUE = """
SELECT EXISTS (SELECT 1 FROM event_delivery
                WHERE subscription = $1 AND state = 'pending'
                  AND enqueued_at > clock_timestamp() - make_interval(secs => $2)
                  AND coalesce(next_attempt_at, '-infinity') <= clock_timestamp()
                  AND coalesce(leased_until, '-infinity') < clock_timestamp())
"""
HEAD = """
SELECT d.event_seq, e.event_id, e.body, e.created_at,
       coalesce(d.leased_until > clock_timestamp(), false) AS leased,
       extract(epoch FROM d.next_attempt_at - clock_timestamp())::float8 AS due_in
  FROM event_delivery d JOIN order_event e ON e.seq = d.event_seq
 WHERE d.subscription = $1 AND d.order_id = $2 AND d.state = 'pending'
 ORDER BY d.event_seq LIMIT 1
 FOR UPDATE OF d
"""
LEASE = """
UPDATE event_delivery
   SET leased_until = clock_timestamp() + make_interval(secs => $3), attempts = attempts + 1,
       first_attempt_at = coalesce(first_attempt_at, clock_timestamp()),
       next_attempt_at = NULL, updated_at = clock_timestamp()
 WHERE subscription = $1 AND event_seq = $2
RETURNING attempts, extract(epoch FROM clock_timestamp() - first_attempt_at)::float8 AS since_first
"""
DELIVERED = """
DELETE FROM event_delivery WHERE subscription = $1 AND event_seq = $2
RETURNING extract(epoch FROM clock_timestamp() - (SELECT created_at FROM order_event
                                                   WHERE seq = $2))::float8
"""
# The whole lane waits with its head, so that its later events are not taken for due.
RETRY_LATER = """
UPDATE event_delivery
   SET leased_until = NULL, next_attempt_at = clock_timestamp() + make_interval(secs => $4),
       last_error = CASE WHEN event_seq = $3 THEN $5 ELSE last_error END,
       updated_at = clock_timestamp()
 WHERE subscription = $1 AND order_id = $2 AND state = 'pending' AND event_seq >= $3
"""
PARK = """
UPDATE event_delivery
   SET state = 'dead', leased_until = NULL, last_error = $3, updated_at = clock_timestamp()
 WHERE subscription = $1 AND event_seq = $2
"""
PARK_ALL = """
UPDATE event_delivery
   SET state = 'dead', leased_until = NULL, updated_at = clock_timestamp(),
       last_error = coalesce(last_error || '; ', '') || $2
 WHERE subscription = $1 AND state = 'pending'
"""
DEAD = """
SELECT d.subscription, s.callback, s.owner, s.state AS subscription_state, e.event_id,
       e.event_type, d.order_id, d.attempts, d.last_error, d.first_attempt_at, d.updated_at
  FROM event_delivery d JOIN order_event e ON e.seq = d.event_seq
  JOIN hub_subscription s ON s.id = d.subscription
 WHERE d.state = 'dead' AND ($1::text IS NULL OR d.subscription = $1)
 ORDER BY d.updated_at DESC, d.event_seq DESC LIMIT $2
"""
REPLAY = """
UPDATE event_delivery d
   SET state = 'pending', attempts = 0, first_attempt_at = NULL, next_attempt_at = NULL,
       leased_until = NULL, enqueued_at = NULL, updated_at = clock_timestamp()
  FROM order_event e
 WHERE e.seq = d.event_seq AND d.state = 'dead'
   AND ($1::text IS NULL OR d.subscription = $1) AND ($2::text IS NULL OR e.event_id = $2)
RETURNING d.subscription
"""
COUNTS = "SELECT state, count(*) AS n FROM event_delivery GROUP BY state"
PURGE_EVENTS = """
DELETE FROM order_event e
 WHERE e.created_at < clock_timestamp() - make_interval(secs => $1)
   AND NOT EXISTS (SELECT 1 FROM event_delivery d WHERE d.event_seq = e.seq)
"""


@dataclass(frozen=True)
class NewEvent:
    event_id: str
    order_id: str
    event_type: str
    body: dict[str, Any]
    subscriptions: list[str]


async def insert(conn: Connection, events: list[NewEvent]) -> int:
    """The events and a delivery per subscription each; returns the deliveries written. The
    NOTIFY is delivered at commit, and not at all on a rollback."""
    if not events:
        return 0
    rows = await conn.fetch(
        INSERT_EVENTS,
        [e.event_id for e in events],
        [e.order_id for e in events],
        [e.event_type for e in events],
        [e.body for e in events],
    )
    seqs = {r["event_id"]: r["seq"] for r in rows}
    lanes = [(s, seqs[e.event_id], e.order_id) for e in events for s in e.subscriptions]
    if not lanes:
        return 0
    await conn.execute(INSERT_DELIVERIES, *map(list, zip(*lanes, strict=True)))
    await conn.execute(NOTIFY, CHANNEL)
    return len(lanes)


def _subscriptions(rows: list[Any]) -> list[str]:
    return sorted({r["subscription"] for r in rows})


async def claim_unenqueued(conn: Connection, limit: int) -> list[str]:
    """Subscriptions with deliveries no job was asked for yet, marked asked for."""
    return _subscriptions(await conn.fetch(CLAIM_UNENQUEUED, limit))


async def lost(conn: Connection, *, older_than: float, limit: int) -> list[str] | None:
    """Subscriptions with a lane whose head is due and was last triggered more than
    `older_than` seconds ago (a job Redis lost, a worker killed); None when another sweeper
    holds the lock."""
    async with conn.transaction():
        if not await conn.fetchval(SWEEP_LOCK):
            return None
        return _subscriptions(await conn.fetch(LOST_HEADS, older_than, limit))


@dataclass(frozen=True)
class Head:
    seq: int
    event_id: str
    body: dict[str, Any]
    attempts: int  # with this one
    since_first: float  # seconds since the first attempt


async def lease_head(conn: Connection, lane: Lane, lease_seconds: float) -> Head | str | None:
    """The lane's head, leased for one attempt; "busy" (leased by another job), "not due"
    (waiting for its back-off) or None (nothing pending)."""
    async with conn.transaction():
        row = await conn.fetchrow(HEAD, *lane)
        if row is None:
            return None
        if row["leased"]:
            return "busy"
        if row["due_in"] is not None and row["due_in"] > 0:
            return "not due"
        leased = await conn.fetchrow(LEASE, lane[0], row["event_seq"], lease_seconds)
    assert leased is not None
    return Head(
        row["event_seq"], row["event_id"], row["body"], leased["attempts"], leased["since_first"]
    )


async def delivered(conn: Connection, subscription: str, seq: int) -> float | None:
    """Deletes the delivery; seconds from the event's commit to now, None if it was gone."""
    seconds: float | None = await conn.fetchval(DELIVERED, subscription, seq)
    return seconds


async def retry_later(conn: Connection, lane: Lane, seq: int, seconds: float, error: str) -> None:
    await conn.execute(RETRY_LATER, lane[0], lane[1], seq, seconds, error)


async def due_lanes(conn: Connection, subscription: str, limit: int) -> list[str]:
    """Orders of the subscription with a delivery due and not leased, oldest first: lanes
    worth a look (whether the delivery is its lane's head, lease_head says)."""
    return [r["order_id"] for r in await conn.fetch(DUE_LANES, subscription, limit)]


async def has_due(conn: Connection, subscription: str, dispatched_within: float) -> bool:
    """Whether a delivery dispatched in the last `dispatched_within` seconds is due."""
    found: bool = await conn.fetchval(HAS_DUE, subscription, dispatched_within)
    return found


async def park(conn: Connection, subscription: str, seq: int, error: str) -> None:
    await conn.execute(PARK, subscription, seq, error)


async def park_all(conn: Connection, subscription: str, reason: str) -> None:
    await conn.execute(PARK_ALL, subscription, reason)


async def dead(
    conn: Connection, *, subscription: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Newest first."""
    return [dict(r) for r in await conn.fetch(DEAD, subscription, limit)]


async def replay(
    conn: Connection, *, subscription: str | None = None, event_id: str | None = None
) -> list[str]:
    """Dead deliveries back to pending, as new (and a NOTIFY); the subscriptions they belong
    to, one per delivery."""
    rows = await conn.fetch(REPLAY, subscription, event_id)
    if rows:
        await conn.execute(NOTIFY, CHANNEL)
    return [r["subscription"] for r in rows]


async def counts(conn: Connection) -> dict[str, int]:
    found = dict.fromkeys(("pending", "dead"), 0)
    for row in await conn.fetch(COUNTS):
        found[row["state"]] = row["n"]
    return found


async def purge_events(conn: Connection, *, older_than_seconds: float) -> int:
    """Events every subscriber has had (no delivery left) go once they are this old."""
    result: str = await conn.execute(PURGE_EVENTS, older_than_seconds)
    return int(result.split()[-1])
