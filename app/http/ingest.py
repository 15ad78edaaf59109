"""Accepting `mode=async` orders: many concurrent requests, one statement and one commit.

Requests wait in a list while a write is in progress; the next write takes all of them. Each
request is answered only after the commit that holds its row, so a 202 always means stored.
At low load a batch is one request and nothing waits.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from arq.connections import ArqRedis

from app import logs
from app.jobs import PROCESS_INBOUND, chunks
from app.store import inbound

log = logs.get("orderhub.ingest")
MAX_BATCH = 500
_ENQUEUE_TIMEOUT = 5.0


class Ingestor:
    def __init__(self, pool: Any, redis: ArqRedis) -> None:
        self._pool = pool
        self._redis = redis
        self._pending: list[tuple[inbound.Entry, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()

    async def submit(self, entry: inbound.Entry) -> None:
        """Returns once the entry's outcome is known (and, when accepted, committed)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((entry, future))
        self._wake.set()
        await future

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                await self._write_while_pending()

    def _take(self) -> list[tuple[inbound.Entry, asyncio.Future[None]]]:
        batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        return batch

    async def _write_while_pending(self) -> None:
        """Writes batch after batch on one connection, so none waits for the pool's reset."""
        batch = self._take()
        try:
            async with self._pool.acquire() as conn:
                while True:
                    await inbound.accept(conn, [entry for entry, _ in batch])
                    self._answer(batch)
                    if not self._pending:
                        return
                    batch = self._take()
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)

    def _answer(self, batch: list[tuple[inbound.Entry, asyncio.Future[None]]]) -> None:
        for _, future in batch:
            if not future.done():
                future.set_result(None)
        accepted = [e.id for e, _ in batch if e.outcome == (202, {"orderId": e.id})]
        if accepted:
            task = asyncio.create_task(self._enqueue(accepted))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _enqueue(self, ids: list[str]) -> None:
        """After the commit and off the response path; if Redis is down the sweeper catches up."""
        try:
            async with asyncio.timeout(_ENQUEUE_TIMEOUT):
                for chunk in chunks(ids):
                    await self._redis.enqueue_job(PROCESS_INBOUND, chunk, _job_id=chunk[0])
        except Exception as exc:
            log.warning("enqueue_failed", count=len(ids), error=repr(exc))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._background):
            with contextlib.suppress(Exception):
                await task

    def start(self) -> None:
        self._task = asyncio.create_task(self.run())
