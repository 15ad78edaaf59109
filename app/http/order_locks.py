"""One callback at a time per order in this process, waited for without a database connection.

A callback locks its order's row for the whole of its transaction, so callbacks of one order
run one after the other. Waiting for that row lock inside PostgreSQL would hold a pool
connection per waiting callback: thousands of callbacks for one large order would take every
connection and stall requests for all other orders. Here they queue in memory instead, and at
most one connection per API process waits on any one order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable

from app.domain.errors import ApiError, ErrorKind


class OrderLocks:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def holding(
        self, order_ids: Iterable[str], *, wait_seconds: float
    ) -> AsyncIterator[None]:
        """Holds the locks of the orders, taken in sorted order so that two callbacks naming
        the same orders cannot wait for each other. A wait past `wait_seconds` is the same
        answer as a row lock held too long in PostgreSQL: busy, retry (409)."""
        wanted = sorted(set(order_ids))
        for order_id in wanted:
            self._users[order_id] = self._users.get(order_id, 0) + 1
            self._locks.setdefault(order_id, asyncio.Lock())
        taken: list[asyncio.Lock] = []
        try:
            try:
                async with asyncio.timeout(wait_seconds):
                    for order_id in wanted:
                        lock = self._locks[order_id]
                        await lock.acquire()
                        taken.append(lock)
            except TimeoutError:
                raise ApiError(
                    ErrorKind.BUSY, "The order is busy with other callbacks; retry."
                ) from None
            yield
        finally:
            for lock in taken:
                lock.release()
            for order_id in wanted:
                self._users[order_id] -= 1
                if not self._users[order_id]:
                    del self._users[order_id], self._locks[order_id]

    def __len__(self) -> int:
        """Orders with a callback running or waiting."""
        return len(self._locks)
