"""Raising events: called inside the transaction of the change, so that an event exists exactly
when its change does (docs/api.md#event-notifications).

Each event is rendered once, matched against every active subscription's query, and written
with the subscriptions it matched; the event workers write their deliveries. With no active
subscription nothing is rendered or written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from app.domain import events as ev
from app.domain.hub_query import HubQuery, matches, parse_query
from app.domain.ids import new_sys_id
from app.domain.new_order import NewOrder
from app.domain.stored_order import StoredOrder, as_created
from app.domain.tmf_rendering import order_href, render_cancellation, render_tmf_order
from app.settings import Settings
from app.store import cancellations, hub, orders
from app.store.db import Connection
from app.store.deliveries import NewEvent, insert

Resource = dict[str, Any]
# Where the hrefs inside events point: an event has no request to take a host from.
_BASE_URL = {"value": "http://127.0.0.1:8080"}


def configure(settings: Settings) -> None:
    """Once per process, at start: ORDERHUB_PUBLIC_URL, else the address the API listens on."""
    _BASE_URL["value"] = settings.orderhub_public_url or f"http://{settings.host}:{settings.port}"


def base_url() -> str:
    return _BASE_URL["value"]


@lru_cache(maxsize=1024)
def _query(text: str) -> HubQuery:
    """Queries were checked at registration; parsed again here once per process."""
    return parse_query(text)


Subscriptions = list[tuple[str, str]]  # (id, query)


async def _wanting(conn: Connection, *event_types: str) -> Subscriptions:
    """The active subscriptions whose query may want an event of these types: with none,
    nothing is loaded or rendered (a query naming other eventTypes costs the change nothing)."""
    found = []
    for subscription, query in await hub.active(conn):
        types = _query(query).event_types
        if types is None or types & set(event_types):
            found.append((subscription, query))
    return found


async def _write(
    conn: Connection,
    subscriptions: Subscriptions,
    raised: list[tuple[str, ev.Raised, Resource]],
) -> None:
    """(order id, event, rendered resource) each."""
    if not subscriptions or not raised:
        return
    now = datetime.now(UTC)
    new = []
    for order_id, event, resource in raised:
        event_id = new_sys_id()
        body = ev.build_event(event, resource, event_id=event_id, at=now, correlation_id=order_id)
        targets = [sid for sid, query in subscriptions if matches(_query(query), body)]
        new.append(NewEvent(event_id, order_id, event.event_type, body, targets))
    await insert(conn, [e for e in new if e.subscriptions])


async def _render(conn: Connection, stored: list[StoredOrder]) -> dict[str, Resource]:
    cancelled = [o.order["sys_id"] for o in stored if o.order["state"] == "cancelled"]
    found = await cancellations.for_orders(conn, cancelled)
    return {
        o.order["sys_id"]: render_tmf_order(o, base_url(), found.get(o.order["sys_id"]))
        for o in stored
    }


async def order_changed(conn: Connection, order_id: str, raised: list[ev.Raised]) -> None:
    """Events about an order as it stands now, in this transaction."""
    if not raised:
        return
    subscriptions = await _wanting(conn, *(r.event_type for r in raised))
    if not subscriptions:
        return
    stored = await orders.get(conn, order_id)
    if stored is None:
        return
    resource = (await _render(conn, [stored]))[order_id]
    await _write(conn, subscriptions, [(order_id, r, resource) for r in raised])


async def orders_created(conn: Connection, created: list[NewOrder]) -> None:
    """Rendered from the orders as built (as_created): nothing just written is read back."""
    if not created:
        return
    subscriptions = await _wanting(conn, ev.ORDER_CREATE)
    if not subscriptions:
        return
    event = ev.Raised(ev.ORDER_CREATE, "Service order created", "A service order was created.")
    await _write(
        conn,
        subscriptions,
        [(o.sys_id, event, render_tmf_order(as_created(o), base_url())) for o in created],
    )


async def order_deleting(conn: Connection, stored: StoredOrder) -> None:
    """Before the order's rows go: the event carries the order as it was."""
    subscriptions = await _wanting(conn, ev.ORDER_DELETE)
    if not subscriptions:
        return
    order_id = stored.order["sys_id"]
    resource = (await _render(conn, [stored]))[order_id]
    deleted = ev.Raised(ev.ORDER_DELETE, "Service order deleted", "The service order was deleted.")
    await _write(conn, subscriptions, [(order_id, deleted, resource)])


async def order_cancelled(conn: Connection, order_id: str, state_before: str) -> None:
    """The order's state change, then the cancellation's creation and its move to done (a
    cancel is carried out at once)."""
    subscriptions = await _wanting(
        conn, ev.ORDER_STATE_CHANGE, ev.CANCEL_CREATE, ev.CANCEL_STATE_CHANGE
    )
    if not subscriptions:
        return
    stored = await orders.get(conn, order_id)
    if stored is None:
        return
    order = (await _render(conn, [stored]))[order_id]
    row = (await cancellations.for_orders(conn, [order_id]))[order_id]
    cancellation = render_cancellation(row, base_url())
    accepted = {**cancellation, "state": "accepted"}
    await _write(
        conn,
        subscriptions,
        [
            (order_id, ev.state_change(state_before, "cancelled"), order),
            (
                order_id,
                ev.Raised(
                    ev.CANCEL_CREATE,
                    "Cancel service order created",
                    "A request to cancel the service order was accepted.",
                ),
                accepted,
            ),
            (
                order_id,
                ev.Raised(
                    ev.CANCEL_STATE_CHANGE,
                    "Cancel service order state changed",
                    f"The cancellation is {row['state']}.",
                ),
                cancellation,
            ),
        ],
    )


async def information_required(
    conn: Connection, entries: list[tuple[str, dict[str, Any], dict[str, Any]]]
) -> None:
    """Async orders refused by the worker for a field missing or naming nothing known:
    (queue id = order id, payload, error object) each. The order waits in the inbound queue
    for a corrected body and an operator's retry; the event carries what is known of it."""
    if not entries:
        return
    subscriptions = await _wanting(conn, ev.ORDER_INFORMATION_REQUIRED)
    if not subscriptions:
        return
    raised = []
    for order_id, payload, error in entries:
        detail = (error.get("details") or [{}])[0]
        resource: Resource = {
            "id": order_id,
            "href": order_href(base_url(), order_id),
            "errorMessage": [
                {
                    "code": str(error.get("code")),
                    "reason": str(error.get("reason", "")),
                    "message": str(detail.get("message") or error.get("message", "")),
                    "@type": "ServiceOrderErrorMessage",
                }
            ],
            "@type": "ServiceOrder",
        }
        if isinstance(payload.get("externalId"), str):
            resource["externalId"] = payload["externalId"]
        event = ev.Raised(
            ev.ORDER_INFORMATION_REQUIRED,
            "Service order needs information",
            str(detail.get("message") or error.get("message", "")),
            field_path=str(detail.get("datapath") or "/"),
        )
        raised.append((order_id, event, resource))
    await _write(conn, subscriptions, raised)
