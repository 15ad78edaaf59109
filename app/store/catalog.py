"""The catalogue tables: accounts, contacts, consumers, locations, specifications, offerings,
product inventory and outbound policies, written by `orderhub catalog load`.

Every statement is an upsert that leaves a row alone when nothing in it changes, so loading the
same file twice writes nothing the second time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from app.domain.catalog import (
    Catalog,
    CatalogError,
    Contact,
    Inventory,
    NamedRecord,
    Policy,
    Specification,
)

UPSERT_ACCOUNT = """
INSERT INTO customer_account AS t (sys_id, external_id, name) VALUES ($1, $2, $3)
ON CONFLICT (sys_id) DO UPDATE
   SET external_id = EXCLUDED.external_id, name = EXCLUDED.name
 WHERE (t.external_id, t.name) IS DISTINCT FROM (EXCLUDED.external_id, EXCLUDED.name)
"""
UPSERT_CONTACT = """
INSERT INTO customer_contact AS t
       (sys_id, external_id, name, first_name, last_name, email, phone, account)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (sys_id) DO UPDATE
   SET external_id = EXCLUDED.external_id, name = EXCLUDED.name,
       first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,
       email = EXCLUDED.email, phone = EXCLUDED.phone, account = EXCLUDED.account
 WHERE (t.external_id, t.name, t.first_name, t.last_name, t.email, t.phone, t.account)
       IS DISTINCT FROM
       (EXCLUDED.external_id, EXCLUDED.name, EXCLUDED.first_name, EXCLUDED.last_name,
        EXCLUDED.email, EXCLUDED.phone, EXCLUDED.account)
"""
UPSERT_CONSUMER = """
INSERT INTO consumer AS t (sys_id, external_id, name) VALUES ($1, $2, $3)
ON CONFLICT (sys_id) DO UPDATE
   SET external_id = EXCLUDED.external_id, name = EXCLUDED.name
 WHERE (t.external_id, t.name) IS DISTINCT FROM (EXCLUDED.external_id, EXCLUDED.name)
"""
UPSERT_LOCATION = """
INSERT INTO location AS t (sys_id, external_id, name) VALUES ($1, $2, $3)
ON CONFLICT (sys_id) DO UPDATE
   SET external_id = EXCLUDED.external_id, name = EXCLUDED.name
 WHERE (t.external_id, t.name) IS DISTINCT FROM (EXCLUDED.external_id, EXCLUDED.name)
"""
UPSERT_SPECIFICATION = """
INSERT INTO service_specification AS t
       (sys_id, initial_version, external_id, name, internal_version, version, status,
        service_type, ponr_state, characteristics)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (sys_id) DO UPDATE
   SET initial_version = EXCLUDED.initial_version, external_id = EXCLUDED.external_id,
       name = EXCLUDED.name, internal_version = EXCLUDED.internal_version,
       version = EXCLUDED.version, status = EXCLUDED.status,
       service_type = EXCLUDED.service_type, ponr_state = EXCLUDED.ponr_state,
       characteristics = EXCLUDED.characteristics
 WHERE (t.initial_version, t.external_id, t.name, t.internal_version, t.version, t.status,
        t.service_type, t.ponr_state, t.characteristics)
       IS DISTINCT FROM
       (EXCLUDED.initial_version, EXCLUDED.external_id, EXCLUDED.name,
        EXCLUDED.internal_version, EXCLUDED.version, EXCLUDED.status, EXCLUDED.service_type,
        EXCLUDED.ponr_state, EXCLUDED.characteristics)
"""
UPSERT_OFFERING = """
INSERT INTO service_offering AS t (sys_id, external_id, name) VALUES ($1, $2, $3)
ON CONFLICT (sys_id) DO UPDATE
   SET external_id = EXCLUDED.external_id, name = EXCLUDED.name
 WHERE (t.external_id, t.name) IS DISTINCT FROM (EXCLUDED.external_id, EXCLUDED.name)
"""
UPSERT_INVENTORY = """
INSERT INTO product_inventory AS t
       (sys_id, external_id, specification, location, account, state, characteristics)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (sys_id) DO UPDATE
   SET external_id = EXCLUDED.external_id, specification = EXCLUDED.specification,
       location = EXCLUDED.location, account = EXCLUDED.account, state = EXCLUDED.state,
       characteristics = EXCLUDED.characteristics, updated_at = now()
 WHERE (t.external_id, t.specification, t.location, t.account, t.state, t.characteristics)
       IS DISTINCT FROM
       (EXCLUDED.external_id, EXCLUDED.specification, EXCLUDED.location, EXCLUDED.account,
        EXCLUDED.state, EXCLUDED.characteristics)
"""
UPSERT_POLICY = """
INSERT INTO outbound_policy AS t (specification, action, hierarchical, target)
VALUES ($1, $2, $3, $4)
ON CONFLICT (specification, action) DO UPDATE
   SET hierarchical = EXCLUDED.hierarchical, target = EXCLUDED.target
 WHERE (t.hierarchical, t.target) IS DISTINCT FROM (EXCLUDED.hierarchical, EXCLUDED.target)
