"""Reference records an order is checked against, as the store hands them to the rules.

The store fetches every record an order names in a fixed number of queries; the rules then
decide without further I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.domain.catalog import option_key


@dataclass(frozen=True)
class Party:
    sys_id: str
    external_id: str | None
    name: str
    kind: str  # account | contact | consumer


@dataclass(frozen=True)
class Location:
    sys_id: str
    external_id: str | None


@dataclass(frozen=True)
class Offering:
    sys_id: str
    external_id: str | None


@dataclass(frozen=True)
class CharacteristicSpec:
    name: str
    value_type: str
    options: tuple[str, ...]

    def allows(self, value: str) -> bool:
        if not self.options:
            return True
        wanted = option_key(value)
        return any(option_key(option) == wanted for option in self.options)


@dataclass(frozen=True)
class Specification:
    sys_id: str
    initial_version: str
    external_id: str | None
    name: str
    internal_version: int
    version: str
    status: str
    service_type: str
    ponr_state: str
    characteristics: tuple[CharacteristicSpec, ...]

    def characteristic(self, name: str) -> CharacteristicSpec | None:
        wanted = name.strip().casefold()
        for spec in self.characteristics:
            if spec.name.strip().casefold() == wanted:
                return spec
        return None

    @classmethod
    def from_row(cls, row: Any) -> Specification:
        return cls(
            sys_id=row["sys_id"],
            initial_version=row["initial_version"],
            external_id=row["external_id"],
            name=row["name"],
            internal_version=row["internal_version"],
            version=row["version"],
            status=row["status"],
            service_type=row["service_type"],
            ponr_state=row["ponr_state"],
            characteristics=tuple(
                CharacteristicSpec(c["name"], c.get("value_type", ""), tuple(c.get("options", [])))
                for c in row["characteristics"]
            ),
        )


@dataclass(frozen=True)
class Inventory:
    sys_id: str
    external_id: str | None
    specification: str
    location: str | None
    account: str | None
    state: str
    characteristics: dict[str, str]


@dataclass
class References:
    """Records found for the ids an order names, keyed by every id they answer to."""

    parties: dict[str, Party] = field(default_factory=dict)
    locations: dict[str, Location] = field(default_factory=dict)
    offerings: dict[str, Offering] = field(default_factory=dict)
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
