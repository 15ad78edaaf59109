"""What workers report about themselves in Redis, and how the console reads it back.

Each worker already writes a heartbeat key with a TTL (workers/heartbeat.py). Beside it, it
adds itself to one sorted set per queue, scored by the time of its last heartbeat, and writes
its circuit breakers' states under a key of its own with the same TTL. Readers then find the
live workers with one range read of the set, never a scan of the keyspace (which holds every
queued job), and their breakers with one MGET. A worker that died stops refreshing both: its
entry falls out of the time range and its breaker key expires.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

REPORT_TTL_SECONDS: Final = 30
"""How long a worker's report stays readable after its last heartbeat (every 10 s)."""


def workers_key(queue_name: str) -> str:
    return f"{queue_name}:workers"


def delivering_key(queue_name: str) -> str:
    """The workers that deliver events (ORDERHUB_WORKER_JOBS all or events), scored alike."""
    return f"{queue_name}:workers:events"


def breakers_key(queue_name: str, worker: str) -> str:
    """Not under `{queue}:worker:`, which heartbeat_pattern matches."""
    return f"{queue_name}:breakers:{worker}"


@dataclass(frozen=True)
class BreakerState:
    worker: str
    target: str
    state: str  # closed | open | half_open
    failures: int
    retry_in_seconds: float
    reported_at: float  # Unix time

    def to_json(self) -> dict[str, Any]:
        return {
            "worker": self.worker,
            "target": self.target,
            "state": self.state,
            "failures": self.failures,
            "retryInSeconds": round(self.retry_in_seconds, 1),
            "reportedAt": self.reported_at,
        }


def encode_breakers(states: Iterable[BreakerState]) -> str:
    return json.dumps([s.to_json() for s in states])


def decode_breakers(raw: bytes | str | None) -> list[BreakerState]:
    """A worker's report; nothing for a missing or unreadable one (a report is a hint, and a
    page must show the others)."""
    if raw is None:
        return []
    try:
        items = json.loads(raw)
        return [
            BreakerState(
                str(i["worker"]),
                str(i["target"]),
                str(i["state"]),
                int(i["failures"]),
                float(i["retryInSeconds"]),
                float(i["reportedAt"]),
            )
            for i in items
        ]
    except (ValueError, TypeError, KeyError):
        return []


def by_target(states: Iterable[BreakerState]) -> dict[str, list[BreakerState]]:
    """Each system's breakers, one per live worker; workers keep their own breaker, so a
    system can be open on one worker and closed on another."""
    grouped: dict[str, list[BreakerState]] = {}
    for state in sorted(states, key=lambda s: (s.target, s.worker)):
        grouped.setdefault(state.target, []).append(state)
    return grouped


def summary(states: Iterable[BreakerState]) -> str:
    """One word for a system: open when any worker's breaker is open."""
    seen = {s.state for s in states}
    for word in ("open", "half_open", "closed"):
        if word in seen:
            return word
    return "unknown"


def alive_since(now: float) -> float:
    """The oldest heartbeat score that still counts as alive."""
    return now - REPORT_TTL_SECONDS


def breaker_states_of(
    reports: Mapping[str, bytes | str | None],
) -> list[BreakerState]:
    return [state for raw in reports.values() for state in decode_breakers(raw)]