"""

# Which catalogue section holds the rows of a table, for messages about dangling references.
_SECTION_OF_TABLE = {
    "customer_account": "accounts",
    "customer_contact": "contacts",
    "consumer": "consumers",
    "location": "locations",
    "service_specification": "specifications",
    "service_offering": "offerings",
    "product_inventory": "product_inventory",
}
_MISSING_KEY = re.compile(
    r'Key \((?P<column>.*)\)=\((?P<value>.*)\) is not present in table "(?P<table>[^"]*)"'
)
_TAKEN_KEY = re.compile(r"Key \((?P<columns>.*)\)=\((?P<values>.*)\) already exists")

Connection: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"


def _contact(c: Contact) -> Sequence[object]:
    return (
        c.sys_id,
        c.external_id,
        c.name,
        c.first_name,
        c.last_name,
        c.email,
        c.phone,
        c.account,
    )


def _named(record: NamedRecord) -> Sequence[object]:
    return (record.sys_id, record.external_id, record.name)


def _specification(s: Specification) -> Sequence[object]:
    characteristics = [
        {"name": c.name, "value_type": c.value_type, "options": list(c.options)}
        for c in s.characteristics
    ]
    return (
        s.sys_id,
        s.initial_version,
        s.external_id,
        s.name,
        s.internal_version,
        s.version,
        s.status,
        s.service_type,
        s.ponr_state,
        characteristics,
    )


def _inventory(i: Inventory) -> Sequence[object]:
    return (
        i.sys_id,
        i.external_id,
        i.specification,
        i.location,
        i.account,
        i.state,
        dict(i.characteristics),
    )


def _policy(p: Policy) -> Sequence[object]:
    return (p.specification, p.action, p.hierarchical, p.target)


def _problem(exc: asyncpg.PostgresError) -> str:
    """What a refused row means in the words of the catalogue file."""
    detail = str(getattr(exc, "detail", None) or exc)
    if isinstance(exc, asyncpg.ForeignKeyViolationError) and (m := _MISSING_KEY.search(detail)):
        table = m["table"]
        return (
            f"{m['column']} '{m['value']}' names no record of "
            f"{_SECTION_OF_TABLE.get(table, table)}, neither in the file nor in the database"
        )
    if isinstance(exc, asyncpg.UniqueViolationError) and (m := _TAKEN_KEY.search(detail)):
        return (
            f"({m['columns']}) = ({m['values']}) already belongs to another record in the database"
        )
    return f"refused by the database: {detail}"


def _where(section: str, index: int, record: object) -> str:
    if isinstance(record, Policy):
        return f"{section}[{index}] (specification {record.specification})"
    return f"{section}[{index}] (sys_id {getattr(record, 'sys_id', '?')})"


async def _upsert_all(
    conn: Connection,
    section: str,
    sql: str,
    records: Sequence[Any],
    row: Callable[[Any], Sequence[object]],
) -> None:
    for index, record in enumerate(records):
        try:
            await conn.execute(sql, *row(record))
        except (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError) as exc:
            raise CatalogError(f"{_where(section, index, record)}: {_problem(exc)}") from exc


async def load(conn: Connection, catalog: Catalog) -> dict[str, int]:
    """Upserts every record in one transaction, referenced records first; counts per section.

    A record the database refuses (a dangling reference, a specification version another
    specification already holds) raises CatalogError naming it, and nothing is written.
    `conn` must come from app.store.db (it encodes jsonb from Python objects).
    """
    steps: list[tuple[str, str, Sequence[Any], Callable[[Any], Sequence[object]]]] = [
        ("accounts", UPSERT_ACCOUNT, catalog.accounts, _named),
        ("contacts", UPSERT_CONTACT, catalog.contacts, _contact),
        ("consumers", UPSERT_CONSUMER, catalog.consumers, _named),
        ("locations", UPSERT_LOCATION, catalog.locations, _named),
        ("specifications", UPSERT_SPECIFICATION, catalog.specifications, _specification),
        ("offerings", UPSERT_OFFERING, catalog.offerings, _named),
        ("product_inventory", UPSERT_INVENTORY, catalog.product_inventory, _inventory),
        ("outbound_policies", UPSERT_POLICY, catalog.outbound_policies, _policy),
    ]
    async with conn.transaction():
        for section, sql, records, row in steps:
            await _upsert_all(conn, section, sql, records, row)
    return catalog.counts()


IS_EMPTY = """
SELECT NOT EXISTS (SELECT 1 FROM customer_account)
   AND NOT EXISTS (SELECT 1 FROM service_specification)
"""


async def is_empty(conn: Connection) -> bool:
    empty: bool = await conn.fetchval(IS_EMPTY)
    return empty
