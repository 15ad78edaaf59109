"""Typed keys for what the application holds between requests."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web
from arq.connections import ArqRedis

from app.http.auth_cache import AuthCache, User
from app.http.order_locks import OrderLocks
from app.services.inbound_accept import AcceptWriter
from app.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
REDIS = web.AppKey("redis", ArqRedis)
ACCEPT_WRITER = web.AppKey("accept_writer", AcceptWriter)
AUTH_CACHE = web.AppKey("auth_cache", AuthCache)
ORDER_LOCKS = web.AppKey("order_locks", OrderLocks)

USER = web.RequestKey("user", User)
REQUEST_ID = web.RequestKey("request_id", str)


def pool(request: web.Request) -> asyncpg.Pool[Any]:
    return request.app[POOL]
