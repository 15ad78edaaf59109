"""The catalogue file: its rules (pure), its loading (real database) and `orderhub catalog load`."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from app.domain.catalog import CatalogError, option_key
from app.domain.catalog_file import parse_catalog
from app.store import catalog
from tests.conftest import with_database
from tests.processes import REPO_ROOT, orderhub

DEMO_FILE = REPO_ROOT / "app" / "demo" / "catalog.json"
DEMO_COUNTS = {
    "accounts": 1,
    "contacts": 1,
    "consumers": 1,
    "locations": 2,
    "specifications": 8,
    "offerings": 2,
    "product_inventory": 4,
    "outbound_policies": 4,
}
TABLES = {
    "accounts": "customer_account",
    "contacts": "customer_contact",
    "consumers": "consumer",
    "locations": "location",
    "specifications": "service_specification",
    "offerings": "service_offering",
    "product_inventory": "product_inventory",
    "outbound_policies": "outbound_policy",
}
SDWAN = "7374aef12c021c1e6bf47ddceec865c1"
MISSING = "00000000000000000000000000000000"


def demo() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(DEMO_FILE.read_text())
    return doc


async def table_counts(conn: Any) -> dict[str, int]:
    return {
        section: await conn.fetchval(f"SELECT count(*) FROM {table}")
        for section, table in TABLES.items()
    }


async def table_rows(conn: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every catalogue table, in a stable order: a snapshot to compare."""
    return {
        table: [tuple(row) for row in await conn.fetch(f"SELECT * FROM {table} ORDER BY 1, 2")]
        for table in TABLES.values()
    }


# --- parse_catalog: no database ------------------------------------------------------------------


def test_the_demo_file_parses() -> None:
    parsed = parse_catalog(demo())
    assert parsed.counts() == DEMO_COUNTS
    v2 = next(s for s in parsed.specifications if s.sys_id == "136c95f3521b79e28e5299a04df805ac")
    assert v2.internal_version == 2
    assert v2.initial_version == "f99546ff07266010a7955b7e0ad300a8"
    assert v2.version == "v2"
    assert v2.characteristics[0].options == (
        "Premium (Up to 50 sites)",
        "Standard (Up to 20 sites)",
    )
    any_action = next(p for p in parsed.outbound_policies if p.specification == SDWAN)
    assert any_action.action == ""
    assert any_action.hierarchical is True
    inventory = parsed.product_inventory[1]
    assert dict(inventory.characteristics) == {"Router Size": "Medium"}


def test_other_loaders_sections_and_comments_are_left_alone() -> None:
    doc = {"_note": "x", "orders": [{"anything": 1}], "outbound_requests": "not even a list"}
    assert parse_catalog(doc).counts() == dict.fromkeys(DEMO_COUNTS, 0)


def test_optional_fields_take_their_defaults() -> None:
    doc = {
        "accounts": [{"sys_id": "a1", "name": "A", "_comment": "ignored"}],
        "contacts": [{"sys_id": "c1", "name": "C"}],
        "specifications": [
            {
                "sys_id": "s1",
                "initial_version": "s1",
                "name": "S",
                "internal_version": 1,
                "status": "draft",
                "service_type": "rfs",
            }
        ],
        "product_inventory": [{"sys_id": "i1", "specification": "s1", "state": "inactive"}],
        "outbound_policies": [{"specification": "s1", "hierarchical": False, "target": "TOM"}],
    }
    parsed = parse_catalog(doc)
    assert parsed.accounts[0].external_id is None
    contact = parsed.contacts[0]
    assert (contact.first_name, contact.email, contact.account) == ("", "", None)
    spec = parsed.specifications[0]
    assert (spec.version, spec.ponr_state, spec.characteristics) == ("", "fulfilled", ())
    assert parsed.product_inventory[0].location is None
    assert dict(parsed.product_inventory[0].characteristics) == {}
    assert parsed.outbound_policies[0].action == ""


def test_options_compare_ignoring_case_and_whitespace() -> None:
    assert option_key("Basic( Customer Managed)\n\t\t") == option_key("basic (customer managed)")
    assert option_key("Premium") != option_key("Standard")


def _edit(section: str, index: int, **changes: Any) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        for key, value in changes.items():
            if value is ...:
                del doc[section][index][key]
            else:
                doc[section][index][key] = value

    return apply


