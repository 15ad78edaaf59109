"""Unit tests are pure: no database, Redis, network or subprocess. This makes it a rule: a unit
test that asks for a server fixture, opens a connection or starts a process fails, naming what
it tried, instead of quietly starting the embedded servers (`make test-unit` stays fast)."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

# The root conftest's fixtures that start, or need, PostgreSQL or Redis.
SERVER_FIXTURES = frozenset(
    {
        "servers_dir",
        "postgres_admin_url",
        "redis_url",
        "template_db",
        "demo_template_db",
        "new_database",
        "database_url",
        "demo_database_url",
        "settings",
        "demo_settings",
        "pool",
        "client",
        "demo_client",
        "receiver",
    }
)


def pytest_runtest_setup(item: pytest.Item) -> None:
    wanted = SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ()))
    if wanted:
        pytest.fail(
            f"{item.nodeid} is a unit test but uses {', '.join(sorted(wanted))}: "
            "it belongs in tests/integration",
            pytrace=False,
        )


def _forbidden(what: str) -> Any:
    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError(f"a unit test may not {what}: it belongs in tests/integration")

    return refuse


@pytest.fixture(autouse=True)
def _no_io(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket.socket, "connect", _forbidden("open a network connection"))
    monkeypatch.setattr(socket.socket, "connect_ex", _forbidden("open a network connection"))
    monkeypatch.setattr(subprocess.Popen, "_execute_child", _forbidden("start a process"))
    yield
