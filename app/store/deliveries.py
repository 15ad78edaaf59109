"""The order_event and event_delivery tables: the events' outbox.

Events are written by the transaction of the change that raised them, each with the
subscriptions it is for (`targets`), and a NOTIFY that wakes the event workers on commit. An
event worker fans them out: one delivery row per event and subscription, written in event
order, then `targets` cleared; that commit's NOTIFY names the subscriptions that got
deliveries. (Both NOTIFYs are hints: a sweep finds what a lost one or a lost job left.) A lane
is one subscription's deliveries of one order; only its oldest pending delivery (its head) is
ever sent, under a lease, so events of one order reach a subscriber in the order they were
raised. A delivered row is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.store.db import Connection

CHANNEL = "orderhub_events"
Lane = tuple[str, str]  # (subscription, order id)

# Targets travel comma-joined: unnest cannot return arrays from an array of arrays.
INSERT_EVENTS = """
INSERT INTO order_event (event_id, order_id, event_type, body, targets)
SELECT i, o, t, b, string_to_array(s, ',')
  FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::text[]) AS u(i, o, t, b, s)
"""
FAN_OUT_LOCK = "SELECT pg_try_advisory_xact_lock(7411645)"
# One fan-out at a time, oldest events first: an order's later event is never fanned out
# before its earlier one (which committed before the later was raised). Subscriptions deleted
# or suspended since the event was raised get no delivery.
FAN_OUT = """
WITH claimed AS (
    SELECT seq, order_id, targets, created_at FROM order_event
     WHERE targets IS NOT NULL ORDER BY seq LIMIT $1 FOR UPDATE
), cleared AS (
    UPDATE order_event e SET targets = NULL FROM claimed c WHERE e.seq = c.seq
), written AS (
    INSERT INTO event_delivery (subscription, event_seq, order_id, created_at)
    SELECT t.subscription, c.seq, c.order_id, c.created_at
      FROM claimed c CROSS JOIN LATERAL unnest(c.targets) AS t(subscription)
      JOIN hub_subscription s ON s.id = t.subscription AND s.state = 'active'
    RETURNING subscription
)
SELECT (SELECT count(*) FROM claimed) AS events,
       coalesce((SELECT array_agg(DISTINCT subscription) FROM written), '{}') AS subscriptions
"""
NOTIFY = "SELECT pg_notify($1, $2)"
# A NOTIFY's payload is at most 8000 bytes: subscription ids go in chunks of this many.
NOTIFY_IDS = 100
DUE = """
(SELECT 1 FROM event_delivery d
  WHERE d.subscription = s.id AND d.state = 'pending'
    AND coalesce(d.next_attempt_at, '-infinity') <= clock_timestamp()
    AND coalesce(d.leased_until, '-infinity') < clock_timestamp())
"""
# Active subscriptions with a delivery that is due and not leased: a job of theirs was lost
# (Redis flushed, a worker killed mid-POST: its lease ran out) or is yet to run.
DUE_SUBSCRIPTIONS = f"""
SELECT s.id FROM hub_subscription s WHERE s.state = 'active' AND EXISTS {DUE} ORDER BY s.id
"""
HAS_DUE = f"SELECT EXISTS {DUE} FROM hub_subscription s WHERE s.id = $1"
DUE_LANES = """
SELECT DISTINCT order_id FROM (
    SELECT order_id FROM event_delivery
     WHERE subscription = $1 AND state = 'pending'
       AND coalesce(next_attempt_at, '-infinity') <= clock_timestamp()
       AND coalesce(leased_until, '-infinity') < clock_timestamp()
     ORDER BY event_seq LIMIT $2) oldest
"""
HEAD = """
SELECT d.event_seq, e.event_id, e.body, e.created_at,
       coalesce(d.leased_until > clock_timestamp(), false) AS leased,
       extract(epoch FROM d.next_attempt_at - clock_timestamp())::float8 AS due_in
  FROM event_delivery d JOIN order_event e ON e.seq = d.event_seq
 WHERE d.subscription = $1 AND d.order_id = $2 AND d.state = 'pending'
 ORDER BY d.subscription, d.order_id, d.event_seq LIMIT 1
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
       leased_until = NULL, updated_at = clock_timestamp()
  FROM order_event e
 WHERE e.seq = d.event_seq AND d.state = 'dead'
   AND ($1::text IS NULL OR d.subscription = $1) AND ($2::text IS NULL OR e.event_id = $2)
