"""The console's list and search queries read through indexes, never a whole table: checked on
the plans PostgreSQL makes for them over tens of thousands of orders and customers, both
planned for the values at hand and as the generic plans a prepared statement settles on."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from app.domain.console_listing import PAGE_SIZE, Cursor, ListingQuery
from app.store import db, inbound
from app.store.console_search import CUSTOMERS_CAPPED, listing_sql
from app.store.outbound import COUNTS_BY_STATE
from app.store.sessions import GET as SESSION_GET

ORDERS = 60_000
CUSTOMERS = 3_000
WATCHED = {"service_order", "customer_account", "consumer", "inbound_processed", "console_session"}
CURSOR = Cursor(datetime(2029, 6, 1, tzinfo=UTC), "order-30000")


@pytest.fixture(scope="module")
async def big(postgres_admin_url: str, template_db: str) -> AsyncIterator[asyncpg.Connection[Any]]:
    from tests.helpers.databases import cloned_database

    async with cloned_database(postgres_admin_url, template_db) as url:
        conn = await db.connect(url)
        try:
            await conn.execute(
                """
                INSERT INTO customer_account (sys_id, external_id, name)
                SELECT 'acc-' || i, 'ACC-' || i, 'Customer ' || md5(i::text)
                  FROM generate_series(1, $1) i;
                INSERT INTO consumer (sys_id, external_id, name)
                SELECT 'con-' || i, 'CON-' || i, 'Consumer ' || md5(i::text)
                  FROM generate_series(1, $1) i;
                """.replace("$1", str(CUSTOMERS))
            )
            await conn.execute(
                f"""
                INSERT INTO service_order (sys_id, external_id, state, order_date, account,
                                           consumer, created_by)
                SELECT 'order-' || i, 'EXT-' || i,
                       (ARRAY['new', 'in_progress', 'completed', 'cancelled', 'error',
                              'revision_received'])[1 + i % 6],
                       timestamptz '2030-01-01' - i * interval '7 minutes',
                       CASE WHEN i % 2 = 0 THEN 'acc-' || (1 + i % {CUSTOMERS}) END,
                       CASE WHEN i % 2 = 1 THEN 'con-' || (1 + i % {CUSTOMERS}) END, 'test'
                  FROM generate_series(1, {ORDERS}) i;
                INSERT INTO inbound_processed (id, state, payload, received_at, processed_at,
                                               created_by, attempts, error)
                SELECT 'entry-' || i, CASE WHEN i % 10 = 0 THEN 'error' ELSE 'done' END, '{{}}',
                       now() - i * interval '1 second', now() - i * interval '1 second',
                       'test', 1, '{{}}'
                  FROM generate_series(1, {ORDERS}) i;
                INSERT INTO console_session (token_digest, user_name, password_check, csrf_token,
                                             expires_at)
                SELECT md5(i::text), 'agent', 'check', 'csrf', now() + interval '1 hour'
                  FROM generate_series(1, 5000) i;
                ANALYZE;
                """
            )
            yield conn
        finally:
            await conn.close()


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _full_scans(plan: Any) -> list[str]:
    (top,) = json.loads(plan) if isinstance(plan, str) else plan
    return [
        node["Relation Name"]
        for node in _nodes(top["Plan"])
        if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in WATCHED
    ]


def _literal(value: Any) -> str:
    """A test's own parameter as SQL text: EXECUTE takes no bound parameters."""
    if isinstance(value, int):
        return str(value)
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return "'" + text.replace("'", "''") + "'"


async def _plans(conn: asyncpg.Connection[Any], sql: str, params: list[Any]) -> list[Any]:
    """The plan for these values, and the generic plan a prepared statement would reuse."""
    custom = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *params)
    await conn.execute(f"PREPARE console_query AS {sql}")
    try:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        arguments = ", ".join(_literal(p) for p in params)
        execute = f"EXECUTE console_query({arguments})" if params else "EXECUTE console_query"
        generic = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {execute}")
    finally:
        await conn.execute("RESET plan_cache_mode")
        await conn.execute("DEALLOCATE console_query")
    return [custom, generic]


QUERIES = [
    ListingQuery(state=None, search=None, cursor=None, newer=False),
    ListingQuery(state=None, search=None, cursor=CURSOR, newer=False),
    ListingQuery(state=None, search=None, cursor=CURSOR, newer=True),
    ListingQuery(state="completed", search=None, cursor=None, newer=False),
    ListingQuery(state="completed", search=None, cursor=CURSOR, newer=False),
    ListingQuery(state="error", search=None, cursor=CURSOR, newer=True),
    ListingQuery(state=None, search="EXT-4242", cursor=None, newer=False),
    ListingQuery(state=None, search="order-77", cursor=None, newer=False),
    ListingQuery(state=None, search="customer 1", cursor=None, newer=False),
    ListingQuery(state=None, search="Consumer a", cursor=CURSOR, newer=False),
    ListingQuery(state="new", search="customer", cursor=CURSOR, newer=True),
]


@pytest.mark.parametrize(
    "query", QUERIES, ids=lambda q: f"{q.state}-{q.search}-{q.cursor is not None}-{q.newer}"
)
async def test_list_and_search_read_through_indexes(
    big: asyncpg.Connection[Any], query: ListingQuery
) -> None:
    sql, params = listing_sql(query, PAGE_SIZE + 1)
    for plan in await _plans(big, sql, params):
        assert _full_scans(plan) == [], (sql, plan)
    assert len(await big.fetch(sql, *params)) <= PAGE_SIZE + 1


async def test_the_other_console_reads_use_indexes_too(big: asyncpg.Connection[Any]) -> None:
    cursor = (datetime.now(UTC), "entry-5000")
    for sql, params in (
        (CUSTOMERS_CAPPED, ["cust"]),
        (inbound.ERRORS_FIRST, [21]),
        (inbound.ERRORS_AFTER, [21, *cursor]),
        (SESSION_GET, ["digest"]),
    ):
        for plan in await _plans(big, sql, params):
            assert _full_scans(plan) == [], (sql, plan)
    plan = await big.fetchval(f"EXPLAIN (FORMAT JSON) {COUNTS_BY_STATE}")
    assert _full_scans(plan) == []


async def test_customer_search_finds_by_the_start_of_a_name(big: asyncpg.Connection[Any]) -> None:
    name = await big.fetchval("SELECT name FROM customer_account WHERE sys_id = 'acc-13'")
    query = ListingQuery(state=None, search=name[:14].upper(), cursor=None, newer=False)
    sql, params = listing_sql(query, PAGE_SIZE + 1)
    rows = await big.fetch(sql, *params)
    assert rows and all(r["customer"].lower().startswith(name[:14].lower()) for r in rows)
    dates = [r["order_date"] for r in rows]
    assert dates == sorted(dates, reverse=True)
