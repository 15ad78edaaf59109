"""GET /metrics of the API and of a worker, scraped after real requests and jobs.

Metrics are kept per process, and this process runs many tests: each test compares a
sample before and after what it does, never a value on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import aiohttp
from aiohttp.test_utils import TestClient

from app import metrics
from app.cli.embedded import free_port
from app.http.app import create_app
from app.settings import Settings
from tests.helpers.auth import auth
from tests.helpers.in_process import app_client, post_async
from tests.helpers.metrics import Samples, label_values, parse, value
from tests.helpers.payloads import ORDERS, OUTBOUND_RESPONSE, async_example, example
from tests.helpers.polling import wait_for_async
from workers.settings import create_worker

REQUESTS = "http_server_request_duration_seconds_count"
ORDER_ROUTE = ORDERS + "/{id}"


async def scrape(client: TestClient) -> Samples:
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=")
    return parse(await resp.text())


def local_samples() -> Samples:
    """This process's metrics, as a scrape of the API would show them without its gauges."""
    return parse(metrics.render().decode())


async def scrape_url(url: str) -> Samples:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        assert resp.status == 200
        return parse(await resp.text())


async def test_metrics_needs_no_auth_and_takes_a_text_only_accept(client: TestClient) -> None:
    resp = await client.get("/metrics", headers={"Accept": "text/plain"})
    assert resp.status == 200
    assert "# TYPE http_server_request_duration_seconds histogram" in await resp.text()


async def test_requests_are_counted_by_route_template_method_and_status(
    client: TestClient,
) -> None:
    before = await scrape(client)
    missing = "0123456789abcdef0123456789abcdef"
    for _ in range(2):
        resp = await client.get(f"{ORDERS}/{missing}", headers=auth("integrator"))
        assert resp.status == 404
    assert (await client.get(f"{ORDERS}/{missing}")).status == 401
    assert (await client.get("/no/such/path/123")).status == 404
    assert (await client.request("PROPFIND", "/health")).status == 405
    after = await scrape(client)

    def added(**labels: str) -> float:
        return value(after, REQUESTS, **labels) - value(before, REQUESTS, **labels)

    route = {"http_request_method": "GET", "http_route": ORDER_ROUTE}
    assert added(**route, http_response_status_code="404") == 2
    assert added(**route, http_response_status_code="401") == 1
    unmatched = {"http_route": "unmatched", "http_response_status_code": "404"}
    assert added(http_request_method="GET", **unmatched) == 1
    assert added(http_request_method="_OTHER", http_route="unmatched", **{
        "http_response_status_code": "405"
    }) == 1  # fmt: skip
    routes = label_values(after, REQUESTS, "http_route")
    assert not any(missing in r or "/no/such" in r for r in routes), routes
    # The histogram's buckets add up to its count.
    inf_bucket = value(
        after,
        "http_server_request_duration_seconds_bucket",
        **route,
        http_response_status_code="404",
        le="+Inf",
    )
    assert inf_bucket == value(after, REQUESTS, **route, http_response_status_code="404")


async def test_async_accept_counts_its_batches_and_the_queue_gauges_see_the_entry(
    settings: Settings,
) -> None:
    before = local_samples()  # not scraped: the app's first scrape reads the queue
    async with app_client(create_app(settings)) as client:
        status, answer = await post_async(client, async_example())
        assert status == 202, answer
        after = await scrape(client)
    assert value(after, "orderhub_inbound_batch_size_count") > value(
        before, "orderhub_inbound_batch_size_count"
    )
    assert value(after, "orderhub_inbound_batch_size_sum") > value(
        before, "orderhub_inbound_batch_size_sum"
    )
    accepted = {
        "http_request_method": "POST",
        "http_route": ORDERS,
        "http_response_status_code": "202",
    }
    assert value(after, REQUESTS, **accepted) == value(before, REQUESTS, **accepted) + 1
    # This database's one entry, queued.
    assert value(after, "orderhub_inbound_queue_entries", state="queued") == 1
    assert value(after, "orderhub_inbound_queue_entries", state="done") == 0
    assert value(after, "orderhub_inbound_queue_entries", state="error") == 0
    assert value(after, "orderhub_inbound_oldest_queued_age_seconds") >= 0
    assert value(after, "orderhub_event_oldest_pending_age_seconds") == 0  # no subscriber
    assert value(after, "orderhub_workers_alive") == 0
    assert value(after, "orderhub_event_workers_alive") == 0
    assert {"in_use", "idle"} <= label_values(after, "orderhub_db_pool_connections", "state")
    assert ("orderhub_db_pool_waiting", frozenset()) in after