RETURNING d.subscription
"""
DEAD_COUNT = "SELECT count(*) FROM event_delivery WHERE state = 'dead'"
# The oldest event some subscriber is still waiting for: the first not fanned out, or the one
# of the lowest sequence with a pending delivery (a scan of event_delivery_event that stops
# at the first pending row). NULL when nothing waits.
OLDEST_PENDING_AGE = """
SELECT extract(epoch FROM clock_timestamp() - least(
    (SELECT created_at FROM order_event WHERE targets IS NOT NULL ORDER BY seq LIMIT 1),
    (SELECT created_at FROM order_event WHERE seq = (
        SELECT min(event_seq) FROM event_delivery WHERE state = 'pending'))
))::float8
"""
# Events not yet fanned out count for the subscriptions they are for.
PENDING_BY_SUBSCRIPTION = """
SELECT subscription, sum(n)::bigint AS pending,
       extract(epoch FROM clock_timestamp() - min(oldest))::float8 AS oldest_seconds
  FROM (SELECT subscription, count(*) AS n, min(created_at) AS oldest
          FROM event_delivery WHERE state = 'pending' GROUP BY subscription
        UNION ALL
        SELECT t.subscription, count(*), min(e.created_at)
          FROM order_event e CROSS JOIN LATERAL unnest(e.targets) AS t(subscription)
         WHERE e.targets IS NOT NULL GROUP BY t.subscription) waiting
 GROUP BY subscription
"""
PURGE_EVENTS = """
DELETE FROM order_event e
 WHERE e.created_at < clock_timestamp() - make_interval(secs => $1) AND e.targets IS NULL
   AND NOT EXISTS (SELECT 1 FROM event_delivery d WHERE d.event_seq = e.seq)
"""


@dataclass(frozen=True)
class NewEvent:
    event_id: str
    order_id: str
    event_type: str
    body: dict[str, Any]
    subscriptions: list[str]


async def insert(conn: Connection, events: list[NewEvent]) -> None:
    """The events, each with the subscriptions it is for. The NOTIFY is delivered at commit,
    and not at all on a rollback; PostgreSQL folds a transaction's identical ones into one."""
    if not events:
        return
    await conn.execute(
        INSERT_EVENTS,
        [e.event_id for e in events],
        [e.order_id for e in events],
        [e.event_type for e in events],
        [e.body for e in events],
        [",".join(e.subscriptions) for e in events],
    )
    await conn.execute(NOTIFY, CHANNEL, "")


@dataclass(frozen=True)
class FannedOut:
    events: int
    subscriptions: list[str]  # those that got deliveries


async def fan_out(conn: Connection, limit: int) -> FannedOut | None:
    """Up to `limit` events turned into their deliveries, with a NOTIFY naming who got them;
    None when another fan-out holds the lock."""
    async with conn.transaction():
        if not await conn.fetchval(FAN_OUT_LOCK):
            return None
        row = await conn.fetchrow(FAN_OUT, limit)
        assert row is not None
        found = FannedOut(row["events"], sorted(row["subscriptions"]))
        await notify(conn, found.subscriptions)
    return found


async def notify(conn: Connection, subscriptions: list[str]) -> None:
    """The payload: the subscriptions' ids, comma-separated (none: events to fan out)."""
    for i in range(0, len(subscriptions), NOTIFY_IDS):
        await conn.execute(NOTIFY, CHANNEL, ",".join(subscriptions[i : i + NOTIFY_IDS]))


async def due_subscriptions(conn: Connection) -> list[str]:
    """Active subscriptions with a delivery due and not leased."""
    return [r["id"] for r in await conn.fetch(DUE_SUBSCRIPTIONS)]


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


async def has_due(conn: Connection, subscription: str) -> bool:
    """Whether the subscription has a delivery due and not leased."""
    found: bool | None = await conn.fetchval(HAS_DUE, subscription)
    return bool(found)


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
    found = [r["subscription"] for r in rows]
    await notify(conn, sorted(set(found)))
    return found


async def counts(conn: Connection) -> dict[str, int]:
    """Pending as pending_by_subscription counts them, events not yet fanned out included."""
    waiting = await pending_by_subscription(conn)
    dead: int = await conn.fetchval(DEAD_COUNT)
    return {"pending": sum(n for n, _ in waiting.values()), "dead": dead}


async def oldest_pending_age(conn: Connection) -> float | None:
    """Seconds since the oldest event a subscriber still waits for was raised; None: none."""
    age: float | None = await conn.fetchval(OLDEST_PENDING_AGE)
    return age


async def pending_by_subscription(conn: Connection) -> dict[str, tuple[int, float]]:
    """Per subscription with any: its pending deliveries and the oldest one's age in seconds
    (how far its deliveries are behind)."""
    return {
        r["subscription"]: (r["pending"], r["oldest_seconds"])
        for r in await conn.fetch(PENDING_BY_SUBSCRIPTION)
    }


async def purge_events(conn: Connection, *, older_than_seconds: float) -> int:
    """Events every subscriber has had (no delivery left) go once they are this old."""
    result: str = await conn.execute(PURGE_EVENTS, older_than_seconds)
    return int(result.split()[-1])
