"""Connection pool, connections, and the one test for "the database is unreachable"."""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from app.domain import jsontext

if TYPE_CHECKING:
    Connection: TypeAlias = asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any]
    _Pool: TypeAlias = asyncpg.Pool[Any]
    _AcquireContext: TypeAlias = asyncpg.pool.PoolAcquireContext[Any]
else:
    Connection = asyncpg.Connection
    _Pool = asyncpg.Pool
    _AcquireContext = asyncpg.pool.PoolAcquireContext

# The client-side limit on a statement is the server's plus this: PostgreSQL's own cancel comes
# first (a clean QueryCanceledError), the client's is for a server that stopped answering.
_CLIENT_MARGIN_SECONDS = 5.0
_COMMAND_TIMEOUT_SECONDS = 30.0

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
    return isinstance(exc, UNAVAILABLE_ERRORS) or _lost_mid_operation(exc)


def _lost_mid_operation(exc: BaseException) -> bool:
    """A connection the server dropped while an operation was in flight (a fast shutdown) is
    left in a state asyncpg's protocol refuses to move on from; the next use of it says so.
    Nothing else raises that message: other internal errors stay bugs."""
    return isinstance(exc, asyncpg.exceptions.InternalClientError) and str(exc).startswith(
        "cannot switch to state"
    )


def is_lock_timeout(exc: BaseException) -> bool:
    """lock_timeout ran out: another transaction holds the row; worth a retry soon."""
    return isinstance(exc, asyncpg.exceptions.LockNotAvailableError)


def is_statement_timeout(exc: BaseException) -> bool:
    """statement_timeout ran out (or an operator cancelled the statement)."""
    return isinstance(exc, asyncpg.exceptions.QueryCanceledError)


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


class _CountedAcquire(asyncpg.pool.PoolAcquireContext):
    """An acquire that counts itself in its pool's `waiting` until it has a connection."""

    __slots__ = ()

    async def __aenter__(self) -> Any:
        pool: BoundedPool = self.pool  # type: ignore[assignment]
        pool.waiting += 1
        try:
            return await super().__aenter__()
        finally:
            pool.waiting -= 1

    def __await__(self) -> Generator[Any, None, Any]:
        pool: BoundedPool = self.pool  # type: ignore[assignment]
        pool.waiting += 1
        try:
            return (yield from super().__await__())
        finally:
            pool.waiting -= 1


class BoundedPool(_Pool):
    """A pool whose acquire() gives up after `acquire_timeout` unless told otherwise, and
    counts the acquires waiting for a connection (the orderhub_db_pool_waiting gauge).

    Pool.fetch/fetchrow/fetchval acquire through acquire() too, so every caller, those that
    never name a timeout included, waits for a busy pool at most this long; the limit also
    bounds the reset on release (asyncpg reuses the acquire timeout there).
    """

    __slots__ = ("_acquire_timeout", "waiting")

    def __init__(self, *args: Any, acquire_timeout: float | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._acquire_timeout = acquire_timeout
        self.waiting = 0

    def acquire(self, *, timeout: float | None = None) -> _AcquireContext:
        return _CountedAcquire(self, self._acquire_timeout if timeout is None else timeout)


def _server_settings(statement_timeout: float | None, lock_timeout: float | None) -> dict[str, str]:
    """Set at connect, so that a connection never runs a statement without them."""
    limits = {"statement_timeout": statement_timeout, "lock_timeout": lock_timeout}
    return {name: str(round(seconds * 1000)) for name, seconds in limits.items() if seconds}


async def create_pool(
    dsn: str,
    *,
    max_size: int = 10,
    connect_timeout: float = 5,
    acquire_timeout: float | None = None,
    statement_timeout: float | None = None,
    lock_timeout: float | None = None,
) -> asyncpg.Pool[Any]:
    """min_size 0: the process starts (and answers 503) even while PostgreSQL is down.

    The limits default to none (the workers' pool); the API names all three.
    """
    command_timeout = (
        statement_timeout + _CLIENT_MARGIN_SECONDS
        if statement_timeout
        else _COMMAND_TIMEOUT_SECONDS
    )
    pool: asyncpg.Pool[Any] = await BoundedPool(
        dsn,
        acquire_timeout=acquire_timeout,
        min_size=0,
        max_size=max_size,
        max_queries=50_000,
        max_inactive_connection_lifetime=60,
        init=_init_connection,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        timeout=connect_timeout,
        command_timeout=command_timeout,
        server_settings=_server_settings(statement_timeout, lock_timeout),
    )
    return pool


async def connect(dsn: str, *, connect_timeout: float = 10) -> asyncpg.Connection[Any]:
    conn: asyncpg.Connection[Any] = await asyncpg.connect(dsn, timeout=connect_timeout)
    await _init_connection(conn)
    return conn
