"""The largest order the limits allow, sent non-hierarchically (one outbound request per item),
called back for every request at once: requests for other orders go on being answered, since
callbacks of one order wait for each other in memory, not on pool connections."""

from __future__ import annotations

import asyncio
import copy
import statistics
import time
from dataclasses import replace
from typing import Any

import asyncpg

from app.domain import limits
from app.http.app import create_app
from app.settings import Settings
from tests.helpers.auth import auth
from tests.helpers.in_process import app_client, created_and_initiated
from tests.helpers.payloads import ORDER_NEW, ORDERS, add_order

PATH = f"{ORDERS}/outboundresponse"
CONCURRENT_CALLBACKS = 64
# A callback waits in its order's queue for at most the lock timeout, then is answered 409
# busy; on a loaded machine some are, and like SOM/TOM the test sends those again.
RETRY_FOR_SECONDS = 120.0
LOCK_WAITS = """
SELECT count(*) FROM pg_stat_activity
 WHERE datname = current_database() AND wait_event_type = 'Lock'
"""


def largest_order() -> dict[str, Any]:
    order = add_order()
    first = order["serviceOrderItem"][0]
    first["service"].pop("serviceRelationship", None)
    order["serviceOrderItem"] = [
        {**copy.deepcopy(first), "id": str(n)} for n in range(limits.MAX_ITEMS)
    ]
    return order


async def test_callbacks_of_one_large_order_do_not_stall_reads_of_others(
    demo_settings: Settings,
) -> None:
    settings = replace(demo_settings, orderhub_db_pool_size=4)
    async with app_client(create_app(settings)) as client:
        order_id, records = await created_and_initiated(client, largest_order())
        assert len({r["requestId"] for r in records}) == limits.MAX_ITEMS

        gate = asyncio.Semaphore(CONCURRENT_CALLBACKS)

        busy: list[int] = []

        async def send(record: dict[str, Any], state: str) -> int:
            """As SOM/TOM would: a 409 busy is tried again after its Retry-After."""
            body = {
                "externalId": record["requestId"],
                "serviceOrderItem": [{"id": record["domainOrderId"], "state": state}],
            }
            deadline = time.monotonic() + RETRY_FOR_SECONDS
            while True:
                async with gate:
                    answer = await client.post(PATH, json=body, headers=auth("integrator"))
                    await answer.read()
                if answer.status != 409 or time.monotonic() > deadline:
                    return answer.status
                busy.append(1)
                await asyncio.sleep(float(answer.headers["Retry-After"]))

        async def call_back(record: dict[str, Any]) -> list[int]:
            """Each request's two state changes in the order SOM/TOM makes them."""
            return [await send(record, state) for state in ("pending", "fulfilled")]

        latencies: list[float] = []
        lock_waits: list[int] = []
        watcher = await asyncpg.connect(settings.database_url)
        calling = asyncio.gather(*(call_back(r) for r in records))
        try:
            while not calling.done():
                started = time.perf_counter()
                read = await client.get(f"{ORDERS}/{ORDER_NEW}", headers=auth("integrator"))
                await read.read()
                latencies.append(time.perf_counter() - started)
                assert read.status == 200
                lock_waits.append(await watcher.fetchval(LOCK_WAITS))
            statuses = [status for pair in await calling for status in pair]
        finally:
            await watcher.close()

    assert set(statuses) == {201}
    # No callback ever waited inside PostgreSQL for the order's row, holding a connection.
    assert max(lock_waits) == 0
    p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) > 1 else latencies[0]
    print(
        f"reads of another order during {len(statuses)} callbacks ({len(busy)} busy, retried):"
        f" {len(latencies)}, "
        f"p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
    )
    assert p99 < 2.0
    async with app_client(create_app(settings)) as client:
        order = await (await client.get(f"{ORDERS}/{order_id}", headers=auth("integrator"))).json()
    assert order["state"] == "completed"
