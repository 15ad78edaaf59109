"""Typed keys for what the application holds between requests."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web
from aiohttp.typedefs import Handler
from arq.connections import ArqRedis

from app.domain.trace_context import TraceContext
from app.http.auth_cache import AuthCache, User
from app.http.order_locks import OrderLocks
from app.services.gauges import SharedGauges
from app.services.inbound_accept import AcceptWriter
from app.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
REDIS = web.AppKey("redis", ArqRedis)
ACCEPT_WRITER = web.AppKey("accept_writer", AcceptWriter)
AUTH_CACHE = web.AppKey("auth_cache", AuthCache)
ORDER_LOCKS = web.AppKey("order_locks", OrderLocks)
GAUGES = web.AppKey("gauges", SharedGauges)

# Handlers that take JSON labelled as a form (app.http.middlewares): those of outboundresponse.
FORM_JSON_HANDLERS = web.AppKey[frozenset[Handler]]("form_json_handlers")

USER = web.RequestKey("user", User)
REQUEST_ID = web.RequestKey("request_id", str)
# This request's span: a child of the caller's `traceparent`, or the first of a new trace.
TRACE = web.RequestKey("trace", TraceContext)


def pool(request: web.Request) -> asyncpg.Pool[Any]:
    """The API's pool: its acquire() gives up after ORDERHUB_DB_TIMEOUT (app.store.db
    BoundedPool), so a busy pool answers 503 rather than holding the request."""
    return request.app[POOL]
