"""Inbound entries after accept: processed into orders in arrival order, and retried by
operators."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from app.domain.errors import ApiError, ErrorKind
from app.domain.inbound import inventory_refs
from app.services import events
from app.services.orders import create_orders
from app.services.outbound import auto_initiate
from app.store import inbound
from app.store.db import Connection


class EntryOutcome(NamedTuple):
    """One entry processed, with what its log lines need to be found with the request's."""

    queue_id: str
    request_id: str | None
    traceparent: str | None
    state: str  # done | error


# Refusals an async order waits in the queue with until corrected and retried: it lacks a
# field, or names something OrderHub does not know.
INFORMATION_MISSING = frozenset({ErrorKind.MISSING_FIELD, ErrorKind.INVALID_FIELD})


@dataclass
class Processed:
    """What one processing pass did, entry by entry, and who waits."""

    outcomes: list[EntryOutcome] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    # Entries of other batches now first in line on an inventory this pass released.
    next_in_line: list[str] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)  # outbound requests initiated


async def process(
    conn: Connection,
    ids: list[str],
    *,
    attempt: int,
    allow_spec_upgrade: bool,
    auto_outbound: bool = False,
) -> Processed:
    """Processes the entries it can lock, in arrival order, in one transaction.

    Entries gone (done already) or held by another worker are skipped; an entry with an
    earlier queued entry on the same product inventory outside this batch waits, and is
    named in `next_in_line` by the pass that processes the last entry before it. With
    `auto_outbound` the created orders' outbound requests are initiated in the same
    transaction, so that no crash can leave an order created and never sent.
    """
    result = Processed()
    async with conn.transaction():
        rows, held = await inbound.take(conn, ids)
        if not rows:
            return result
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
            traces={r["id"]: r["traceparent"] for r in runnable},
        )
        states, errors, wanting = [], [], []
        for row in runnable:
            error = outcomes[row["id"]]
            state = "done" if error is None else "error"
            states.append(state)
            errors.append(None if error is None else error.body())
            if error is not None and error.kind in INFORMATION_MISSING:
                wanting.append((row["id"], row["payload"], error.body()))
            result.outcomes.append(
                EntryOutcome(row["id"], row["request_id"], row["traceparent"], state)
            )
        await inbound.move_processed(
            conn, [r["id"] for r in runnable], states, errors, attempt=attempt
        )
        released = sorted({key for row in runnable for key in row["inventory_keys"]})
        waiting = set(result.waiting)
        result.next_in_line = [i for i in await inbound.next_on(conn, released) if i not in waiting]
        await events.information_required(conn, wanting)
        if auto_outbound:
            done = [outcome.queue_id for outcome in result.outcomes if outcome.state == "done"]
            result.request_ids = await auto_initiate(conn, done)
    return result


async def retry_entry(
    conn: Connection, queue_id: str, payload: dict[str, Any] | None, *, enqueue_now: bool
) -> dict[str, Any]:
    """The operator's retry: only entries in error; ApiError (404 / 62) otherwise."""
    async with conn.transaction():
        row = await inbound.entry(conn, queue_id)
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
        await inbound.retry(conn, queue_id, payload=payload, refs=refs, enqueue_now=enqueue_now)
        row = await inbound.entry(conn, queue_id)
    assert row is not None
    return row
