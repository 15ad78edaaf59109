"""GET /metrics, the Prometheus exposition of the API, without authentication as /health is:
it holds counts and durations, no order data. docs/operations.md lists the metrics."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from app import metrics
from app.http import keys
from app.services.gauges import SharedGauges

PATH = "/metrics"
POOL_SAMPLE_SECONDS = 1.0

# One histogram child per (method, route, status), found once: labels() costs more than the
# observation itself.
_children: dict[tuple[str, str, int], Any] = {}


def observe_request(request: web.Request, status: int, seconds: float) -> None:
    """One answered request, by route template (never the raw path) and status."""
    resource = request.match_info.route.resource
    route = metrics.UNMATCHED_ROUTE if resource is None else resource.canonical
    method = request.method if request.method in metrics.HTTP_METHODS else metrics.OTHER_METHOD
    key = (method, route, status)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metrics.HTTP_REQUEST_DURATION.labels(method, route, str(status))
    child.observe(seconds)


async def scrape(request: web.Request) -> web.Response:
    metrics.sample_pool(keys.pool(request))
    families = await request.app[keys.GAUGES].families()
    body = metrics.render([families])
    return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE})


async def _sample_pool(app: web.Application) -> None:
    """Each API process's pool gauges, kept current for a scrape another process answers."""
    while True:
        metrics.sample_pool(app[keys.POOL])
        await asyncio.sleep(POOL_SAMPLE_SECONDS)


async def _gauges(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    app[keys.GAUGES] = SharedGauges(app[keys.POOL], app[keys.REDIS], settings.orderhub_queue_name)
    sampler = None
    if metrics.multiprocess_dir() is not None:
        sampler = asyncio.create_task(_sample_pool(app))
    yield
    if sampler is not None:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(_gauges)
    app.router.add_get(PATH, scrape)