def _append_copy(section: str, index: int) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        doc[section].append(copy.deepcopy(doc[section][index]))

    return apply


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        doc[key] = value

    return apply


BAD_FILES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "wrong enum",
        _edit("specifications", 2, status="live"),
        f"specifications[2] (sys_id {SDWAN}): status 'live' is not one of published, draft, "
        "retired",
    ),
    (
        "missing field",
        _edit("accounts", 0, name=...),
        "accounts[0] (sys_id ffc68911c35420105252716b7d40dd55): name is missing",
    ),
    (
        "missing sys_id",
        _edit("locations", 1, sys_id=...),
        "locations[1]: sys_id is missing",
    ),
    (
        "unknown key",
        _edit("offerings", 1, colour="blue"),
        "offerings[1] (sys_id 068e8c831277502e194df2593bce964a): unknown field 'colour' "
        "(known: sys_id, external_id, name)",
    ),
    (
        "duplicate sys_id",
        _append_copy("locations", 0),
        "locations[2] (sys_id 920cf6ac73d423002728660c4cf6a799): sys_id is also used by "
        "locations[0]",
    ),
    (
        "wrong type",
        _edit("outbound_policies", 1, hierarchical="no"),
        "outbound_policies[1] (specification 10cdc73583d10cd76d9b92c2e0671987): hierarchical "
        "must be true or false, not string",
    ),
    (
        "policy target",
        _edit("outbound_policies", 0, target="XOM"),
        f"outbound_policies[0] (specification {SDWAN}): target 'XOM' is not one of SOM, TOM",
    ),
    (
        "inventory state",
        _edit("product_inventory", 2, state="paused"),
        "product_inventory[2] (sys_id f3dd83bc94fd300ee47e34216329ffc2): state 'paused' is not "
        "one of active, inactive, suspended",
    ),
    (
        "service type",
        _edit("specifications", 0, service_type="xfs"),
        "service_type 'xfs' is not one of cfs, rfs",
    ),
    (
        "ponr state",
        _edit("specifications", 0, ponr_state="done"),
        "ponr_state 'done' is not one of pending, fulfilled",
    ),
    (
        "internal version",
        _edit("specifications", 0, internal_version="one"),
        "internal_version must be a whole number such as \"1\", not 'one'",
    ),
    (
        "repeated version",
        _edit("specifications", 1, internal_version="1"),
        "specifications[1] (sys_id 136c95f3521b79e28e5299a04df805ac): internal_version 1 of "
        "initial_version f99546ff07266010a7955b7e0ad300a8 is also used by specifications[0]",
    ),
    (
        "characteristic unknown key",
        _edit("specifications", 3, characteristics=[{"name": "X", "value_type": "Choice", "y": 1}]),
        "specifications[3] (sys_id e845bb12b2a0176a0ec3820377163165): characteristics[0]: "
        "unknown field 'y'",
    ),
    (
        "same option twice",
        _edit(
            "specifications",
            3,
            characteristics=[{"name": "X", "value_type": "Choice", "options": ["A b", "a B "]}],
        ),
        "options 'A b' and 'a B ' are the same option",
    ),
    (
        "inventory characteristic value",
        _edit("product_inventory", 1, characteristics={"Router Size": 3}),
        "characteristics['Router Size'] must be a string, not number",
    ),
    (
        "duplicate policy",
        _append_copy("outbound_policies", 3),
        "outbound_policies[4] (specification af7445691eab4a805bcb04889e70deea): this "
        "specification with action 'delete' is also used by outbound_policies[3]",
    ),
    ("record not an object", _set("accounts", ["x"]), "accounts[0]: must be an object, not string"),
    (
        "section not a list",
        _set("consumers", {}),
        "consumers: must be an array of records, not object",
    ),
    ("unknown section", _set("widgets", []), "unknown section 'widgets'"),
]


@pytest.mark.parametrize(
    ("edit", "message"), [b[1:] for b in BAD_FILES], ids=[b[0] for b in BAD_FILES]
)
def test_each_bad_record_is_named(edit: Callable[[dict[str, Any]], None], message: str) -> None:
    doc = demo()
    edit(doc)
    with pytest.raises(CatalogError) as caught:
        parse_catalog(doc)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_catalogue_must_be_an_object() -> None:
    with pytest.raises(CatalogError, match="must be a JSON object, not array"):
        parse_catalog([])


