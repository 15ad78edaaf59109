"""What the stub received, in memory, oldest first; accepted orders are unique per system."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Received:
    system: str
    external_id: str
    order: dict[str, Any]
    answer: int
    answer_body: dict[str, Any]
    received_at: str = field(default_factory=now)
    duplicates: int = 0
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    traceparent: str | None = None  # the header as received
    trace: tuple[str, str] | None = None  # its (trace id, flags), when valid

    def to_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "externalId": self.external_id,
            "receivedAt": self.received_at,
            "answer": self.answer,
            "duplicates": self.duplicates,
            "traceparent": self.traceparent,
            "order": self.order,
            "callbacks": list(self.callbacks),
        }


class Registry:
    """Every request answered, and an index of the accepted ones by (system, externalId)."""

    def __init__(self) -> None:
        self._all: list[Received] = []
        self._accepted: dict[tuple[str, str], Received] = {}

    def accepted(self, system: str, external_id: str) -> Received | None:
        return self._accepted.get((system, external_id))

    def add(self, record: Received) -> None:
        self._all.append(record)
        if record.answer == 201:
            self._accepted[(record.system, record.external_id)] = record

    def clear(self) -> None:
        self._all.clear()
        self._accepted.clear()

    def to_json(self) -> list[dict[str, Any]]:
        return [record.to_json() for record in self._all]
