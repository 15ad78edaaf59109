"""Connection pool, connections, and the one test for "the database is unreachable"."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from app.domain import jsontext

if TYPE_CHECKING:
    Connection: TypeAlias = asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any]
else:
    Connection = asyncpg.Connection

# Raised by asyncpg or the socket layer when PostgreSQL is down, restarting or cut off.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InterfaceError,
)


def is_unavailable(exc: BaseException) -> bool:
    return isinstance(exc, UNAVAILABLE_ERRORS)


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: the database is away, or lost a race it asks us to run again."""
    return is_unavailable(exc) or isinstance(
        exc, asyncpg.exceptions.DeadlockDetectedError | asyncpg.exceptions.SerializationError
    )


async def _init_connection(conn: asyncpg.Connection[Any]) -> None:
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename, encoder=jsontext.dumps, decoder=jsontext.loads, schema="pg_catalog"
        )


async def create_pool(
    dsn: str, *, max_size: int = 10, connect_timeout: float = 5
) -> asyncpg.Pool[Any]:
    """min_size 0: the process starts (and answers 503) even while PostgreSQL is down."""
    pool: asyncpg.Pool[Any] = await asyncpg.create_pool(
        dsn,
        min_size=0,
        max_size=max_size,
        timeout=connect_timeout,
        command_timeout=30,
        init=_init_connection,
        max_inactive_connection_lifetime=60,
    )
    return pool


async def connect(dsn: str, *, connect_timeout: float = 10) -> asyncpg.Connection[Any]:
    conn: asyncpg.Connection[Any] = await asyncpg.connect(dsn, timeout=connect_timeout)
    await _init_connection(conn)
    return conn
