"""Orders: create (the one function the sync handler and the worker both call), revise,
cancel and delete, each in one transaction that writes nothing when a rule refuses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import asyncpg

from app.domain import messages as m
from app.domain.claims import Claim, in_flight_error, replay_or_refuse
from app.domain.dates import parse_date
from app.domain.decomposition import decompose_new_order
from app.domain.errors import ApiError, ErrorKind
from app.domain.events import revision_events
from app.domain.ids import new_sys_id
from app.domain.new_order import NewOrder
from app.domain.order_building import build_order
from app.domain.order_checks import check_request
from app.domain.order_texts import PATCH_TEXTS
from app.domain.references import ReferenceIds
from app.domain.revisions import (
    check_cancel,
    check_cancellable,
    check_revised_items,
    check_revision,
    keep_unnamed_fields,
    revision_changes,
)
from app.domain.servicenow_rendering import render_order
from app.domain.states import transition
from app.domain.stored_order import StoredOrder
from app.services import events
from app.store import claims, inbound, order_rows, orders, references
from app.store import outbound as outbound_store
from app.store.db import Connection


async def create_order(
    conn: Connection,
    payload: dict[str, Any],
    *,
    order_id: str,
    user: str,
    allow_spec_upgrade: bool,
    keep_ids: bool = False,
    traceparent: str | None = None,
) -> StoredOrder:
    """One order, checked, resolved and written in one transaction; on ApiError nothing is
    written."""
    async with conn.transaction():
        outcome = await create_orders(
            conn,
            [(order_id, payload, user)],
            allow_spec_upgrade=allow_spec_upgrade,
            keep_ids=keep_ids,
            traces={order_id: traceparent},
        )
        error = outcome[order_id]
        if error is not None:
            raise error
        stored = await orders.get(conn, order_id)
    assert stored is not None
    return stored


async def _insert(conn: Connection, new_orders: list[NewOrder]) -> None:
    """Orders with their rows and their domain orders (one per line item)."""
    await order_rows.insert(conn, new_orders)
    await outbound_store.decompose(
        conn, [(o.sys_id, plan) for o in new_orders for plan in decompose_new_order(o, new_sys_id)]
    )


async def create_orders(
    conn: Connection,
    requests: list[tuple[str, dict[str, Any], str]],
    *,
    allow_spec_upgrade: bool,
    keep_ids: bool = False,
    traces: Mapping[str, str | None] | None = None,
) -> dict[str, ApiError | None]:
    """Creates many orders in the caller's transaction: (order id, payload, user) each, and
    the trace context each was posted in (`traces`, by order id), which its outbound
    requests continue.

    One reference fetch and one insert per table serve the whole batch; an order a rule
    refuses gets its ApiError and the others go on. Should the batch insert fail in the
    database, each order is tried on its own so that only the culprit fails.
    """
    results: dict[str, ApiError | None] = {}
    union = ReferenceIds()
    checked: list[tuple[str, dict[str, Any], str]] = []
    for order_id, payload, user in requests:
        try:
            union.merge(check_request(payload))
        except ApiError as exc:
            results[order_id] = exc
            continue
        checked.append((order_id, payload, user))
    refs = await references.fetch(conn, union)
    now = datetime.now(UTC)
    built = []
    for order_id, payload, user in checked:
        try:
            built.append(
                build_order(
                    payload,
                    refs,
                    order_id=order_id,
                    user=user,
                    now=now,
                    allow_spec_upgrade=allow_spec_upgrade,
                    keep_ids=keep_ids,
                )
            )
        except ApiError as exc:
            results[order_id] = exc
            continue
        built[-1].traceparent = (traces or {}).get(order_id)
    try:
        async with conn.transaction():
            await _insert(conn, built)
    except asyncpg.IntegrityConstraintViolationError:
        for order in built:
            try:
                async with conn.transaction():
                    await _insert(conn, [order])
            except asyncpg.IntegrityConstraintViolationError:
                results[order.sys_id] = ApiError(
                    ErrorKind.INVALID_FIELD, m.POST_ORDER_CREATION_FAILED
                )
                continue
            results[order.sys_id] = None
    else:
        results.update({order.sys_id: None for order in built})
    if not keep_ids:  # orders recorded elsewhere (the catalogue's) were created there
        await events.orders_created(conn, [o for o in built if results[o.sys_id] is None])
    return results


async def revise_order(
    conn: Connection,
    order_id: str,
    payload: dict[str, Any],
    *,
    user: str,
    allow_spec_upgrade: bool,
) -> StoredOrder | None:
    """PATCH: None when there is no such order; ApiError when a rule refuses, writing nothing."""
    async with conn.transaction():
        stored = await orders.lock(conn, order_id)
        if stored is None:
            return None
        check_revision(stored.order, stored.items, payload)
        known = frozenset(item["external_id"] for item in stored.items)
        ids = check_request(payload, PATCH_TEXTS, known)
        refs = await references.fetch(conn, ids)
        revised = build_order(
            payload,
            refs,
            order_id=order_id,
            user=user,
            now=datetime.now(UTC),
            allow_spec_upgrade=allow_spec_upgrade,
            texts=PATCH_TEXTS,
        )
        check_revised_items(stored.items, revised, stored.order)
        keep_unnamed_fields(revised, stored.order, payload)
        await order_rows.revise(conn, stored, revised, replace_notes="note" in payload)
        await outbound_store.after_revision(conn, order_id, [item.sys_id for item in revised.items])
        after = await orders.get(conn, order_id)
        assert after is not None
        changes = revision_changes(render_order(stored), render_order(after))
        await orders.record_revision(conn, order_id, after.order["version"], changes, user)
        await events.order_changed(
            conn, order_id, revision_events(changes, stored.order["state"], after.order["state"])
        )
    return after


async def cancel_order(conn: Connection, payload: dict[str, Any], *, user: str) -> StoredOrder:
    """Cancel: ApiError with the contract's texts when refused, writing nothing."""
    order_id = check_cancel(payload)
    async with conn.transaction():
        stored = await orders.lock(conn, order_id)
        queued = None if stored else await inbound.lookup(conn, order_id)
        if queued is not None and queued[0] == "done":  # made between the two reads
            stored = await orders.lock(conn, order_id)
        if stored is None:
            text = (
                m.CANCEL_ORDER_IN_QUEUE
                if queued and queued[0] != "done"
                else m.CANCEL_INVALID_ORDER_ID
            )
            raise ApiError(ErrorKind.INVALID_FIELD, text, "/serviceOrder/id")
        check_cancellable(stored.order, stored.items)
        raw_date = payload.get("requestedCancellationDate")
        await orders.cancel(
            conn,
            order_id,
            payload,
            cancellation_id=new_sys_id(),
            reason=payload.get("cancellationReason"),
            requested_date=parse_date(str(raw_date)) if raw_date else None,
            author=user,
        )
        await events.order_cancelled(conn, order_id, stored.order["state"])
        after = await orders.get(conn, order_id)
    assert after is not None
    return after


