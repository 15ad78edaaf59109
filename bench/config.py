"""What a run is asked to do: the BENCH_* knobs, the targets, and where files go.

Read once at start so that a bad knob stops the run before any server is started, and so that
the JSON can record exactly what the figures were measured with.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"

TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0
TARGET_DRAIN_2 = 1_000.0


def usable_cpus() -> int:
    """The CPUs this process may run on, which under a cgroup or taskset is fewer than the
    machine has: one API process per usable CPU is the default."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass(frozen=True)
class Config:
    seconds: int
    concurrency: int
    drain_seconds: int
    generator: str
    profile: bool
    api_processes: int

    @classmethod
    def from_env(cls) -> Config:
        def number(name: str, default: int, low: int, high: int) -> int:
            raw = os.environ.get(name, str(default))
            try:
                value = int(raw)
            except ValueError:
                raise SystemExit(f"bench: {name}={raw!r} must be a whole number") from None
            if not low <= value <= high:
                raise SystemExit(f"bench: {name}={raw!r} must be from {low} to {high}")
            return value

        generator = os.environ.get("BENCH_GENERATOR", "auto").strip().lower()
        if generator not in {"auto", "wrk", "python"}:
            raise SystemExit(f"bench: BENCH_GENERATOR={generator!r} must be auto, wrk or python")
        return cls(
            seconds=number("BENCH_SECONDS", 30, 1, 3600),
            concurrency=number("BENCH_CONCURRENCY", 64, 1, 1024),
            drain_seconds=number("BENCH_DRAIN_SECONDS", 60, 1, 3600),
            generator=generator,
            profile=os.environ.get("BENCH_PROFILE", "0").strip().lower() in {"1", "true", "yes"},
            api_processes=number("BENCH_API_PROCESSES", usable_cpus(), 1, 64),
        )
