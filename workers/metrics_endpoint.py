"""GET /metrics of one worker process, on ORDERHUB_WORKER_METRICS_HOST and
ORDERHUB_WORKER_METRICS_PORT (0: none), served by the worker's own event loop.

Each worker process has its own counters and breakers, so each is scraped on a port of its
own (docs/operations.md says how to give several workers on one host theirs).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from app import metrics
from workers.metrics import BreakerStates

PATH = "/metrics"


class MetricsEndpoint:
    def __init__(self, host: str, port: int, pool: Any) -> None:
        self._host = host
        self._port = port
        self._pool = pool
        app = web.Application()
        app.router.add_get(PATH, self._scrape)
        self._runner = web.AppRunner(app, access_log=None)

    async def _scrape(self, _request: web.Request) -> web.Response:
        metrics.sample_pool(self._pool)
        body = metrics.render([BreakerStates()])
        return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE})

    async def start(self) -> str:
        """The URL it answers on."""
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        return f"http://{self._host}:{self._port}{PATH}"

    async def stop(self) -> None:
        await self._runner.cleanup()
