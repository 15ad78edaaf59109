"""A password or role change, or a deleted user, applies within a second to credentials the
process remembers, and checking for one runs no KDF.

The remembered credentials' clock is the test's own: the promise is that the first request
after ORDERHUB_AUTH_RECHECK_SECONDS (at most a second) sees the change, and a wall clock on a
busy machine would measure the machine instead."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from app.domain.passwords import hash_password, verify_password
from app.domain.roles import SERVICE_ORDER_AGENT, SERVICE_ORDER_MANAGER
from app.http import auth as http_auth
from app.http import keys
from app.http.app import create_app
from app.http.auth_cache import AuthCache
from app.settings import Settings
from app.store import users
from tests.helpers.auth import auth, basic
from tests.helpers.in_process import app_client

WHOAMI = "/api/orderhub/whoami"
APPLIES_WITHIN = 1.0  # what the change promises


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client(settings: Settings, clock: Clock) -> AsyncIterator[TestClient]:
    """The app, its remembered credentials on the test's clock."""
    assert settings.orderhub_auth_recheck_seconds <= APPLIES_WITHIN
    app = create_app(settings)
    app[keys.AUTH_CACHE] = AuthCache(
        settings.orderhub_auth_cache_seconds,
        recheck=settings.orderhub_auth_recheck_seconds,
        clock=clock,
    )
    async with app_client(app) as c:
        yield c


def _past_recheck(client: TestClient, clock: Clock) -> None:
    clock.advance(client.app[keys.SETTINGS].orderhub_auth_recheck_seconds + 0.001)


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


async def test_a_new_password_refuses_the_old_one_within_a_second(
    client: TestClient, clock: Clock, pool: asyncpg.Pool[Any]
) -> None:
    old = auth("agent")
    assert await _status(client, old) == 200  # remembered from here on
    await users.upsert(pool, "agent", hash_password("agent-pw-2"), [SERVICE_ORDER_AGENT])
    assert await _status(client, old) == 200  # still within the recheck interval
    _past_recheck(client, clock)
    assert await _status(client, old) == 401
    assert await _status(client, basic("agent", "agent-pw-2")) == 200


async def test_new_roles_apply_within_a_second(
    client: TestClient, clock: Clock, pool: asyncpg.Pool[Any], kdf_runs: list[str]
) -> None:
    headers = auth("agent")
    assert await _status(client, headers) == 200
    await users.upsert(pool, "agent", hash_password("agent-pw"), [SERVICE_ORDER_MANAGER])
    _past_recheck(client, clock)
    body = await (await client.get(WHOAMI, headers=headers)).json()
    assert body["roles"] == [SERVICE_ORDER_MANAGER]
    assert len(kdf_runs) == 2  # the first sign-in, and one against the changed row


async def test_a_deleted_user_is_refused_within_a_second(
    client: TestClient, clock: Clock, pool: asyncpg.Pool[Any]
) -> None:
    headers = auth("admin")
    assert await _status(client, headers) == 200
    await pool.execute("DELETE FROM app_user WHERE name = $1", "admin")
    _past_recheck(client, clock)
    assert await _status(client, headers) == 401


async def test_an_unchanged_user_is_reread_but_not_checked_again(
    client: TestClient, clock: Clock, monkeypatch: pytest.MonkeyPatch, kdf_runs: list[str]
) -> None:
    """Over four recheck intervals: a row read per interval, one scrypt in all."""
    reads: list[str] = []
    read_row = users.get

    async def counting_get(conn: Any, name: str) -> users.StoredUser | None:
        reads.append(name)
        return await read_row(conn, name)

    monkeypatch.setattr(users, "get", counting_get)
    headers = auth("agent")
    assert await _status(client, headers) == 200
    recheck = client.app[keys.SETTINGS].orderhub_auth_recheck_seconds
    for _ in range(40):  # ten requests in each of four recheck intervals
        clock.advance(recheck / 10)
        assert await _status(client, headers) == 200
    assert len(kdf_runs) == 1
    assert 4 <= len(reads) <= 6  # the sign-in's read and one recheck per interval


async def test_concurrent_requests_share_one_recheck(
    client: TestClient, clock: Clock, monkeypatch: pytest.MonkeyPatch
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
    _past_recheck(client, clock)
    assert cache.get(key) is None  # due a recheck
    answers = await asyncio.gather(*(client.get(WHOAMI, headers=headers) for _ in range(30)))
    assert [a.status for a in answers] == [200] * 30
    assert len(reads) == 1
