"""Reference records an order is checked against, as the store hands them to the rules.

Specifications and inventories are the catalogue's own records (app.domain.catalog).

The store fetches every record an order names in a fixed number of queries; the rules then
decide without further I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.domain.catalog import Characteristic, Inventory, NamedRecord, Specification


@dataclass(frozen=True)
class Party:
    sys_id: str
    external_id: str | None
    name: str
    kind: str  # account | contact | consumer


@dataclass
class References:
    """Records found for the ids an order names, keyed by every id they answer to."""

    parties: dict[str, Party] = field(default_factory=dict)
    locations: dict[str, NamedRecord] = field(default_factory=dict)
    offerings: dict[str, NamedRecord] = field(default_factory=dict)
    inventories: dict[str, Inventory] = field(default_factory=dict)
    # Every version of each specification named, keyed by initial_version and external_id.
    specifications: dict[str, list[Specification]] = field(default_factory=dict)
    # Specifications by their own (version) sys_id, for inventories.
    specification_versions: dict[str, Specification] = field(default_factory=dict)

    def party(self, ref: str, kind: str) -> Party | None:
        found = self.parties.get(f"{kind}:{ref}")
        return found


@dataclass
class ReferenceIds:
    """Every id an order names, by table: what the store must fetch."""

    accounts: set[str] = field(default_factory=set)
    contacts: set[str] = field(default_factory=set)
    consumers: set[str] = field(default_factory=set)
    locations: set[str] = field(default_factory=set)
    offerings: set[str] = field(default_factory=set)
    inventories: set[str] = field(default_factory=set)
    specifications: set[str] = field(default_factory=set)

    def merge(self, other: ReferenceIds) -> None:
        """Adds another order's ids, so one fetch serves a whole batch."""
        for name in (
            "accounts",
            "contacts",
            "consumers",
            "locations",
            "offerings",
            "inventories",
            "specifications",
        ):
            getattr(self, name).update(getattr(other, name))


__all__ = [
    "Characteristic",
    "Inventory",
    "NamedRecord",
    "Party",
    "ReferenceIds",
    "References",
    "Specification",
]
