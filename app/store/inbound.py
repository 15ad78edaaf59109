"""The inbound queue tables: accepting entries, processing one, and what operators read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.domain import jsontext
from app.domain.errors import ApiError, ErrorKind
from app.domain.ingestion import (
    CLAIM_HOURS,
    Claim,
    in_flight_error,
    inventory_refs,
    replay_or_refuse,
)
from app.store.db import Connection
from app.store.ordering import create_orders

# Inventory keys are the refs as sent plus the sys_ids they resolve to, so that an entry naming
# an inventory by external_id and one naming it by sys_id still queue behind each other.
# inbound_accept (schema.sql) locks the keys, reads their live claims and stores what is new.
ACCEPT = "SELECT * FROM inbound_accept($1::jsonb, $2, $3, $4, $5, $6, $7)"
TAKE = "SELECT * FROM inbound_queue WHERE id = ANY($1) ORDER BY seq FOR UPDATE SKIP LOCKED"
# Entries of the batch behind an earlier queued entry, outside the batch, on the same inventory.
EARLIER_ELSEWHERE = """
SELECT r.id FROM inbound_queue r
 WHERE r.id = ANY($1) AND r.inventory_keys <> '{}'
   AND EXISTS (SELECT 1 FROM inbound_queue e
                WHERE e.seq < r.seq AND e.inventory_keys <> '{}'
                  AND e.inventory_keys && r.inventory_keys
                  AND NOT e.id = ANY($1))
"""
MOVE_MANY = """
WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[]) AS i(id, state, error)
), moved AS (
    DELETE FROM inbound_queue q USING input i WHERE q.id = i.id
    RETURNING q.*, i.state AS new_state, i.error AS new_error
)
INSERT INTO inbound_processed (id, state, payload, received_at, created_by, request_id,
                               attempts, error, order_id)
SELECT id, new_state, payload, received_at, created_by, request_id, $4, new_error,
       CASE WHEN new_state = 'done' THEN id END
  FROM moved
"""
DUE_FOR_SWEEP = """
UPDATE inbound_queue SET enqueued_at = clock_timestamp()
 WHERE id IN (SELECT id FROM inbound_queue
               WHERE enqueued_at < clock_timestamp() - make_interval(secs => $1)
               ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED)
