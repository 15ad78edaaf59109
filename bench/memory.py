"""Resident memory of the processes a phase runs, sampled while it runs.

Peak RSS is what a deployment sizes a container by; /proc is read directly, so sampling costs
a few file reads per process and no extra dependency. A process's children count on their own
(`orderhub serve` with several API processes is a parent that only waits).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from bench.servers import child_pids

SAMPLE_EVERY = 0.2


def rss_mb(pid: int) -> float | None:
    """VmRSS of a live process in MB, None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def process_tree(named: dict[str, int]) -> dict[str, int]:
    """Each named pid and its children, the children as `name/child-pid`."""
    tree = dict(named)
    for name, pid in named.items():
        for child in child_pids(pid):
            tree[f"{name}/{child}"] = child
    return tree


class RssSampler:
    """Peak and last RSS per process between `start` and `stop`."""

    def __init__(self, processes: Callable[[], dict[str, int]], every: float = SAMPLE_EVERY):
        self._processes = processes
        self._every = every
        self.peak: dict[str, float] = {}
        self.last: dict[str, float] = {}

    def sample(self) -> None:
        for name, pid in process_tree(self._processes()).items():
            value = rss_mb(pid)
            if value is None:
                continue
            self.last[name] = round(value, 1)
            self.peak[name] = round(max(value, self.peak.get(name, 0.0)), 1)

    async def _loop(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self._every)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[RssSampler]:
        task = asyncio.create_task(self._loop())
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self.sample()