# --- catalog.load: real database -----------------------------------------------------------------


async def test_the_demo_file_loads_with_its_counts(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        assert await catalog.load(conn, parse_catalog(demo())) == DEMO_COUNTS
        assert await table_counts(conn) == DEMO_COUNTS
        spec = await conn.fetchrow(
            "SELECT * FROM service_specification WHERE sys_id = $1",
            "136c95f3521b79e28e5299a04df805ac",
        )
        assert spec["internal_version"] == 2
        assert spec["characteristics"][3] == {
            "name": "Administration Support",
            "value_type": "Choice",
            "options": ["Basic (Customer Managed)"],
        }
        actions = await conn.fetch(
            "SELECT specification, action FROM outbound_policy ORDER BY specification"
        )
        assert ("af7445691eab4a805bcb04889e70deea", "delete") in [tuple(a) for a in actions]
        assert (SDWAN, "") in [tuple(a) for a in actions]
        inventory = await conn.fetchrow(
            "SELECT * FROM product_inventory WHERE sys_id = '326d13f45b5620102dff5e92dc81c785'"
        )
        assert inventory["characteristics"] == {"Router Size": "Medium"}
        assert inventory["state"] == "active"


async def test_loading_twice_changes_nothing_and_an_edit_is_applied(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await catalog.load(conn, parse_catalog(demo()))
        before = await table_rows(conn)
        assert await catalog.load(conn, parse_catalog(demo())) == DEMO_COUNTS
        assert await table_rows(conn) == before  # updated_at included: no row was rewritten

        doc = demo()
        doc["accounts"][0]["name"] = "Funco International"
        doc["product_inventory"][0]["state"] = "suspended"
        doc["outbound_policies"][0]["target"] = "TOM"
        await catalog.load(conn, parse_catalog(doc))
        assert await table_counts(conn) == DEMO_COUNTS
        assert await conn.fetchval("SELECT name FROM customer_account") == "Funco International"
        assert (
            await conn.fetchval(
                "SELECT state FROM product_inventory WHERE sys_id = $1",
                "4b5072aec3a83010abc8b5183c40dd42",
            )
            == "suspended"
        )
        assert (
            await conn.fetchval(
                "SELECT target FROM outbound_policy WHERE specification = $1", SDWAN
            )
            == "TOM"
        )


async def test_a_file_may_name_records_loaded_earlier(pool: asyncpg.Pool) -> None:
    doc = demo()
    async with pool.acquire() as conn:
        await catalog.load(conn, parse_catalog(doc))
        later = {
            "product_inventory": [
                {
                    "sys_id": "new-inventory",
                    "specification": SDWAN,
                    "location": "920cf6ac73d423002728660c4cf6a799",
                    "state": "active",
                }
            ]
        }
        assert (await catalog.load(conn, parse_catalog(later)))["product_inventory"] == 1
        assert (await table_counts(conn))["product_inventory"] == 5


DANGLING: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "inventory specification",
        _edit("product_inventory", 3, specification=MISSING),
        "product_inventory[3] (sys_id 1d7382cfc3aa221ee6a3929d130de861): specification "
        f"'{MISSING}' names no record of specifications, neither in the file nor in the database",
    ),
    (
        "inventory location",
        _edit("product_inventory", 0, location=MISSING),
        f"product_inventory[0] (sys_id 4b5072aec3a83010abc8b5183c40dd42): location '{MISSING}' "
        "names no record of locations",
    ),
    (
        "contact account",
        _edit("contacts", 0, account=MISSING),
        f"contacts[0] (sys_id eaf68911c35420105252716b7d40ddde): account '{MISSING}' names no "
        "record of accounts",
    ),
    (
        "policy specification",
        _edit("outbound_policies", 3, specification=MISSING),
        f"outbound_policies[3] (specification {MISSING}): specification '{MISSING}' names no "
        "record of specifications",
    ),
]


@pytest.mark.parametrize(
    ("edit", "message"), [d[1:] for d in DANGLING], ids=[d[0] for d in DANGLING]
)
async def test_a_dangling_reference_is_named_and_nothing_is_written(
    pool: asyncpg.Pool, edit: Callable[[dict[str, Any]], None], message: str
) -> None:
    doc = demo()
    edit(doc)
    parsed = parse_catalog(doc)  # references are the database's to check
    async with pool.acquire() as conn:
        before = await table_rows(conn)
        with pytest.raises(CatalogError) as caught:
            await catalog.load(conn, parsed)
        assert message in str(caught.value)
        assert await table_rows(conn) == before
        assert await table_counts(conn) == dict.fromkeys(DEMO_COUNTS, 0)


