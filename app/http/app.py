"""The application factory: one place that wires settings, pools and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from app import jobs
from app.http import (
    fulfilment,
    health,
    keys,
    middlewares,
    openapi,
    operator,
    queue,
    service_orders,
    tmf_api,
)
from app.http.auth_cache import AuthCache
from app.http.ingest import Ingestor
from app.settings import Settings
from app.store import db


async def _postgres(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    app[keys.POOL] = await db.create_pool(
        settings.database_url,
        max_size=settings.orderhub_db_pool_size,
        connect_timeout=settings.orderhub_db_timeout,
    )
    yield
    await app[keys.POOL].close()


async def _redis(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    app[keys.REDIS] = jobs.connect(settings.redis_url, settings.orderhub_queue_name)
    yield
    await app[keys.REDIS].aclose()


async def _ingestor(app: web.Application) -> AsyncIterator[None]:
    ingestor = Ingestor(app[keys.POOL], app[keys.REDIS])
    app[keys.INGESTOR] = ingestor
    yield
    await ingestor.close()


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[middlewares.api],
        client_max_size=settings.orderhub_max_body_bytes,
    )
    app[keys.SETTINGS] = settings
    app[keys.AUTH_CACHE] = AuthCache(settings.orderhub_auth_cache_seconds)
    app.cleanup_ctx.extend([_postgres, _redis, _ingestor])
    health.setup(app)
    operator.setup(app)
    service_orders.setup(app)
    tmf_api.setup(app)
    openapi.setup(app)
    queue.setup(app)
    fulfilment.setup(app)
    return app
