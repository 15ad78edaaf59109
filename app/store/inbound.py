"""The inbound queue tables (inbound_queue, inbound_processed): accept, take, sweep, retry,
and what operators read."""

from __future__ import annotations

from typing import Any

from app.domain import jsontext
from app.domain.claims import CLAIM_HOURS
from app.domain.inbound import NewEntry
from app.store.db import Connection

# Inventory keys are the refs as sent plus the sys_ids they resolve to, so that an entry naming
# an inventory by external_id and one naming it by sys_id still queue behind each other.
# inbound_accept (schema.sql) takes the claims, stores what is new and records its answers.
ACCEPT = "SELECT * FROM inbound_accept($1::jsonb, $2, $3, $4, $5, $6, $7, $8, $9)"
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
# The first queued entry on each of the keys: whose turn comes once the entries before it left.
NEXT_ON_KEYS = """
SELECT DISTINCT ON (k) q.id FROM inbound_queue q, unnest(q.inventory_keys) AS k
 WHERE q.inventory_keys && $1::text[] AND k = ANY($1::text[])
 ORDER BY k, q.seq
"""
MOVE_MANY = """
WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[]) AS i(id, state, error)
), moved AS (
    DELETE FROM inbound_queue q USING input i WHERE q.id = i.id
    RETURNING q.*, i.state AS new_state, i.error AS new_error
)
INSERT INTO inbound_processed (id, state, payload, received_at, created_by, request_id,
                               traceparent, attempts, error, order_id)
SELECT id, new_state, payload, received_at, created_by, request_id, traceparent, $4, new_error,
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


async def accept(
    conn: Connection, entries: list[NewEntry], keys: list[str]
) -> tuple[set[str], dict[str, dict[str, Any]]]:
    """Stores the entries, their claims and their answers in one round trip and one
    transaction, unless a key is held or claimed already: (keys another transaction holds,
    live claims found).

    `keys` are every claim key of the batch, entries left out included, so that their live
    claims are read too."""
    claims = [c for e in entries for c in e.claims]
    rows = await conn.fetch(
        ACCEPT,
        [
            {
                "id": e.id,
                "created_by": e.user,
                "request_id": e.request_id,
                "traceparent": e.traceparent,
                "refs": e.refs,
                "keys": [c.key for c in e.claims],
            }
            for e in entries
        ],
        [jsontext.dumps(e.payload) for e in entries],
        keys,
        [c.key for c in claims],
        [c.body_hash for c in claims],
        [e.id for e in entries for _ in e.claims],
        [e.answer[0] for e in entries for _ in e.claims],
        [e.answer[1] for e in entries for _ in e.claims],
        CLAIM_HOURS,
    )
    busy = {row["key"] for row in rows if row["held"]}
    found = {row["key"]: dict(row) for row in rows if not row["held"]}
    return busy, found


async def take(conn: Connection, ids: list[str]) -> tuple[list[dict[str, Any]], set[str]]:
    """The entries of `ids` this transaction could lock, in arrival order, and those of them
    behind an earlier queued entry on the same product inventory outside `ids`."""
    rows = [dict(row) for row in await conn.fetch(TAKE, ids)]
    if not rows:
        return [], set()
    held = {row["id"] for row in await conn.fetch(EARLIER_ELSEWHERE, [r["id"] for r in rows])}
    return rows, held


async def next_on(conn: Connection, keys: list[str]) -> list[str]:
    """The entries now first in line on any of `keys` (product inventories)."""
    if not keys:
        return []
    return list(dict.fromkeys(row["id"] for row in await conn.fetch(NEXT_ON_KEYS, keys)))


async def move_processed(
    conn: Connection,
    ids: list[str],
    states: list[str],
    errors: list[dict[str, Any] | None],
    *,
    attempt: int,
) -> None:
    """Entries done or in error leave the queue for inbound_processed."""
    await conn.execute(MOVE_MANY, ids, states, errors, attempt)


async def due_for_sweep(conn: Connection, *, older_than: float, limit: int) -> list[str] | None:
    """Queued ids whose trigger may be lost; None when another sweeper is running."""
    async with conn.transaction():
        if not await conn.fetchval(SWEEP_LOCK):
            return None
        return [row["id"] for row in await conn.fetch(DUE_FOR_SWEEP, older_than, limit)]


async def fail(conn: Connection, ids: list[str], *, attempt: int, error: dict[str, Any]) -> None:
    """Parks entries that can't be processed (an unexpected failure) as errors."""
    await move_processed(conn, ids, ["error"] * len(ids), [error] * len(ids), attempt=attempt)


ENTRY_COLUMNS = """
id, state, payload, received_at, processed_at, created_by, request_id, traceparent, attempts,
error, order_id
"""
ALL_ENTRIES = f"""
SELECT {ENTRY_COLUMNS} FROM (
    SELECT id, 'queued' AS state, payload, received_at, NULL::timestamptz AS processed_at,
           created_by, request_id, traceparent, attempts, NULL::jsonb AS error,
           NULL::text AS order_id
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
INSERT INTO inbound_queue (id, payload, received_at, created_by, request_id, traceparent,
                           inventory_keys, attempts, enqueued_at)
SELECT m.id, COALESCE($2, m.payload), m.received_at, m.created_by, m.request_id, m.traceparent,
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
         WHERE processed_at > clock_timestamp() - interval '1 minute') AS processed_last_minute,
       (SELECT count(*) FROM inbound_processed
         WHERE processed_at > clock_timestamp() - interval '1 hour') AS processed_last_hour
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


LOOKUP = """
SELECT 'queued' AS state, NULL::jsonb AS error FROM inbound_queue WHERE id = $1
UNION ALL
SELECT state, error FROM inbound_processed WHERE id = $1
LIMIT 1
"""


async def lookup(conn: Connection, queue_id: str) -> tuple[str, dict[str, Any] | None] | None:
    """("queued" | "done" | "error", the stored error object) for an accepted entry; read by
    every endpoint that takes an order id."""
    row = await conn.fetchrow(LOOKUP, queue_id)
    return None if row is None else (row["state"], row["error"])


# The console's queue page: the counts of STATS, and the entries in error a keyset page at a
# time (index inbound_processed_state, newest first).
ERRORS_FIRST = f"""
SELECT {ENTRY_COLUMNS} FROM inbound_processed WHERE state = 'error'
 ORDER BY processed_at DESC, id DESC LIMIT $1
"""
ERRORS_AFTER = f"""
SELECT {ENTRY_COLUMNS} FROM inbound_processed
 WHERE state = 'error' AND processed_at <= $2 AND (processed_at, id) < ($2, $3)
 ORDER BY processed_at DESC, id DESC LIMIT $1
"""


async def dashboard(conn: Connection) -> dict[str, Any]:
    """STATS as stored, for the console's page (the API's `stats` shapes it for JSON)."""
    row = await conn.fetchrow(STATS)
    assert row is not None
    return dict(row)


async def errors_page(
    conn: Connection, *, limit: int, after: tuple[Any, str] | None
) -> list[dict[str, Any]]:
    """Entries in error, newest first, after (processed_at, id) when given."""
    if after is None:
        rows = await conn.fetch(ERRORS_FIRST, limit)
    else:
        rows = await conn.fetch(ERRORS_AFTER, limit, *after)
    return [dict(r) for r in rows]
