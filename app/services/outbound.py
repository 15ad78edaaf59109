"""Outbound requests: initiate, send outcomes, callbacks and the order's progress.

Each runs in one transaction and changes nothing when a rule refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.domain import events as ev
from app.domain.errors import ApiError, ErrorKind
from app.domain.ids import new_sys_id
from app.domain.outbound import (
    callback_items_key,
    check_callback,
    check_callback_records,
    check_initiable,
    item_state_for,
    order_state_for,
    outbound_payload,
    plan_initiation,
    reached_ponr,
)
from app.domain.servicenow_rendering import render_order
from app.domain.states import EVENTS
from app.services import events
from app.store import inventory, orders, outbound_failures
from app.store import outbound as outbound_store
from app.store.db import Connection

SYSTEM_USER = "system"


@dataclass
class Initiated:
    records: list[dict[str, Any]]
    request_ids: list[str]


async def initiate(conn: Connection, order_id: str, *, user: str) -> Initiated:
    """Create (or, with updates available, revise) the outbound request of an order."""
    async with conn.transaction():
        state = await outbound_store.lock_order_state(conn, order_id)
        if state is None:
            raise ApiError(ErrorKind.NOT_FOUND, f"No service order with id {order_id}.", "/id")
        check_initiable(state)
        groups = plan_initiation(
            await outbound_store.domain_orders(conn, order_id),
            await outbound_store.policies(conn),
            new_sys_id,
        )
        inserted = await outbound_store.insert_records(conn, order_id, groups)
        for group in groups:
            numbers = sorted(r["number"] for r in inserted if r["request_id"] == group.request_id)
            revision = (
                f", revising {group.previous_request_id}" if group.previous_request_id else ""
            )
            await orders.add_work_note(
                conn,
                order_id,
                None,
                f"Outbound request {', '.join(numbers)} created for {group.target} with Request "
                f"ID {group.request_id}{revision}; state Not applicable.",
                user,
            )
        records = [
            r
            for r in await outbound_store.records_of_order(conn, order_id)
            if r["request_id"] in {g.request_id for g in groups}
        ]
    return Initiated(records, [g.request_id for g in groups])


@dataclass
class Send:
    request_id: str
    target: str
    order_id: str
    numbers: list[str]
    payload: dict[str, Any]
    order_state: str = ""
    attempts: int = 0  # made so far


async def prepare_send(conn: Connection, request_id: str) -> Send | None:
    """What to POST for a Request ID; None when nothing is left to send (sent or given up)."""
    records = [
        r
        for r in await outbound_store.records_of_request(conn, request_id)
        if r["state"] == "not_applicable"
    ]
    if not records:
        return None
    order_id = records[0]["source_record"]
    stored = await orders.get(conn, order_id)
    assert stored is not None
    items = {
        d["sys_id"]: d["item_id"]
        for d in await outbound_store.domain_orders_of_order(conn, order_id)
    }
    wanted = {items[r["domain_order"]]: r["domain_order"] for r in records}
    payload = outbound_payload(
        request_id,
        render_order(stored, ponr_strings=False),
        wanted,
        records[0]["previous_request_id"],
    )
    return Send(
        request_id,
        records[0]["target"],
        order_id,
        [r["number"] for r in records],
        payload,
        stored.order["state"],
        max(r["attempts"] for r in records),
    )


async def sent(conn: Connection, send: Send, attempts: int) -> None:
    """The system accepted: records pending, the order and its items in progress."""
    async with conn.transaction():
        # The order first, as callbacks lock it, then items: no deadlock with a callback.
        stored = await orders.lock(conn, send.order_id)
        if stored is None:
            return
        rows = await outbound_store.mark_pending(conn, send.request_id, attempts)
        state = stored.order["state"]
        if rows:
            await orders.start_items(conn, [r["domain_order"] for r in rows])
            starts = state in EVENTS["start"].sources
        else:
            # The system called back before this commit: the callback moved the records,
            # items and order already; only a revision still shows as not sent.
            called_back = await outbound_store.records_of_request(conn, send.request_id)
            if not called_back:
                return
            await outbound_store.clear_updates(conn, [r["domain_order"] for r in called_back])
            starts = state == "revision_received"
        if starts:
            await orders.set_state(
                conn, send.order_id, EVENTS["start"].target, ponr=stored.order["ponr"]
            )
            await events.order_changed(
                conn, send.order_id, [ev.state_change(state, EVENTS["start"].target)]
            )
        await outbound_failures.forget(conn, send.request_id)
        await orders.add_work_note(
            conn,
            send.order_id,
            None,
            f"Outbound request {', '.join(send.numbers)} (Request ID {send.request_id}) sent to "
            f"{send.target} after {attempts} attempt(s); state Pending.",
            SYSTEM_USER,
        )


async def given_up(conn: Connection, send: Send, attempts: int, reason: str) -> None:
    """Retries exhausted or refused: the records go, as the contract's agent does."""
    async with conn.transaction():
        # The order first, as callbacks lock it: its events are raised in order.
        await outbound_store.lock_order_state(conn, send.order_id)
        deleted = await outbound_store.delete_unsent(conn, send.request_id)
        if not deleted:
            return
        await _record_failure(conn, send, attempts, reason, given_up=True)
        await events.order_changed(
            conn,
            send.order_id,
            [_jeopardy(send, f"given up after {attempts} attempt(s): {reason}")],
        )
        await orders.add_work_note(
            conn,
            send.order_id,
            None,
            f"Outbound request {', '.join(send.numbers)} (Request ID {send.request_id}) to "
            f"{send.target} failed after {attempts} attempt(s): {reason}. The records were "
            "deleted; the outbound request can be initiated again.",
            SYSTEM_USER,
        )


