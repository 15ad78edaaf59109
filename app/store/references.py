"""Fetches every reference record an order names: one query per table, whatever the order."""

from __future__ import annotations

from typing import Any

from app.domain.references import (
    Characteristic,
    Inventory,
    NamedRecord,
    Party,
    ReferenceIds,
    References,
    Specification,
)
from app.store.db import Connection

_BY_ID = (
    "SELECT sys_id, external_id{extra} FROM {table} WHERE sys_id = ANY($1) OR external_id = ANY($1)"
)
PARTIES = {
    "account": _BY_ID.format(extra=", name", table="customer_account"),
    "contact": _BY_ID.format(extra=", name", table="customer_contact"),
    "consumer": _BY_ID.format(extra=", name", table="consumer"),
}
LOCATIONS = _BY_ID.format(extra=", name", table="location")
OFFERINGS = _BY_ID.format(extra=", name", table="service_offering")
INVENTORIES = _BY_ID.format(
    extra=", specification, location, account, state, characteristics", table="product_inventory"
)
SPECIFICATIONS = """
SELECT s.*, k.ref
  FROM unnest($1::text[]) AS k(ref)
  JOIN service_specification s
    ON s.initial_version IN (
         SELECT initial_version FROM service_specification
          WHERE sys_id = k.ref OR initial_version = k.ref OR external_id = k.ref)
"""
SPECIFICATIONS_BY_SYS_ID = "SELECT * FROM service_specification WHERE sys_id = ANY($1)"


def _keys(row: Any) -> list[str]:
    return [key for key in (row["sys_id"], row["external_id"]) if key]


async def fetch(conn: Connection, ids: ReferenceIds) -> References:
    refs = References()
    await _parties(conn, ids, refs)
    await _named(conn, LOCATIONS, ids.locations, refs.locations)
    await _named(conn, OFFERINGS, ids.offerings, refs.offerings)
    inventory_specs = await _inventories(conn, ids.inventories, refs)
    await _specifications(conn, ids.specifications, refs)
    missing = inventory_specs - refs.specification_versions.keys()
    if missing:
        for row in await conn.fetch(SPECIFICATIONS_BY_SYS_ID, list(missing)):
            spec = _specification(row)
            refs.specification_versions[spec.sys_id] = spec
    return refs


async def _parties(conn: Connection, ids: ReferenceIds, refs: References) -> None:
    """Keyed by kind too: an account and a contact may share an id."""
    for kind, query in PARTIES.items():
        wanted = getattr(ids, f"{kind}s")
        if wanted:
            for row in await conn.fetch(query, list(wanted)):
                party = Party(row["sys_id"], row["external_id"], row["name"], kind)
                for key in _keys(row):
                    refs.parties[f"{kind}:{key}"] = party


async def _named(
    conn: Connection, query: str, wanted: set[str], found: dict[str, NamedRecord]
) -> None:
    if wanted:
        for row in await conn.fetch(query, list(wanted)):
            for key in _keys(row):
                found[key] = NamedRecord(row["sys_id"], row["external_id"], row["name"])


async def _inventories(conn: Connection, wanted: set[str], refs: References) -> set[str]:
    """Returns the specification versions the inventories are on, which the order may not name."""
    specs: set[str] = set()
    if wanted:
        for row in await conn.fetch(INVENTORIES, list(wanted)):
            inventory = Inventory(
                row["sys_id"],
                row["external_id"],
                row["specification"],
                row["location"],
                row["account"],
                row["state"],
                dict(row["characteristics"]),
            )
            specs.add(inventory.specification)
            for key in _keys(row):
                refs.inventories[key] = inventory
    return specs


async def _specifications(conn: Connection, wanted: set[str], refs: References) -> None:
    if wanted:
        for row in await conn.fetch(SPECIFICATIONS, list(wanted)):
            spec = _specification(row)
            refs.specifications.setdefault(row["ref"], []).append(spec)
            refs.specification_versions[spec.sys_id] = spec


def _specification(row: Any) -> Specification:
    return Specification(
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
            Characteristic(c["name"], c.get("value_type", ""), tuple(c.get("options", [])))
            for c in row["characteristics"]
        ),
    )
