"""The `orderhub` command line, run as a real process against the test database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from app.cli.embedded import free_port
from tests.helpers.auth import auth, basic
from tests.helpers.processes import orderhub

COMMANDS = [
    [],
    ["dev"],
    ["serve"],
    ["worker"],
    ["settings"],
    ["db"],
    ["db", "init"],
    ["user"],
    ["user", "add"],
    ["order"],
    ["order", "timeline"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "orderhub")
def test_every_command_has_help(command: list[str]) -> None:
    result = orderhub(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: orderhub" in result.stdout


def test_bad_setting_stops_with_one_line_naming_it() -> None:
    result = orderhub("settings", env={"PORT": "eighty"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "orderhub: setting PORT='eighty' is invalid: must be a whole number"
    ]


@pytest.mark.parametrize(
    "env",
    [
        {"DATABASE_URL": "mysql://x"},
        {"ORDERHUB_LOG_LEVEL": "loud"},
        {"ORDERHUB_DB_POOL_SIZE": "0"},
        {"PORT": "70000"},
    ],
)
def test_each_bad_setting_is_named(env: dict[str, str]) -> None:
    result = orderhub("settings", env=env)
    assert result.returncode == 2
    assert next(iter(env)) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_serve_without_servers_says_what_is_missing() -> None:
    result = orderhub("serve", env={"PORT": str(free_port())})
    assert result.returncode == 2
    assert "DATABASE_URL is required" in result.stderr


def test_settings_lists_every_variable() -> None:
    result = orderhub("settings")
    assert result.returncode == 0
    for name in ("DATABASE_URL", "REDIS_URL", "PORT", "ORDERHUB_DATA_DIR"):
        assert name in result.stdout


async def test_db_init_creates_the_schema_once_and_migrate_then_has_nothing_to_do(
    new_database: Callable[[], Awaitable[str]],
) -> None:
    env = {"DATABASE_URL": await new_database()}
    first = orderhub("db", "init", env=env)
    assert first.returncode == 0, first.stderr
    assert "applying migration 0001 baseline" in first.stdout
    assert "database initialised" in first.stdout
    again = orderhub("db", "init", env=env)
    assert again.returncode == 0, again.stderr
    assert "initialised already; nothing done" in again.stdout
    migrate = orderhub("db", "migrate", env=env)
    assert migrate.returncode == 0, migrate.stderr
    assert "up to date" in migrate.stdout


def test_db_migrate_brings_a_database_up_to_date(database_url: str) -> None:
    result = orderhub("db", "migrate", env={"DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


async def test_user_add_creates_a_user_that_can_log_in(
    database_url: str, client: TestClient
) -> None:
    result = orderhub(
        "user",
        "add",
        "crm",
        "--password",
        "pw-1",
        "--role",
        "sn_ind_tmt_orm.service_order_agent",
        "--role",
        "sn_ind_tmt_orm.order_integrator",
        env={"DATABASE_URL": database_url},
    )
    assert result.returncode == 0, result.stderr
    resp = await client.get("/api/orderhub/whoami", headers=basic("crm", "pw-1"))
    assert resp.status == 200
    assert (await resp.json())["roles"] == [
        "sn_ind_tmt_orm.order_integrator",
        "sn_ind_tmt_orm.service_order_agent",
    ]
    # Repeating replaces the password and roles.
    result = orderhub(
        "user", "add", "crm", "--password", "pw-2", env={"DATABASE_URL": database_url}
    )
    assert result.returncode == 0
    assert (await client.get("/api/orderhub/whoami", headers=basic("crm", "pw-2"))).status == 403
    assert (await client.get("/api/orderhub/whoami", headers=auth("agent"))).status == 200


def test_user_add_refuses_unknown_role(database_url: str) -> None:
    result = orderhub(
        "user",
        "add",
        "x",
        "--password",
        "p",
        "--role",
        "superuser",
        env={"DATABASE_URL": database_url},
    )
    assert result.returncode == 2
    assert "unknown role superuser" in result.stderr
