"""The application factory: one place that wires settings, pools and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from app.http import (
    console,
    health,
    hub,
    inbound,
    keys,
    metrics,
    middlewares,
    openapi,
    operator,
    outbound,
    servicenow,
    tmf,
)
from app.http.auth_cache import AuthCache
from app.http.order_locks import OrderLocks
from app.services import events, jobs
from app.services.inbound_accept import AcceptWriter
from app.settings import Settings
from app.store import db


async def _postgres(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    app[keys.POOL] = await db.create_pool(
        settings.database_url,
        max_size=settings.orderhub_db_pool_size,
        connect_timeout=settings.orderhub_db_timeout,
        acquire_timeout=settings.orderhub_db_timeout,
        statement_timeout=settings.orderhub_statement_timeout_seconds,
        lock_timeout=settings.orderhub_lock_timeout_seconds,
    )
    yield
    await app[keys.POOL].close()


async def _redis(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    app[keys.REDIS] = jobs.connect(settings.redis_url, settings.orderhub_queue_name)
    yield
    await jobs.close(app[keys.REDIS])


async def _accept_writer(app: web.Application) -> AsyncIterator[None]:
    writer = AcceptWriter(app[keys.POOL], app[keys.REDIS])
    app[keys.ACCEPT_WRITER] = writer
    yield
    await writer.close()


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[middlewares.api, console.middleware],
        client_max_size=settings.orderhub_max_body_bytes,
    )
    app[keys.SETTINGS] = settings
    events.configure(settings)
    app[keys.AUTH_CACHE] = AuthCache(
        settings.orderhub_auth_cache_seconds, recheck=settings.orderhub_auth_recheck_seconds
    )
    app[keys.ORDER_LOCKS] = OrderLocks()
    # The only handlers that read JSON labelled as a form (curl --data); see middlewares.
    app[keys.FORM_JSON_HANDLERS] = frozenset({outbound.outbound_response})
    app.cleanup_ctx.extend([_postgres, _redis, _accept_writer])
    health.setup(app)
    metrics.setup(app)
    operator.setup(app)
    servicenow.setup(app)
    tmf.setup(app)
    hub.setup(app)
    openapi.setup(app)
    inbound.setup(app)
    outbound.setup(app)
    console.setup(app)
    return app
