"""An order as the store reads it back: its row and its child rows, for every renderer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class StoredOrder:
    order: dict[str, Any]
    parties: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    items: list[dict[str, Any]]
