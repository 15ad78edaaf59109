"""The batch writer behind async accept: many concurrent requests, one statement and one commit.

Requests wait in a list while the writers are busy; a writer that finishes takes all of them.
Each request is answered only after the commit that holds its row, so a 202 always means
stored. At low load a batch is one request and nothing waits.

Several writers can run at once (`writers`), the next batch written while the last one's
answers go out. One is the default: while its batch commits, the process goes on reading the
next requests, and the batches come out about twice as large as with three, which costs
PostgreSQL less per entry; throughput was the same within the noise (2 API processes on 2
cores). Entries naming a product inventory are ordered: at most one batch
in flight holds any, so they get their sequence numbers, and commit, in arrival order.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from arq.connections import ArqRedis

from app import logs, metrics
from app.domain.inbound import NewEntry, Outcome, Queued, accept_outcomes, first_claimants
from app.services.jobs import BATCH_SIZE, PROCESS_INBOUND, chunks
from app.store import inbound

log = logs.get("orderhub.inbound")
MAX_BATCH = 500
WRITERS = 1
LINGER = 0.02  # seconds a writer keeps its connection for the next batch
ENQUEUE_LINGER = 0.025  # seconds accepted ids gather into one job before it is enqueued
_ENQUEUE_TIMEOUT = 5.0

Waiting = tuple[NewEntry, asyncio.Future[Outcome]]


class AcceptWriter:
    def __init__(self, pool: Any, redis: ArqRedis, *, writers: int = WRITERS) -> None:
        # Kept: on Python 3.11 every get_running_loop() is a getpid() system call.
        self._loop = asyncio.get_running_loop()
        self._pool = pool
        self._redis = redis
        self._writers = writers
        self._pending: list[Waiting] = []
        self._writing: set[asyncio.Task[None]] = set()
        self._ordered_in_flight = False
        self._arrived = asyncio.Event()
        self._to_enqueue: list[str] = []
        self._enqueuing: asyncio.Task[None] | None = None

    async def submit(self, entry: NewEntry) -> Outcome:
        """The entry's outcome, once known (and, when queued, committed)."""
        future: asyncio.Future[Outcome] = self._loop.create_future()
        self._pending.append((entry, future))
        self._arrived.set()
        self._dispatch()
        return await future

    def _dispatch(self) -> None:
        if self._pending and len(self._writing) < self._writers:
            task = asyncio.create_task(self._write_while_pending())
            self._writing.add(task)
            task.add_done_callback(self._writing.discard)

    def _take(self) -> tuple[list[Waiting], bool]:
        """The next batch in arrival order, and whether it holds ordered entries.

        Ordered entries stay pending while another batch holding some is in flight.
        """
        take_ordered = not self._ordered_in_flight
        batch: list[Waiting] = []
        rest: list[Waiting] = []
        for waiting in self._pending:
            if len(batch) < MAX_BATCH and (take_ordered or not waiting[0].refs):
                batch.append(waiting)
            else:
                rest.append(waiting)
        self._pending = rest
        ordered = take_ordered and any(entry.refs for entry, _ in batch)
        self._ordered_in_flight |= ordered
        return batch, ordered

    async def _write_while_pending(self) -> None:
        """Writes batch after batch on one connection, so none waits for the pool's reset;
        under load the next batch comes within LINGER and the connection is kept for it."""
        batch, ordered = self._take()
        try:
            if not batch:
                return
            async with self._pool.acquire() as conn:
                while batch:
                    entries = [entry for entry, _ in batch]
                    candidates, keys = first_claimants(entries)
                    busy, found = await inbound.accept(conn, candidates, keys)
                    metrics.INBOUND_BATCH_SIZE.observe(len(batch))
                    self._answer(batch, accept_outcomes(entries, busy, found))
                    if ordered:
                        self._ordered_in_flight = ordered = False
                    batch, ordered = self._take()
                    if not batch:
                        self._arrived.clear()
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(LINGER):
                                await self._arrived.wait()
                        batch, ordered = self._take()
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        finally:
            if ordered:
                self._ordered_in_flight = False
            self._writing.discard(asyncio.current_task())
            self._dispatch()

    def _answer(self, batch: list[Waiting], outcomes: list[Outcome]) -> None:
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if not future.done():
                future.set_result(outcome)
        self._to_enqueue += [o.order_id for o in outcomes if isinstance(o, Queued)]
        if self._to_enqueue and self._enqueuing is None:
            self._enqueuing = asyncio.create_task(self._enqueue())

    async def _enqueue(self) -> None:
        """After the commit and off the response path; if Redis is down the sweeper catches up.
        Ids accepted within ENQUEUE_LINGER, or while a job is being enqueued, go into one job
        (up to 100 a job): each enqueue is three round trips to Redis."""
        try:
            while self._to_enqueue:
                if len(self._to_enqueue) < BATCH_SIZE:
                    await asyncio.sleep(ENQUEUE_LINGER)
                ids, self._to_enqueue = self._to_enqueue, []
                try:
                    async with asyncio.timeout(_ENQUEUE_TIMEOUT):
                        for chunk in chunks(ids):
                            await self._redis.enqueue_job(PROCESS_INBOUND, chunk, _job_id=chunk[0])
                except Exception as exc:
                    log.warning("enqueue_failed", count=len(ids), error=repr(exc))
        finally:
            self._enqueuing = None

    async def close(self) -> None:
        for task in [*self._writing, self._enqueuing]:
            if task is not None:
                with contextlib.suppress(Exception):
                    await task
