"""deploy/compose.yaml read as compose reads it: the services, Redis's settings, the migration
the API and workers wait for, two of each, and no start without the passwords."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from app.settings import Settings
from tests.helpers.deploy_files import (
    MissingVariable,
    interpolate,
    orderhub_command_error,
    variables,
)
from tests.helpers.paths import DEPLOY

COMPOSE = DEPLOY / "compose.yaml"
PASSWORDS = {
    "POSTGRES_PASSWORD": "pg-pw",
    "REDIS_PASSWORD": "redis-pw",
    "STUB_CALLBACK_PASSWORD": "cb",
}


def services(env: dict[str, str] = PASSWORDS) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(interpolate(COMPOSE.read_text(), env))["services"]
    return loaded


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)", duration)
    assert match, duration
    return int(match[1]) * (60 if match[2] == "m" else 1)


def test_the_services() -> None:
    assert {"postgres", "redis", "migrate", "api", "worker", "stub"} <= set(services())


def test_redis_keeps_its_keys_and_wants_a_password() -> None:
    command = services()["redis"]["command"]
    options = dict(zip(command[1::2], command[2::2], strict=True))
    assert command[0] == "redis-server"
    assert options["--appendonly"] == "yes"
    assert options["--maxmemory-policy"] == "noeviction"
    assert options["--requirepass"] == PASSWORDS["REDIS_PASSWORD"]


def test_api_and_workers_wait_for_the_migration_and_run_two_each() -> None:
    found = services()
    assert found["migrate"]["command"] == ["orderhub", "db", "migrate"]
    assert found["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    for name, replicas in (("api", 2), ("worker", 2), ("events-worker", 1)):
        service = found[name]
        assert service["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }, name
        assert service["deploy"]["replicas"] == replicas, name
    assert found["api"]["command"] == ["orderhub", "serve"]
    # order work and event delivery split, so that deliveries never take intake's CPU
    assert found["worker"]["command"] == ["orderhub", "worker", "--jobs", "orders"]
    assert found["events-worker"]["command"] == ["orderhub", "worker", "--jobs", "events"]
    assert found["events-worker"]["deploy"]["resources"]["limits"]["cpus"]
    assert found["stub"]["command"] == ["orderhub", "stub"]


def test_every_orderhub_command_is_one_the_cli_accepts() -> None:
    for name, service in services().items():
        command = service.get("command")
        if command and command[0] == "orderhub":
            assert orderhub_command_error(command) is None, (name, orderhub_command_error(command))


def test_the_urls_are_valid_settings_with_the_passwords_in_them() -> None:
    for name in ("api", "worker", "migrate"):
        settings = Settings.from_env(services()[name]["environment"])
        assert f":{PASSWORDS['POSTGRES_PASSWORD']}@postgres:5432/" in settings.database_url
        assert settings.redis_url == f"redis://:{PASSWORDS['REDIS_PASSWORD']}@redis:6379/0"


@pytest.mark.parametrize("missing", sorted(PASSWORDS))
def test_no_start_without_each_password(missing: str) -> None:
    env = {**PASSWORDS, missing: ""}
    with pytest.raises(MissingVariable, match=missing):
        services(env)


def test_every_password_is_required_never_defaulted() -> None:
    for match in variables(COMPOSE.read_text()):
        if match["name"].endswith("PASSWORD"):
            assert match["op"] == ":?", f"{match[0]} may start without a password"


def test_stopping_gives_the_shutdown_time_and_more() -> None:
    found = services()
    for name in ("api", "worker"):
        shutdown = float(found[name]["environment"]["ORDERHUB_SHUTDOWN_SECONDS"])
        assert seconds(found[name]["stop_grace_period"]) > shutdown, name
