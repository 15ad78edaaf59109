"""What a run is asked to do: the BENCH_* knobs, the phases, the targets, and where files go.

Read once at start so that a bad knob or an unknown phase stops the run before any server is
started, and so that the JSON can record exactly what the figures were measured with.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"

# Every phase, in the order a run takes them; BENCH_PHASES picks some, the order stays this.
PHASES = ("ingest", "capacity", "latency", "drain", "recovery", "events", "memory", "reads")

# Targets: printed beside the figures, never asserted.
TARGET_RATIO = 0.75  # ingest accepted/s over the ceiling's tps
TARGET_P99_MS = 50.0  # 202 p99 under closed-loop load (ingest, capacity)
TARGET_CAPACITY_RATIO = 0.2  # capacity processed/s over the ceiling's tps
TARGET_DONE_P99_S = 1.0  # latency: 202 -> done p99 at the highest offered rate
TARGET_DRAIN_SCALING = 1.7  # drain: 2 workers over 1 worker
TARGET_DRAIN_2 = 3_000.0  # drain: orders/s with 2 workers
TARGET_RECOVERY_RATIO = 0.8  # recovery: processed/s after a Redis loss over the API-fed drain
TARGET_RSS_MB = 150.0  # memory: peak RSS of any one API or worker process
TARGET_RSS_GROWTH = 0.2  # memory: RSS after the bad input within this share of before
# Backlog "flat": its least-squares slope under this share of the arrival rate.
FLAT_SHARE = 0.05

CAPACITY_WORKERS = 2
LATENCY_WORKERS = 2
DRAIN_WORKERS = (1, 2, 4)
RECOVERY_WORKERS = 2
LATENCY_RATES = (250, 500, 1_000)


def usable_cpus() -> int:
    """The CPUs this process may run on, which under a cgroup or taskset is fewer than the
    machine has: one API process per usable CPU is the default."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def parse_phases(raw: str) -> tuple[str, ...]:
    """BENCH_PHASES as the phases to run, in run order; SystemExit naming any unknown one.

    Empty means all. Order and repeats in the knob do not matter: a phase depends on what
    earlier ones leave (the ceiling, the queue), so the run order is always PHASES'."""
    names = [name.strip().lower() for name in raw.split(",") if name.strip()]
    if not names:
        return PHASES
    unknown = [name for name in names if name not in PHASES]
    if unknown:
        raise SystemExit(
            f"bench: BENCH_PHASES names unknown phase(s) {', '.join(unknown)}; "
            f"known: {','.join(PHASES)}"
        )
    return tuple(phase for phase in PHASES if phase in names)


def _number(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"bench: {name}={raw!r} must be a whole number") from None
    if not low <= value <= high:
        raise SystemExit(f"bench: {name}={raw!r} must be from {low} to {high}")
    return value


def parse_rates(raw: str) -> tuple[int, ...]:
    """BENCH_LATENCY_RATES: offered orders/s, each a whole number from 1 to 20,000."""
    try:
        rates = tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise SystemExit(f"bench: BENCH_LATENCY_RATES={raw!r} must be whole numbers") from None
    if not rates or not all(1 <= rate <= 20_000 for rate in rates):
        raise SystemExit(f"bench: BENCH_LATENCY_RATES={raw!r} must be from 1 to 20000 each")
    return rates


@dataclass(frozen=True)
class Config:
    seconds: int
    concurrency: int
    drain_seconds: int
    generator: str
    profile: bool
    api_processes: int
    phases: tuple[str, ...] = PHASES
    latency_seconds: int = 30
    latency_rates: tuple[int, ...] = LATENCY_RATES
    recovery_entries: int = 100_000
    recovery_seconds: int = 60

    @property
    def needs_ceiling(self) -> bool:
        """Every ratio divides by the ceiling, so it runs whenever ingest or capacity does."""
        return "ingest" in self.phases or "capacity" in self.phases

    @classmethod
    def from_env(cls) -> Config:
        generator = os.environ.get("BENCH_GENERATOR", "auto").strip().lower()
        if generator not in {"auto", "wrk", "python"}:
            raise SystemExit(f"bench: BENCH_GENERATOR={generator!r} must be auto, wrk or python")
        return cls(
            seconds=_number("BENCH_SECONDS", 30, 1, 3600),
            concurrency=_number("BENCH_CONCURRENCY", 64, 1, 1024),
            drain_seconds=_number("BENCH_DRAIN_SECONDS", 20, 1, 3600),
            generator=generator,
            profile=os.environ.get("BENCH_PROFILE", "0").strip().lower() in {"1", "true", "yes"},
            api_processes=_number("BENCH_API_PROCESSES", usable_cpus(), 1, 64),
            phases=parse_phases(os.environ.get("BENCH_PHASES", "")),
            latency_seconds=_number("BENCH_LATENCY_SECONDS", 30, 1, 3600),
            latency_rates=parse_rates(
                os.environ.get("BENCH_LATENCY_RATES", ",".join(map(str, LATENCY_RATES)))
            ),
            recovery_entries=_number("BENCH_RECOVERY_ENTRIES", 100_000, 1_000, 1_000_000),
            recovery_seconds=_number("BENCH_RECOVERY_SECONDS", 60, 5, 3600),
        )