async def test_a_failed_load_leaves_an_earlier_load_untouched(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await catalog.load(conn, parse_catalog(demo()))
        before = await table_rows(conn)
        doc = demo()
        doc["accounts"][0]["name"] = "Renamed"
        doc["locations"].append({"sys_id": "new-location", "name": "New"})
        doc["product_inventory"][3]["account"] = MISSING
        with pytest.raises(CatalogError, match=r"product_inventory\[3\]"):
            await catalog.load(conn, parse_catalog(doc))
        assert await table_rows(conn) == before
        assert await table_counts(conn) == DEMO_COUNTS


async def test_a_version_held_by_another_specification_in_the_database(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        await catalog.load(conn, parse_catalog(demo()))
        before = await table_rows(conn)
        clash = copy.deepcopy(demo()["specifications"][1])  # version 2 of Managed Firewall
        clash["sys_id"] = "another-v2"
        with pytest.raises(CatalogError) as caught:
            await catalog.load(conn, parse_catalog({"specifications": [clash]}))
        assert str(caught.value).startswith("specifications[0] (sys_id another-v2): ")
        assert "already belongs to another record in the database" in str(caught.value)
        assert await table_rows(conn) == before


# --- orderhub catalog load: a real process -------------------------------------------------------


def test_catalog_commands_have_help() -> None:
    for command in (["catalog"], ["catalog", "load"]):
        result = orderhub(*command, "--help")
        assert result.returncode == 0, result.stderr
        assert "usage: orderhub catalog" in result.stdout


async def test_cli_loads_the_demo_file(database_url: str, pool: asyncpg.Pool) -> None:
    # The example orders and outbound request are imported once; a second load imports none.
    for orders, records, total in ((4, 1, 28), (0, 0, 23)):
        result = orderhub("catalog", "load", str(DEMO_FILE), env={"DATABASE_URL": database_url})
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        for section, count in {
            **DEMO_COUNTS,
            "orders": orders,
            "outbound_requests": records,
        }.items():
            assert f"  {section:<18} {count:>5}" in lines
        assert lines[-1] == f"catalogue loaded: {total} records in 10 sections"
    async with pool.acquire() as conn:
        assert await table_counts(conn) == DEMO_COUNTS


def _bad_file(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "catalog.json"
    path.write_text(content)
    return path


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "is not valid JSON: "),
        ('{"accounts": [{"sys_id": "a", "name": "A", "size": 1}]}', "unknown field 'size'"),
        (
            '{"product_inventory": [{"sys_id": "i", "specification": "nope", "state": "active"}]}',
            "product_inventory[0] (sys_id i): specification 'nope' names no record of "
            "specifications, neither in the file nor in the database; nothing was loaded",
        ),
    ],
    ids=["not json", "bad record", "dangling reference"],
)
async def test_cli_refuses_a_bad_file_in_one_line(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path, content: str, expected: str
) -> None:
    path = _bad_file(tmp_path, content)
    result = orderhub("catalog", "load", str(path), env={"DATABASE_URL": database_url})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"orderhub: {path}")
    assert expected in lines[0]
    async with pool.acquire() as conn:
        assert await table_counts(conn) == dict.fromkeys(DEMO_COUNTS, 0)


def test_cli_refuses_a_missing_file(database_url: str, tmp_path: Path) -> None:
    missing = tmp_path / "absent.json"
    result = orderhub("catalog", "load", str(missing), env={"DATABASE_URL": database_url})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"orderhub: cannot read {missing}: No such file or directory"
    ]


async def test_cli_on_a_database_without_the_schema_says_what_to_do(
    postgres_admin_url: str,
) -> None:
    name = f"orderhub_empty_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres_admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        result = orderhub(
            "catalog",
            "load",
            str(DEMO_FILE),
            env={"DATABASE_URL": with_database(postgres_admin_url, name)},
        )
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == [
            'orderhub: relation "customer_account" does not exist; run `orderhub db init` first'
        ]
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
