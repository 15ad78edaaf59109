"""CPU seconds by who used them over one window: the API, the workers, PostgreSQL and Redis.

Everything shares a small machine, so a rate means little without where the CPU went: a
window whose workers used a core each is bound by the workers, one whose PostgreSQL did is
bound by the database. Read from /proc (PostgreSQL: its postmaster's tree) and from Redis's own
INFO, before and after the window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.servers import busy_fraction, machine_ticks, server_cpu_seconds, tree_cpu_seconds

Snapshot = dict[str, float | None]


async def redis_cpu_seconds(redis_url: str) -> float | None:
    """Redis's user + system CPU seconds, its forks included, from INFO cpu."""
    from app.services import jobs

    client = jobs.client(redis_url)
    try:
        info: dict[str, Any] = await client.info("cpu")
    except Exception:
        return None
    finally:
        await jobs.close(client)
    keys = ("used_cpu_user", "used_cpu_sys", "used_cpu_user_children", "used_cpu_sys_children")
    return sum(float(info.get(key, 0.0)) for key in keys)


def group_seconds(pids: list[int]) -> float | None:
    """Summed CPU seconds of some processes and their children; None if none is readable."""
    values = [tree_cpu_seconds(pid) for pid in pids]
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def delta(before: Snapshot, after: Snapshot) -> Snapshot:
    """after - before for each name both hold a figure for, rounded to 0.01 s."""
    out: Snapshot = {}
    for name, first in before.items():
        last = after.get(name)
        out[name] = round(last - first, 2) if first is not None and last is not None else None
    return out


@dataclass
class CpuWindow:
    """`await start()`, the window, `await stop()`: then `seconds` by name and `cores` (CPU
    seconds per wall second) say who was busy."""

    groups: dict[str, list[int]]
    postgres_pid: int | None
    redis_url: str
    seconds: Snapshot = field(default_factory=dict)
    machine_busy: float | None = None
    _before: Snapshot = field(default_factory=dict)
    _ticks: tuple[int, int] | None = None

    async def _snapshot(self) -> Snapshot:
        snap: Snapshot = {name: group_seconds(pids) for name, pids in self.groups.items()}
        snap["postgres"] = (
            server_cpu_seconds(self.postgres_pid) if self.postgres_pid is not None else None
        )
        snap["redis"] = await redis_cpu_seconds(self.redis_url)
        return snap

    async def start(self) -> None:
        self._before = await self._snapshot()
        self._ticks = machine_ticks()

    async def stop(self) -> Snapshot:
        self.seconds = delta(self._before, await self._snapshot())
        self.machine_busy = busy_fraction(self._ticks, machine_ticks())
        return self.seconds


def cores(seconds: Snapshot, wall: float) -> dict[str, float | None]:
    """CPU seconds per wall second: 1.0 is one core kept busy for the whole window."""
    return {
        name: round(value / wall, 2) if value is not None and wall > 0 else None
        for name, value in seconds.items()
    }


def cores_text(seconds: Snapshot, wall: float) -> str:
    """`workers 0.95, postgres 0.42, redis 0.03 cores` for a progress line or the table."""
    parts = [
        f"{name} {value:.2f}" for name, value in cores(seconds, wall).items() if value is not None
    ]
    return (", ".join(parts) + " cores") if parts else "CPU not readable"
