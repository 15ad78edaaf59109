"""`orderhub catalog load`, run as a real process against the test database."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import pytest

from tests.helpers.catalog import DEMO_COUNTS, table_counts
from tests.helpers.databases import with_database
from tests.helpers.paths import DEMO_CATALOG
from tests.helpers.processes import orderhub


def test_catalog_commands_have_help() -> None:
    for command in (["catalog"], ["catalog", "load"]):
        result = orderhub(*command, "--help")
        assert result.returncode == 0, result.stderr
        assert "usage: orderhub catalog" in result.stdout


async def test_cli_loads_the_demo_file(database_url: str, pool: asyncpg.Pool) -> None:
    # The example orders and outbound request are imported once; a second load imports none.
    for orders, records, total in ((4, 1, 28), (0, 0, 23)):
        result = orderhub("catalog", "load", str(DEMO_CATALOG), env={"DATABASE_URL": database_url})
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
            str(DEMO_CATALOG),
            env={"DATABASE_URL": with_database(postgres_admin_url, name)},
        )
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == [
            'orderhub: relation "customer_account" does not exist; run `orderhub db migrate` first'
        ]
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