RETURNING id
"""
SWEEP_LOCK = "SELECT pg_try_advisory_xact_lock(7411642)"


@dataclass
class Processed:
    """What one processing pass did: (id, request id, done|error) each, and who waits."""

    outcomes: list[tuple[str, str | None, str]] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)


@dataclass
class Entry:
    """One POST ?mode=async, as the front end accepted it."""

    id: str
    payload: dict[str, Any]
    user: str
    request_id: str | None
    refs: list[str]
    claims: list[Claim]
    outcome: tuple[int, Any] | ApiError | None = field(default=None)


async def accept(conn: Connection, entries: list[Entry]) -> None:
    """Writes the batch in one round trip and one transaction; sets each entry's outcome.

    New entries answer 202 with their id; a client retry replays the first answer; a key in
    flight is 409 and an Idempotency-Key reused with another body 422. Claims are taken in the
    same transaction as the queue rows, so an accepted entry and its claim commit together.
    """
    # An entry sharing a key with an earlier one of the batch is in flight behind it.
    seen: set[str] = set()
    candidates = []
    for entry in entries:
        entry_keys = {c.key for c in entry.claims}
        if not entry_keys & seen:
            candidates.append(entry)
        seen |= entry_keys
    claims = [c for e in candidates for c in e.claims]
    rows = await conn.fetch(
        ACCEPT,
        [
            {
                "id": e.id,
                "created_by": e.user,
                "request_id": e.request_id,
                "refs": e.refs,
                "keys": [c.key for c in e.claims],
            }
            for e in candidates
        ],
        [jsontext.dumps(e.payload) for e in candidates],
        list(seen),
        [c.key for c in claims],
        [c.body_hash for c in claims],
        [e.id for e in candidates for _ in e.claims],
        CLAIM_HOURS,
    )
    busy = {row["key"] for row in rows if row["held"]}
    found = {row["key"]: dict(row) for row in rows if not row["held"]}
    seen.clear()
    for entry in entries:
        entry.outcome = _prior_outcome(entry, busy, found, seen) or (202, {"orderId": entry.id})
        seen.update(c.key for c in entry.claims)


def _prior_outcome(
    entry: Entry, busy: set[str], found: dict[str, dict[str, Any]], seen: set[str]
) -> tuple[int, Any] | ApiError | None:
    for claim in entry.claims:
        if claim.key in busy or claim.key in seen:
            return in_flight_error()
        prior = found.get(claim.key)
        if prior is not None:
            try:
                replay_or_refuse(claim, prior["body_hash"])
            except ApiError as exc:
                return exc
            return (prior["status"], prior["response"])
    return None


async def process(
    conn: Connection, ids: list[str], *, attempt: int, allow_spec_upgrade: bool
) -> Processed:
    """Processes the entries it can lock, in arrival order, in one transaction.

    Entries gone (done already) or held by another worker are skipped; an entry with an
    earlier queued entry on the same product inventory outside this batch waits.
    """
    result = Processed()
    async with conn.transaction():
        rows = await conn.fetch(TAKE, ids)
        if not rows:
            return result
        taken = [row["id"] for row in rows]
        held = {row["id"] for row in await conn.fetch(EARLIER_ELSEWHERE, taken)}
        blocked_keys: set[str] = set()
        runnable = []
        for row in rows:
            keys = set(row["inventory_keys"])
            if row["id"] in held or keys & blocked_keys:
                blocked_keys |= keys
                result.waiting.append(row["id"])
            else:
                runnable.append(row)
        outcomes = await create_orders(
            conn,
            [(r["id"], r["payload"], r["created_by"]) for r in runnable],
            allow_spec_upgrade=allow_spec_upgrade,
        )
        states, errors = [], []
        for row in runnable:
            error = outcomes[row["id"]]
            state = "done" if error is None else "error"
            states.append(state)
            errors.append(None if error is None else error.body())
            result.outcomes.append((row["id"], row["request_id"], state))
        await conn.execute(MOVE_MANY, [r["id"] for r in runnable], states, errors, attempt)
    return result


async def due_for_sweep(conn: Connection, *, older_than: float, limit: int) -> list[str] | None:
    """Queued ids whose trigger may be lost; None when another sweeper is running."""
    async with conn.transaction():
        if not await conn.fetchval(SWEEP_LOCK):
            return None
        return [row["id"] for row in await conn.fetch(DUE_FOR_SWEEP, older_than, limit)]


async def fail(conn: Connection, ids: list[str], *, attempt: int, error: dict[str, Any]) -> None:
    """Parks entries that can't be processed (an unexpected failure) as errors."""
    await conn.execute(MOVE_MANY, ids, ["error"] * len(ids), [error] * len(ids), attempt)


