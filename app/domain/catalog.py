"""The reference data orders name (the "catalogue"): its records, as frozen values.

`catalog_file.parse_catalog` reads them from a catalogue file (app/demo/catalog.json is one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

# Sections in the order they are stored: every record comes after the records it names.
SECTIONS: Final = (
    "accounts",
    "contacts",
    "consumers",
    "locations",
    "specifications",
    "offerings",
    "product_inventory",
    "outbound_policies",
)
# Sections of the file that belong to other loaders; the catalogue leaves them alone.
FOREIGN_SECTIONS: Final = frozenset({"orders", "outbound_requests"})


class CatalogError(Exception):
    """A catalogue file, or one of its records, that cannot be loaded; the message says why."""


@dataclass(frozen=True)
class NamedRecord:
    """An account, consumer, location or offering: records that orders name and nothing more."""

    sys_id: str
    external_id: str | None
    name: str


@dataclass(frozen=True)
class Contact:
    sys_id: str
    external_id: str | None
    name: str
    first_name: str
    last_name: str
    email: str
    phone: str
    account: str | None


@dataclass(frozen=True)
class Characteristic:
    """A characteristic a specification offers; a value must be one of `options` (if any)."""

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
    """One version of a service specification; its versions share `initial_version`."""

    sys_id: str
    initial_version: str
    external_id: str | None
    name: str
    internal_version: int
    version: str
    status: str
    service_type: str
    ponr_state: str
    characteristics: tuple[Characteristic, ...]

    def characteristic(self, name: str) -> Characteristic | None:
        wanted = name.strip().casefold()
        for spec in self.characteristics:
            if spec.name.strip().casefold() == wanted:
                return spec
        return None


@dataclass(frozen=True)
class Inventory:
    """A sold product: an instance of one specification version, at a location."""

    sys_id: str
    external_id: str | None
    specification: str
    location: str | None
    account: str | None
    state: str
    characteristics: Mapping[str, str]


@dataclass(frozen=True)
class Policy:
    """Which system fulfils a specification; `action` '' means any action."""

    specification: str
    action: str
    hierarchical: bool
    target: str


@dataclass(frozen=True)
class Catalog:
    accounts: tuple[NamedRecord, ...] = ()
    contacts: tuple[Contact, ...] = ()
    consumers: tuple[NamedRecord, ...] = ()
    locations: tuple[NamedRecord, ...] = ()
    specifications: tuple[Specification, ...] = ()
    offerings: tuple[NamedRecord, ...] = ()
    product_inventory: tuple[Inventory, ...] = ()
    outbound_policies: tuple[Policy, ...] = ()

    def counts(self) -> dict[str, int]:
        """Records per section, in storing order."""
        return {section: len(getattr(self, section)) for section in SECTIONS}


def option_key(text: str) -> str:
    """What two characteristic options are compared by: case and all whitespace ignored."""
    return "".join(text.split()).casefold()
