"""The app in this process: a test client on a database of its own, `mode=async` posts, and a
worker run in burst mode until the queue is empty."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from app.http.app import create_app
from app.settings import Settings
from tests.helpers.auth import auth
from tests.helpers.databases import cloned_database
from tests.helpers.payloads import ORDERS, async_example
from tests.helpers.settings import isolated_settings
from workers.settings import create_worker


@asynccontextmanager
async def app_client(app: web.Application) -> AsyncIterator[TestClient]:
    """A test client on `app`, started and stopped with it."""
    async with TestClient(TestServer(app)) as client:
        yield client


@asynccontextmanager
async def shared_demo_client(
    postgres_admin_url: str, demo_template_db: str, redis_url: str
) -> AsyncIterator[tuple[TestClient, str]]:
    """A client on one clone of the demo database, for tests that should change nothing."""
    async with cloned_database(postgres_admin_url, demo_template_db) as url:
        async with isolated_settings(url, redis_url) as settings:
            async with app_client(create_app(settings)) as client:
                yield client, url


async def post_async(
    client: TestClient, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Any:
    """POST `mode=async` as the integrator; (status, answer)."""
    resp = await client.post(
        ORDERS,
        params={"mode": "async"},
        json=body,
        headers={**auth("integrator"), **(headers or {})},
    )
    return resp.status, await resp.json()


async def drain(settings: Settings) -> None:
    """Runs a worker in this process until the queue is empty."""
    worker = create_worker(settings, burst=True, handle_signals=False)
    try:
        await worker.main()
    finally:
        await worker.close()


async def one_error_one_done(client: TestClient, settings: Settings) -> tuple[str, str]:
    """Two async orders drained: the first fails (an unknown place), the second is created;
    their entry ids."""
    bad = async_example()
    bad["serviceOrderItem"][0]["place"]["id"] = "no-such-location"
    _, failed = await post_async(client, bad)
    _, ok = await post_async(client, async_example())
    await drain(settings)
    return failed["orderId"], ok["orderId"]


async def created_and_initiated(
    client: TestClient, body: dict[str, Any]
) -> tuple[str, list[dict[str, Any]]]:
    """A sync order created as the integrator and sent for fulfilment by an agent: (its id,
    the Outbound Request records)."""
    created = await client.post(ORDERS, json=body, headers=auth("integrator"))
    assert created.status == 201, await created.text()
    order_id: str = (await created.json())["id"]
    resp = await client.post(
        f"/api/orderhub/serviceOrder/{order_id}/outboundRequest", headers=auth("agent")
    )
    records: list[dict[str, Any]] = await resp.json()
    assert resp.status == 201, records
    return order_id, records