async def create_order_once(
    conn: Connection,
    payload: dict[str, Any],
    retry_claims: list[Claim],
    *,
    order_id: str,
    user: str,
    allow_spec_upgrade: bool,
    answer: Callable[[StoredOrder], Awaitable[tuple[int, Any]]],
    traceparent: str | None = None,
) -> tuple[int, Any]:
    """Synchronous create under the client-retry rules: a retry replays the first answer,
    which `answer` made of the new order in this transaction and the claims keep."""
    async with conn.transaction():
        busy, found = await claims.take(conn, [claim.key for claim in retry_claims])
        if busy:
            raise in_flight_error()
        for claim in retry_claims:
            prior = found.get(claim.key)
            if prior is not None:
                replay_or_refuse(claim, prior["body_hash"])
                return prior["status"], prior["response"]
        stored = await create_order(
            conn,
            payload,
            order_id=order_id,
            user=user,
            allow_spec_upgrade=allow_spec_upgrade,
            traceparent=traceparent,
        )
        status, body = await answer(stored)
        await claims.save(conn, [(c.key, c.body_hash, status, body) for c in retry_claims])
    return status, body


async def delete_order(conn: Connection, order_id: str) -> bool:
    """The standard flavour's DELETE: False when there is no such order; ApiError (62) when
    its state forbids deleting."""
    async with conn.transaction():
        stored = await orders.lock(conn, order_id)
        if stored is None:
            return False
        transition(stored.order["state"], "delete")
        await events.order_deleting(conn, stored)
        await orders.delete(conn, order_id)
    return True
