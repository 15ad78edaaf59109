"""Liveness and readiness, without authentication, for load balancers and orchestrators."""

from __future__ import annotations

import asyncio

from aiohttp import web

from app.domain.errors import ApiError, ErrorKind
from app.http import keys
from app.http.middlewares import ok_json

_CHECK_TIMEOUT = 2.0


async def health(_request: web.Request) -> web.Response:
    return ok_json({"status": "up"})


async def ready(request: web.Request) -> web.Response:
    """200 only when both PostgreSQL and Redis answer within the timeout."""
    failures: list[str] = []
    try:
        async with asyncio.timeout(_CHECK_TIMEOUT):
            await keys.pool(request).fetchval("SELECT 1")
    except Exception as exc:
        failures.append(f"PostgreSQL unreachable ({type(exc).__name__})")
    try:
        async with asyncio.timeout(_CHECK_TIMEOUT):
            await request.app[keys.REDIS].ping()
    except Exception as exc:
        failures.append(f"Redis unreachable ({type(exc).__name__})")
    if failures:
        raise ApiError(ErrorKind.UNAVAILABLE, "; ".join(failures) + ".")
    return ok_json({"status": "ready", "postgres": "up", "redis": "up"})


def setup(app: web.Application) -> None:
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
