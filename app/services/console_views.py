"""What each console page shows, read across the table groups it needs in one read-only
snapshot, so that a page never mixes two moments (an order's records from before a callback
and its domain orders from after it).

Every page costs a fixed number of queries, each through an index, whatever the tables hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.domain.console_listing import PAGE_SIZE, Cursor, ListingQuery, Page, page_of
from app.domain.stored_order import StoredOrder
from app.store import (
    console_search,
    deliveries,
    hub,
    inbound,
    operator_actions,
    orders,
    outbound_failures,
)
from app.store import outbound as outbound_store
from app.store.db import Connection

QUEUE_PAGE_SIZE = 20
FAILURES_SHOWN = 50


@dataclass
class OrderList:
    page: Page
    customers_capped: bool


async def order_list(conn: Connection, query: ListingQuery) -> OrderList:
    async with conn.transaction(readonly=True):
        rows = await console_search.orders_page(conn, query, PAGE_SIZE + 1)
        capped = (
            await console_search.customers_capped(conn, query.search)
            if query.search is not None
            else False
        )
    return OrderList(page_of(rows, query, PAGE_SIZE), capped)


@dataclass
class OrderView:
    stored: StoredOrder
    names: dict[str, Any]
    work_notes: list[dict[str, Any]]
    domain_orders: list[dict[str, Any]]
    records: list[dict[str, Any]]
    revisions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def updates_available(self) -> bool:
        """The seed's "Updates available" tick on any domain order: the action is then
        "Revise Outbound Request"."""
        return any(d["updates_available"] for d in self.domain_orders)


async def order_view(conn: Connection, order_id: str) -> OrderView | None:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        stored = await orders.get(conn, order_id)
        if stored is None:
            return None
        return OrderView(
            stored,
            await console_search.names_of_order(conn, order_id),
            await orders.work_notes(conn, order_id),
            await outbound_store.domain_orders_of_order(conn, order_id),
            await outbound_store.records_of_order(conn, order_id),
            await orders.revisions(conn, order_id),
            (await operator_actions.of_subjects(conn, [order_id]))[order_id],
        )


async def outbound_record(conn: Connection, number: str) -> dict[str, Any] | None:
    return await outbound_store.record(conn, number)


@dataclass
class QueueView:
    stats: dict[str, Any]
    errors: list[dict[str, Any]]
    actions: dict[str, list[dict[str, Any]]]
    older: Cursor | None


async def queue_view(conn: Connection, after: Cursor | None) -> QueueView:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        stats = await inbound.dashboard(conn)
        rows = await inbound.errors_page(
            conn,
            limit=QUEUE_PAGE_SIZE + 1,
            after=None if after is None else (after.at, after.key),
        )
        shown = rows[:QUEUE_PAGE_SIZE]
        actions = await operator_actions.of_subjects(conn, [r["id"] for r in shown])
    older = (
        Cursor(shown[-1]["processed_at"], shown[-1]["id"]) if len(rows) > QUEUE_PAGE_SIZE else None
    )
    return QueueView(stats, shown, actions, older)


@dataclass
class EntryView:
    entry: dict[str, Any]
    actions: list[dict[str, Any]]


async def entry_view(conn: Connection, queue_id: str) -> EntryView | None:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        entry = await inbound.entry(conn, queue_id)
        if entry is None:
            return None
        actions = await operator_actions.of_subjects(conn, [queue_id])
    return EntryView(entry, actions[queue_id])


@dataclass
class OutboundView:
    counts: dict[str, int]
    failures: list[dict[str, Any]]
    # Event notifications: deliveries by state, those parked as dead, the subscriptions.
    event_counts: dict[str, int] = field(default_factory=dict)
    dead_events: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: list[dict[str, Any]] = field(default_factory=list)


async def outbound_view(conn: Connection) -> OutboundView:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        counts = await outbound_store.counts_by_state(conn)
        failures = await outbound_failures.recent(conn, FAILURES_SHOWN)
        event_counts = await deliveries.counts(conn)
        dead_events = await deliveries.dead(conn, limit=FAILURES_SHOWN)
        subscriptions = await hub.all_subscriptions(conn)
    return OutboundView(counts, failures, event_counts, dead_events, subscriptions)