ENTRY_COLUMNS = """
id, state, payload, received_at, processed_at, created_by, request_id, attempts, error, order_id
"""
ALL_ENTRIES = f"""
SELECT {ENTRY_COLUMNS} FROM (
    SELECT id, 'queued' AS state, payload, received_at, NULL::timestamptz AS processed_at,
           created_by, request_id, attempts, NULL::jsonb AS error, NULL::text AS order_id
      FROM inbound_queue
    UNION ALL
    SELECT {ENTRY_COLUMNS} FROM inbound_processed
) e
"""
LIST = f"""
SELECT {ENTRY_COLUMNS}, count(*) OVER () AS total FROM ({ALL_ENTRIES}) a
 WHERE ($1::text IS NULL OR state = $1)
 ORDER BY received_at DESC, id DESC LIMIT $2 OFFSET $3
"""
COUNT = f"SELECT count(*) FROM ({ALL_ENTRIES}) a WHERE ($1::text IS NULL OR state = $1)"
GET_ENTRY = f"SELECT * FROM ({ALL_ENTRIES}) a WHERE id = $1"
RETRY = """
WITH moved AS (DELETE FROM inbound_processed WHERE id = $1 AND state = 'error' RETURNING *)
INSERT INTO inbound_queue (id, payload, received_at, created_by, request_id, inventory_keys,
                           attempts, enqueued_at)
SELECT m.id, COALESCE($2, m.payload), m.received_at, m.created_by, m.request_id,
       $3::text[] || COALESCE((SELECT array_agg(p.sys_id) FROM product_inventory p
                               WHERE p.sys_id = ANY($3) OR p.external_id = ANY($3)), '{}'),
       m.attempts, CASE WHEN $4 THEN clock_timestamp() ELSE '-infinity'::timestamptz END
  FROM moved AS m
RETURNING id
"""
STATS = """
SELECT (SELECT count(*) FROM inbound_queue) AS queued,
       (SELECT count(*) FROM inbound_processed WHERE state = 'done') AS done,
       (SELECT count(*) FROM inbound_processed WHERE state = 'error') AS error,
       (SELECT EXTRACT(EPOCH FROM clock_timestamp() - min(received_at)) FROM inbound_queue)
           AS oldest_queued_age_seconds,
       (SELECT count(*) FROM inbound_processed
         WHERE processed_at > clock_timestamp() - interval '1 minute') AS processed_last_minute
"""


async def entries(
    conn: Connection, *, state: str | None, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    """(total, page) of entries in every state, newest first."""
    rows = await conn.fetch(LIST, state, limit, offset)
    total = rows[0]["total"] if rows else await conn.fetchval(COUNT, state)
    return total, [{k: v for k, v in dict(row).items() if k != "total"} for row in rows]


async def entry(conn: Connection, queue_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(GET_ENTRY, queue_id)
    return None if row is None else dict(row)


async def retry(
    conn: Connection,
    queue_id: str,
    *,
    payload: dict[str, Any] | None,
    refs: list[str],
    enqueue_now: bool,
) -> bool:
    """Puts an entry in error back in the queue, with a corrected payload if given.

    `enqueue_now` false leaves the trigger to the sweeper's next pass (no Redis at hand).
    """
    moved = await conn.fetchval(RETRY, queue_id, payload, refs, enqueue_now)
    return moved is not None


async def retry_entry(
    conn: Connection, queue_id: str, payload: dict[str, Any] | None, *, enqueue_now: bool
) -> dict[str, Any]:
    """The operator's retry: only entries in error; ApiError (404 / 62) otherwise."""
    async with conn.transaction():
        row = await entry(conn, queue_id)
        if row is None:
            raise ApiError(
                ErrorKind.NOT_FOUND, f"No inbound queue entry with id {queue_id}.", "/id"
            )
        if row["state"] != "error":
            raise ApiError(
                ErrorKind.CONFLICT,
                f"Only entries in error can be retried; this one is {row['state']}.",
                "/state",
            )
        refs = inventory_refs(payload or row["payload"])
        await retry(conn, queue_id, payload=payload, refs=refs, enqueue_now=enqueue_now)
        row = await entry(conn, queue_id)
    assert row is not None
    return row


async def stats(conn: Connection) -> dict[str, Any]:
    row = await conn.fetchrow(STATS)
    assert row is not None
    age = row["oldest_queued_age_seconds"]
    return {
        "queued": row["queued"],
        "done": row["done"],
        "error": row["error"],
        "oldestQueuedAgeSeconds": None if age is None else round(float(age), 3),
        "processedLastMinute": row["processed_last_minute"],
    }


PURGE_DONE = """
DELETE FROM inbound_processed
 WHERE state = 'done' AND processed_at < clock_timestamp() - make_interval(days => $1)
"""


async def purge_done(conn: Connection, *, older_than_days: int) -> int:
    """Done entries are history once their order exists; errors stay until retried."""
    result: str = await conn.execute(PURGE_DONE, older_than_days)
    return int(result.split()[-1])