async def send_failed(
    conn: Connection,
    send: Send,
    attempts: int,
    reason: str,
    retry_in: float,
    *,
    in_jeopardy: bool = False,
) -> None:
    """A failed attempt that will be retried in `retry_in` seconds, kept with its error for
    operators. `in_jeopardy`: the send has been failing for long; the first such failure
    raises a jeopardy event."""
    async with conn.transaction():
        if in_jeopardy:
            await outbound_store.lock_order_state(conn, send.order_id)
        await outbound_store.defer(conn, send.request_id, retry_in)
        await _record_failure(conn, send, attempts, reason, given_up=False)
        if in_jeopardy and await outbound_failures.mark_jeopardy(conn, send.request_id):
            await events.order_changed(
                conn,
                send.order_id,
                [_jeopardy(send, f"still failing after {attempts} attempt(s): {reason}")],
            )


def _jeopardy(send: Send, what: str) -> ev.Raised:
    message = f"Outbound request to {send.target} (Request ID {send.request_id}) {what}."
    return ev.Raised(
        ev.ORDER_JEOPARDY,
        "Fulfilment in jeopardy",
        message,
        jeopardy=ev.jeopardy("outboundRequest", message, datetime.now(UTC)),
    )


async def _record_failure(
    conn: Connection, send: Send, attempts: int, reason: str, *, given_up: bool
) -> None:
    await outbound_failures.record(
        conn,
        request_id=send.request_id,
        order_id=send.order_id,
        target=send.target,
        numbers=send.numbers,
        attempts=attempts,
        error=reason,
        given_up=given_up,
    )


@dataclass
class Callback:
    request_id: str
    order_ids: list[str]
    numbers: list[str]


async def orders_called_back(conn: Connection, payload: dict[str, Any]) -> list[str]:
    """The orders a callback will change, without locking them; ApiError (400) when the
    body is refused before any record is read."""
    _, items = check_callback(payload)
    return await outbound_store.orders_of(conn, [d for d, _ in items])


async def callback(conn: Connection, payload: dict[str, Any]) -> Callback:
    """outboundresponse: the whole body is checked before anything changes."""
    request_id, items = check_callback(payload)
    domain_orders = [d for d, _ in items]
    async with conn.transaction():
        # The orders first: two callbacks of one order (one per Request ID) must not each
        # compute the order from the other's domain orders as they were before it committed.
        order_ids = await outbound_store.lock_orders_of(conn, domain_orders)
        known, existing, associated = await outbound_store.callback_facts(
            conn, request_id, domain_orders
        )
        check_callback_records(items, known, existing, associated, callback_items_key(payload))
        await outbound_store.apply_states(conn, request_id, items, payload)
        for order_id in order_ids:
            await progress(conn, order_id)
        numbers = [
            r["number"]
            for r in await outbound_store.records_of_request(conn, request_id)
            if r["domain_order"] in domain_orders
        ]
    return Callback(request_id, list(order_ids), numbers)


async def progress(conn: Connection, order_id: str) -> None:
    """Items, order, point of no return and inventory, from the domain orders' states."""
    rows = await outbound_store.order_progress(conn, order_id)
    if not rows:
        return
    order_state = rows[0]["order_state"]
    if order_state in ("cancelled", "completed"):
        return
    item_states, ponrs, completed = [], [], []
    for row in rows:
        state = item_state_for(row["fulfillment_state"], row["item_state"])
        if state == "completed" and row["item_state"] != "completed":
            await inventory.apply(conn, row, new_sys_id())
            completed.append(row["item_id"])
        if state == "error" and row["item_state"] != "error":
            await orders.add_work_note(
                conn,
                order_id,
                row["item"],
                f"Domain order of line item {row['item_id']} reported error.",
                SYSTEM_USER,
            )
        item_states.append(state)
        ponrs.append(
            row["item_ponr"]
            or reached_ponr(row["fulfillment_state"], row["ponr_state"] or "fulfilled")
        )
    await orders.set_item_states(conn, [r["item"] for r in rows], item_states, ponrs)
    new_state = order_state_for(item_states, order_state)
    await orders.set_state(conn, order_id, new_state, ponr=any(ponrs))
    before = [(r["item_state"], r["item_ponr"]) for r in rows]
    await events.order_changed(
        conn,
        order_id,
        ev.progress_events(
            state_before=order_state,
            state_after=new_state,
            ponr_before=any(r["item_ponr"] for r in rows),
            ponr_after=any(ponrs),
            items_completed=completed,
            items_changed=before != list(zip(item_states, ponrs, strict=True)),
            at=datetime.now(UTC),
        ),
    )


async def auto_initiate(conn: Connection, order_ids: list[str]) -> list[str]:
    """OUTBOUND_AUTO: initiate new orders as the agent would; returns the Request IDs."""
    request_ids: list[str] = []
    for order_id in order_ids:
        try:
            request_ids += (await initiate(conn, order_id, user=SYSTEM_USER)).request_ids
        except ApiError:
            continue  # nothing to send (a replayed create), or the order is closed
    return request_ids
