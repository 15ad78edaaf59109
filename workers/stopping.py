"""How a worker stops on SIGTERM or SIGINT: it takes no new job, lets the running ones finish
for ORDERHUB_SHUTDOWN_SECONDS, and hands the others back to the queue for another worker.

arq's own handler (job_completion_wait) cancels each job's whole run_job task once the wait is
over. A run_job cancelled outside the job function (reading the job, or recording its end)
raises out of Worker.close: the process exits 1 without its on_shutdown, and the job stays
marked in progress until the mark expires (the longest job timeout plus 10 s). Here only the
job functions are cancelled: run_job then records each as to be run again (retry_jobs) and
clears its mark, so another worker takes it at once. Jobs are started one at a time and none
after the signal, so that the stop never cuts a start short, which too would leave a job marked
in progress. Every job is idempotent (DESIGN.md): a job cut short is simply run again.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
from typing import Any

from app import logs
from workers.outage import OutageTolerantWorker

log = logs.get("orderhub.worker")
# Seconds the cancelled jobs are given to record that they are to be run again.
HAND_BACK_SECONDS = 5.0
_POLL = 0.05


class StoppingWorker(OutageTolerantWorker):
    def __init__(self, *, shutdown_seconds: float, **kwargs: Any) -> None:
        # A wait given to arq makes it call handle_sig_wait_for_completion on a signal.
        super().__init__(job_completion_wait=math.ceil(shutdown_seconds), **kwargs)
        self.shutdown_seconds = shutdown_seconds
        self._stopping: asyncio.Task[None] | None = None
        self._not_starting = asyncio.Event()
        self._not_starting.set()

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """One by one, and none once stopping: a start cut short by the stop would leave its
        job marked in progress, never run."""
        self._not_starting.clear()
        try:
            for job_id in job_ids:
                if not self.allow_pick_jobs:
                    return
                await super().start_jobs([job_id])
        finally:
            self._not_starting.set()

    def handle_sig_wait_for_completion(self, signum: signal.Signals) -> None:
        self.allow_pick_jobs = False
        if self._stopping is None:
            log.info("worker_stopping", signal=signal.Signals(signum).name, running=self._running())
            self._stopping = self.loop.create_task(self._stop(signal.Signals(signum)))

    def _running(self) -> int:
        return sum(not task.done() for task in self.tasks.values())

    async def _stop(self, signum: signal.Signals) -> None:
        deadline = self.loop.time() + self.shutdown_seconds
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(deadline):
                await self._not_starting.wait()
        await self._until_idle(deadline - self.loop.time(), cancel_jobs=False)
        handed_back = self._running()
        await self._until_idle(HAND_BACK_SECONDS, cancel_jobs=True)
        stuck = [task for task in self.tasks.values() if not task.done()]
        for task in stuck:
            task.cancel()
        await asyncio.gather(*stuck, return_exceptions=True)
        # Worker.close gathers these again: a cancelled one would raise there.
        self.tasks = {job: task for job, task in self.tasks.items() if not task.cancelled()}
        log.info("worker_jobs_handed_back", jobs=handed_back, cut_off=len(stuck))
        if self.main_task is not None:
            self.main_task.cancel()
        if self.on_stop is not None:
            self.on_stop(signum)

    async def _until_idle(self, seconds: float, *, cancel_jobs: bool) -> None:
        """Until no job runs, or `seconds`; with `cancel_jobs`, cancelling each job function,
        including those that start meanwhile."""
        deadline = self.loop.time() + seconds
        while self._running() and self.loop.time() < deadline:
            if cancel_jobs:
                for task in self.job_tasks.values():
                    task.cancel()
            await asyncio.sleep(_POLL)