async def test_queue_gauges_are_read_at_most_every_few_seconds(settings: Settings) -> None:
    """A second scrape right after the first shows the first's counts, not a new count."""
    async with app_client(create_app(settings)) as client:
        first = await scrape(client)
        status, _ = await post_async(client, async_example())
        assert status == 202
        second = await scrape(client)
    assert value(first, "orderhub_inbound_queue_entries", state="queued") == 0
    assert value(second, "orderhub_inbound_queue_entries", state="queued") == 0


async def test_callbacks_are_counted_by_outcome(demo_client: TestClient) -> None:
    before = await scrape(demo_client)
    ex = example("09_outboundresponse")
    resp = await demo_client.post(OUTBOUND_RESPONSE, json=ex["body"], headers=auth("integrator"))
    assert resp.status == 201
    unknown = {**ex["body"], "externalId": "0123456789abcdef0123456789abcdef"}
    resp = await demo_client.post(OUTBOUND_RESPONSE, json=unknown, headers=auth("integrator"))
    assert resp.status == 400  # no such outbound request: the contract's 400
    after = await scrape(demo_client)
    for outcome in ("accepted", "refused"):
        name = "orderhub_callbacks_total"
        assert value(after, name, outcome=outcome) == value(before, name, outcome=outcome) + 1


@asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[str]:
    """A worker in this process with its metrics port; the URL of its /metrics."""
    port = free_port()
    worker = create_worker(
        replace(settings, orderhub_worker_metrics_port=port), handle_signals=False
    )
    task = asyncio.create_task(worker.main())
    url = f"http://127.0.0.1:{port}/metrics"

    async def answering() -> bool:
        assert not task.done(), task
        with contextlib.suppress(aiohttp.ClientError):
            await scrape_url(url)
            return True
        return False

    try:
        await wait_for_async(answering, 30, "the worker's /metrics answering")
        yield url
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await worker.close()


async def test_a_worker_counts_its_jobs_and_sends_and_shows_its_breakers(
    demo_settings: Settings,
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/serviceOrder"
    settings = replace(demo_settings, outbound_auto=True, som_url=closed, tom_url=closed)
    processed = {"function": "process_inbound", "outcome": "success"}
    async with app_client(create_app(settings)) as client:
        api_before = await scrape(client)
        async with running_worker(settings) as url:
            # The order only once the worker's counts are read: it takes the job at once.
            before = await scrape_url(url)
            status, _ = await post_async(client, async_example())
            assert status == 202

            async def job_and_send_counted() -> Samples | None:
                now = await scrape_url(url)
                jobs = value(now, "orderhub_jobs_total", **processed)
                sends = label_values(now, "orderhub_outbound_sends_total", "outcome")
                done = jobs > value(before, "orderhub_jobs_total", **processed) and "retry" in sends
                return now if done else None

            after = await wait_for_async(job_and_send_counted, 60, "a job and a send counted")
            # Its heartbeat came before its first job; a new app reads the workers afresh.
            async with app_client(create_app(settings)) as fresh:
                api_after = await scrape(fresh)
    assert value(after, "orderhub_job_duration_seconds_count", function="process_inbound") > 0
    systems = label_values(after, "orderhub_outbound_sends_total", "system")
    assert systems and systems <= {"SOM", "TOM"}, systems
    breakers = label_values(after, "orderhub_breaker_state", "system")
    assert systems <= breakers  # this process may hold breakers of earlier tests too
    assert all(value(after, "orderhub_breaker_state", system=s) in (0, 1, 2) for s in breakers)
    assert {"in_use", "idle"} <= label_values(after, "orderhub_db_pool_connections", "state")
    assert value(api_before, "orderhub_workers_alive") == 0
    assert value(api_after, "orderhub_workers_alive") == 1
    assert value(api_before, "orderhub_event_workers_alive") == 0
    assert value(api_after, "orderhub_event_workers_alive") == 1  # jobs "all" delivers too
