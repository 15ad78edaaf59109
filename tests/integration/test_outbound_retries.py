"""Sends to SOM/TOM through an outage and a refusal, in-process: the API, a worker and the
SOM/TOM stub on real HTTP, the stub behind a TCP proxy that can be cut (connections refused)
and restored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from arq import Retry
from arq.constants import job_key_prefix

from app.http.app import create_app
from app.services.jobs import connect, send_job_id
from app.settings import Settings
from app.store import db
from app.stub.server import REGISTRY, create_stub_app
from tests.helpers.databases import execute, fetch
from tests.helpers.in_process import app_client, created_and_initiated, drain
from tests.helpers.payloads import add_order
from tests.helpers.polling import wait_for_async
from tests.helpers.tcp_proxy import TcpProxy
from workers.breakers import breaker
from workers.outbound import send_outbound, sweep_outbound

OLD_MAX_ATTEMPTS = 5  # what ORDERHUB_OUTBOUND_MAX_ATTEMPTS gave up after, by default
WAIT = 90.0
RECORDS = """
SELECT number, request_id, target, state, attempts, first_attempt_at, next_attempt_at, source_record
  FROM outbound_request WHERE source_record = ANY($1) ORDER BY number
"""
NOTES = "SELECT text FROM work_note WHERE order_id = ANY($1) ORDER BY id"
FAILURES = "SELECT request_id, attempts, last_error, given_up FROM outbound_failure"


@dataclass
class Stub:
    app: web.Application
    proxy: TcpProxy

    def received(self) -> list[dict[str, Any]]:
        return self.app[REGISTRY].to_json()


@pytest.fixture
async def stub(demo_settings: Settings) -> AsyncIterator[Stub]:
    """The stub, without callbacks (the records stay `pending` once sent), behind a proxy."""
    app = create_stub_app(replace(demo_settings, stub_callback_url=""))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    assert server.port is not None
    proxy = TcpProxy("127.0.0.1", server.port)
    proxy.start()
    try:
        yield Stub(app, proxy)
    finally:
        proxy.close()
        await server.close()


def pointed_at(settings: Settings, stub: Stub, **overrides: Any) -> Settings:
    base = f"http://127.0.0.1:{stub.proxy.port}"
    return replace(
        settings,
        som_url=f"{base}/som/serviceOrder",
        tom_url=f"{base}/tom/serviceOrder",
        **overrides,
    )


async def initiate_orders(client: TestClient, count: int) -> tuple[list[str], set[str]]:
    """`count` new orders, each sent for fulfilment by an agent: (order ids, Request IDs)."""
    order_ids: list[str] = []
    request_ids: set[str] = set()
    for _ in range(count):
        order_id, records = await created_and_initiated(client, add_order())
        order_ids.append(order_id)
        request_ids |= {r["requestId"] for r in records}
    return order_ids, request_ids


async def test_an_outage_longer_than_the_breaker_and_the_old_count_delivers_each_once(
    demo_settings: Settings, stub: Stub
) -> None:
    settings = pointed_at(
        demo_settings,
        stub,
        orderhub_breaker_threshold=3,
        orderhub_breaker_cooldown_seconds=1.0,
        orderhub_outbound_backoff_cap_seconds=1.0,
        orderhub_outbound_timeout_seconds=2.0,
    )
    stub.proxy.cut()
    async with app_client(create_app(settings)) as client:
        order_ids, request_ids = await initiate_orders(client, 3)
    worker = asyncio.create_task(drain(settings))
    try:

        async def failing_past_the_old_count() -> bool:
            rows = await fetch(settings.database_url, RECORDS, order_ids)
            assert all(r["state"] == "not_applicable" for r in rows), rows
            assert len(rows) == len(request_ids), "nothing was given up"
            return max(r["attempts"] for r in rows) > OLD_MAX_ATTEMPTS

        await wait_for_async(failing_past_the_old_count, WAIT, "more attempts than the old limit")
        targets = {r["target"] for r in await fetch(settings.database_url, RECORDS, order_ids)}
        assert any(
            breaker({"settings": settings}, t).failures >= settings.orderhub_breaker_threshold
            for t in targets
        ), "the breaker opened"
        assert stub.received() == [], "the stub was unreachable"
        stub.proxy.restore()
        await asyncio.wait_for(worker, WAIT)
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)

    received = stub.received()
    assert sorted(e["externalId"] for e in received) == sorted(request_ids)
    assert all(e["answer"] == 201 and e["duplicates"] == 0 for e in received), received
    rows = await fetch(settings.database_url, RECORDS, order_ids)
    assert {r["request_id"] for r in rows} == request_ids
    assert all(r["state"] == "pending" for r in rows), rows
    assert all(r["first_attempt_at"] is not None for r in rows)
    notes = [n["text"] for n in await fetch(settings.database_url, NOTES, order_ids)]
    assert not [n for n in notes if "failed after" in n], notes
    assert len([n for n in notes if "sent to" in n and "state Pending" in n]) == len(request_ids)
    failures = await fetch(settings.database_url, FAILURES)
    assert not [f for f in failures if f["request_id"] in request_ids], failures


async def test_a_refusal_gives_up_at_once_with_the_work_note(
    demo_settings: Settings, stub: Stub
) -> None:
    settings = pointed_at(demo_settings, stub)
    await _stub_mode(stub, "refuse")
    async with app_client(create_app(settings)) as client:
        order_ids, request_ids = await initiate_orders(client, 1)
    (request_id,) = request_ids
    numbers = [r["number"] for r in await fetch(settings.database_url, RECORDS, order_ids)]
    await asyncio.wait_for(drain(settings), WAIT)

    assert await fetch(settings.database_url, RECORDS, order_ids) == [], "records deleted"
    assert [e["answer"] for e in stub.received()] == [400]
    notes = [n["text"] for n in await fetch(settings.database_url, NOTES, order_ids)]
    (note,) = [n for n in notes if request_id in n and "failed after" in n]
    assert "after 1 attempt(s)" in note and "HTTP 400" in note and numbers[0] in note
    assert "can be initiated again" in note
    (failure,) = [f for f in await fetch(settings.database_url, FAILURES)]
    assert failure["request_id"] == request_id and failure["given_up"]


async def test_a_send_before_its_time_is_neither_made_nor_swept(
    demo_settings: Settings, stub: Stub
) -> None:
    """A send waiting for its back-off or its breaker: an early trigger puts it back without
    an attempt, and the sweeper leaves it until it is due."""
    settings = pointed_at(demo_settings, stub, orderhub_sweep_after_seconds=1.0)
    async with app_client(create_app(settings)) as client:
        order_ids, request_ids = await initiate_orders(client, 1)
    (request_id,) = request_ids
    url = settings.database_url
    await execute(
        url,
        "UPDATE outbound_request SET next_attempt_at = clock_timestamp() + interval '1 hour', "
        "enqueued_at = clock_timestamp() - interval '1 hour' WHERE request_id = $1",
        request_id,
    )
    async with _worker_context(settings) as ctx:
        # the trigger is lost
        await ctx["redis"].delete(job_key_prefix + send_job_id(request_id))
        await ctx["redis"].zrem(settings.orderhub_queue_name, send_job_id(request_id))
        with pytest.raises(Retry):
            await send_outbound(ctx, request_id)
        assert await sweep_outbound(ctx) == 0
        (row,) = await fetch(url, RECORDS, order_ids)
        assert row["attempts"] == 0 and row["state"] == "not_applicable"
        assert stub.received() == []

        await execute(
            url,
            "UPDATE outbound_request SET next_attempt_at = clock_timestamp() - interval '1 hour'"
            " WHERE request_id = $1",
            request_id,
        )
        assert await sweep_outbound(ctx) == 1
        assert await ctx["redis"].zcard(settings.orderhub_queue_name) == 1


async def test_a_send_parked_by_the_breaker_spends_no_attempt(
    demo_settings: Settings, stub: Stub
) -> None:
    settings = pointed_at(demo_settings, stub, orderhub_breaker_cooldown_seconds=30.0)
    async with app_client(create_app(settings)) as client:
        order_ids, request_ids = await initiate_orders(client, 1)
    (request_id,) = request_ids
    async with _worker_context(settings) as ctx:
        (row,) = await fetch(settings.database_url, RECORDS, order_ids)
        circuit = breaker(ctx, row["target"])
        for _ in range(settings.orderhub_breaker_threshold):
            circuit.failure()
        failures = circuit.failures
        for _ in range(3):
            with pytest.raises(Retry) as parked:
                await send_outbound(ctx, request_id)
            assert (parked.value.defer_score or 0) / 1000 >= circuit.wait() - 1
        (row,) = await fetch(settings.database_url, RECORDS, order_ids)
        assert row["attempts"] == 0 and row["first_attempt_at"] is None
        assert row["next_attempt_at"] is not None, "parked until the breaker may half-open"
        assert circuit.failures == failures
        assert stub.received() == []
        circuit.success()


async def _stub_mode(stub: Stub, mode: str) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{stub.proxy.port}/stub/config"
        async with session.post(url, json={"mode": mode}) as resp:
            assert resp.status == 200, await resp.text()


@asynccontextmanager
async def _worker_context(settings: Settings) -> AsyncIterator[dict[str, Any]]:
    """What a worker gives its jobs, for calling them directly."""
    pool = await db.create_pool(settings.database_url, max_size=2)
    redis = connect(settings.redis_url, settings.orderhub_queue_name)
    session = aiohttp.ClientSession()
    try:
        yield {
            "settings": settings,
            "queue_name": settings.orderhub_queue_name,
            "pool": pool,
            "redis": redis,
            "http": session,
        }
    finally:
        await session.close()
        await redis.aclose(close_connection_pool=True)  # connect() hands it a pool of its own
        await pool.close()
