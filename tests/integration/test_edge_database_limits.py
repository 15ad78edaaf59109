"""Every wait on PostgreSQL has a limit: a busy pool answers 503, a row lock another
transaction holds answers 409, a statement that runs too long answers 503; each within about
its limit, with Retry-After and the error object, and nothing written."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import replace

import asyncpg
import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from app.http import keys
from app.http.app import create_app
from app.settings import Settings
from tests.helpers.auth import auth
from tests.helpers.databases import counts, order_snapshot
from tests.helpers.error_objects import error_detail
from tests.helpers.in_process import app_client
from tests.helpers.payloads import ORDER_IN_PROGRESS, ORDERS, add_order, patch_body

DB_TIMEOUT = 0.5
LOCK_TIMEOUT = 0.5
STATEMENT_TIMEOUT = 0.5
# Headroom for a busy machine; the defaults (5 s, 5 s, 30 s) are far beyond it.
SLACK = 2.5


async def timed(request: Awaitable[ClientResponse], limit: float) -> tuple[ClientResponse, float]:
    """The answer and how long it took; a TimeoutError, not a hung test, when the limit
    does not hold."""
    started = time.monotonic()
    async with asyncio.timeout(limit + SLACK):
        resp = await request
        await resp.read()
    return resp, time.monotonic() - started


async def _sleep_in_database(request: web.Request) -> web.Response:
    async with keys.pool(request).acquire() as conn:
        await conn.execute("SELECT pg_sleep(10)")
    return web.json_response({})


@pytest.fixture
async def small_pool(demo_settings: Settings) -> AsyncIterator[TestClient]:
    """One connection, given up on after DB_TIMEOUT."""
    limited = replace(demo_settings, orderhub_db_pool_size=1, orderhub_db_timeout=DB_TIMEOUT)
    async with app_client(create_app(limited)) as client:
        yield client


@pytest.fixture
async def short_locks(demo_settings: Settings) -> AsyncIterator[TestClient]:
    limited = replace(demo_settings, orderhub_lock_timeout_seconds=LOCK_TIMEOUT)
    async with app_client(create_app(limited)) as client:
        yield client


@pytest.fixture
async def short_statements(settings: Settings) -> AsyncIterator[TestClient]:
    app = create_app(replace(settings, orderhub_statement_timeout_seconds=STATEMENT_TIMEOUT))
    app.router.add_get("/probe/sleep", _sleep_in_database)
    async with app_client(app) as client:
        yield client


async def test_busy_pool_answers_503_within_the_db_timeout(
    small_pool: TestClient, demo_database_url: str
) -> None:
    # Credentials verified (and remembered) first, so the POST waits for the pool itself.
    assert (await small_pool.get("/api/orderhub/whoami", headers=auth("admin"))).status == 200
    assert (await small_pool.get(ORDERS, headers=auth("integrator"))).status in (200, 206)
    before = await counts(demo_database_url)
    async with small_pool.app[keys.POOL].acquire():
        resp, elapsed = await timed(
            small_pool.post(ORDERS, json=add_order(), headers=auth("integrator")), DB_TIMEOUT
        )
        await error_detail(resp, 503, 2)
    assert resp.headers["Retry-After"].isdigit()
    assert DB_TIMEOUT * 0.8 <= elapsed < DB_TIMEOUT + SLACK, elapsed
    assert await counts(demo_database_url) == before
    # The pool is whole again once the connection is back.
    resp = await small_pool.post(ORDERS, json=add_order(), headers=auth("integrator"))
    assert resp.status == 201, await resp.text()


async def test_busy_pool_also_bounds_the_credential_check(small_pool: TestClient) -> None:
    """The password lookup uses Pool.fetchrow, which acquires through the same limit."""
    async with small_pool.app[keys.POOL].acquire():
        resp, elapsed = await timed(
            small_pool.get("/api/orderhub/whoami", headers=auth("agent")), DB_TIMEOUT
        )
        await error_detail(resp, 503, 2)
    assert "Retry-After" in resp.headers
    assert elapsed < DB_TIMEOUT + SLACK, elapsed


async def test_row_lock_held_elsewhere_answers_409_within_the_lock_timeout(
    short_locks: TestClient, demo_database_url: str
) -> None:
    path = f"{ORDERS}/{ORDER_IN_PROGRESS}"
    before = await order_snapshot(demo_database_url, ORDER_IN_PROGRESS)
    holder = await asyncpg.connect(demo_database_url)
    try:
        async with holder.transaction():
            await holder.execute(
                "SELECT 1 FROM service_order WHERE sys_id = $1 FOR UPDATE", ORDER_IN_PROGRESS
            )
            resp, elapsed = await timed(
                short_locks.patch(path, json=patch_body(), headers=auth("integrator")),
                LOCK_TIMEOUT,
            )
            detail = await error_detail(resp, 409, 68)
    finally:
        await holder.close()
    assert "busy" in detail["message"]
    assert resp.headers["Retry-After"].isdigit()
    assert LOCK_TIMEOUT * 0.8 <= elapsed < LOCK_TIMEOUT + SLACK, elapsed
    assert await order_snapshot(demo_database_url, ORDER_IN_PROGRESS) == before
    # Once the lock is gone the same request goes through.
    resp = await short_locks.patch(path, json=patch_body(), headers=auth("integrator"))
    assert resp.status == 200, await resp.text()


async def test_statement_over_the_statement_timeout_answers_503(
    short_statements: TestClient,
) -> None:
    resp, elapsed = await timed(short_statements.get("/probe/sleep"), STATEMENT_TIMEOUT)
    await error_detail(resp, 503, 2)
    assert resp.headers["Retry-After"].isdigit()
    assert elapsed < STATEMENT_TIMEOUT + SLACK, elapsed


async def test_api_connections_carry_the_limits(short_statements: TestClient) -> None:
    async with short_statements.app[keys.POOL].acquire() as conn:
        assert await conn.fetchval("SHOW statement_timeout") == "500ms"
        assert await conn.fetchval("SHOW lock_timeout") == "5s"
