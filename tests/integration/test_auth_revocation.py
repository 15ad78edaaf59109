"""A password or role change, or a deleted user, applies within a second to credentials the
process remembers, and checking for one runs no KDF."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from app.domain.passwords import hash_password, verify_password
from app.domain.roles import SERVICE_ORDER_AGENT, SERVICE_ORDER_MANAGER
from app.http import auth as http_auth
from app.http import keys
from app.store import users
from tests.helpers.auth import auth, basic
from tests.helpers.polling import wait_for_async

WHOAMI = "/api/orderhub/whoami"
APPLIES_WITHIN = 1.0  # what the change promises
DEADLINE = 5.0  # how long the test waits before calling it broken (a busy machine)


@pytest.fixture
def kdf_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    runs: list[str] = []

    def counting(candidate: str, stored: str) -> bool:
        runs.append(candidate)
        return verify_password(candidate, stored)

    monkeypatch.setattr(http_auth, "verify_password", counting)
    return runs


async def _status(client: TestClient, headers: dict[str, str]) -> int:
    return (await client.get(WHOAMI, headers=headers)).status


async def _seconds_until(client: TestClient, headers: dict[str, str], status: int) -> float:
    started = time.monotonic()

    async def answered() -> bool:
        return await _status(client, headers) == status

    await wait_for_async(answered, DEADLINE, f"remembered credentials answered {status}")
    return time.monotonic() - started


async def test_a_new_password_refuses_the_old_one_within_a_second(
    client: TestClient, pool: asyncpg.Pool[Any]
) -> None:
    old = auth("agent")
    assert await _status(client, old) == 200  # remembered from here on
    await users.upsert(pool, "agent", hash_password("agent-pw-2"), [SERVICE_ORDER_AGENT])
    assert await _seconds_until(client, old, 401) < APPLIES_WITHIN
    assert await _status(client, basic("agent", "agent-pw-2")) == 200


async def test_new_roles_apply_within_a_second(
    client: TestClient, pool: asyncpg.Pool[Any], kdf_runs: list[str]
) -> None:
    headers = auth("agent")
    assert await _status(client, headers) == 200
    await users.upsert(pool, "agent", hash_password("agent-pw"), [SERVICE_ORDER_MANAGER])
    started = time.monotonic()

    async def new_roles() -> bool:
        body = await (await client.get(WHOAMI, headers=headers)).json()
        return bool(body["roles"] == [SERVICE_ORDER_MANAGER])

    await wait_for_async(new_roles, DEADLINE, "whoami showing the new roles")
    assert time.monotonic() - started < APPLIES_WITHIN
    assert len(kdf_runs) == 2  # the first sign-in, and one against the changed row


async def test_a_deleted_user_is_refused_within_a_second(
    client: TestClient, pool: asyncpg.Pool[Any]
) -> None:
    headers = auth("admin")
    assert await _status(client, headers) == 200
    await pool.execute("DELETE FROM app_user WHERE name = $1", "admin")
    assert await _seconds_until(client, headers, 401) < APPLIES_WITHIN


async def test_an_unchanged_user_is_reread_but_not_checked_again(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, kdf_runs: list[str]
) -> None:
    """Over a few recheck intervals: row reads, one scrypt in all."""
    reads: list[str] = []
    read_row = users.get

    async def counting_get(conn: Any, name: str) -> users.StoredUser | None:
        reads.append(name)
        return await read_row(conn, name)

    monkeypatch.setattr(users, "get", counting_get)
    headers = auth("agent")
    assert await _status(client, headers) == 200
    until = time.monotonic() + 1.2  # more than two recheck intervals of requests
    while time.monotonic() < until:
        assert await _status(client, headers) == 200
    assert len(kdf_runs) == 1
    assert len(reads) >= 3  # the sign-in's read and at least two rechecks
    assert len(reads) < 10  # not one per request: a recheck covers half a second


async def test_concurrent_requests_share_one_recheck(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    read_row = users.get

    async def slow_get(conn: Any, name: str) -> users.StoredUser | None:
        reads.append(name)
        await asyncio.sleep(0.05)  # long enough for the burst to arrive while it runs
        return await read_row(conn, name)

    headers = auth("agent")
    assert await _status(client, headers) == 200
    monkeypatch.setattr(users, "get", slow_get)

    cache = client.app[keys.AUTH_CACHE]
    key = cache.key(headers["Authorization"])
    await wait_for_async(lambda: cache.get(key) is None, DEADLINE, "the entry due a recheck")
    answers = await asyncio.gather(*(client.get(WHOAMI, headers=headers) for _ in range(30)))
    assert [a.status for a in answers] == [200] * 30
    assert len(reads) == 1
