"""The auth cache's revalidation: a remembered header is used as is for `recheck` seconds,
then only after its user's row was read again and found unchanged; never a KDF."""

from __future__ import annotations

import asyncio

import pytest

from app.http.auth_cache import AuthCache, User
from app.store.users import StoredUser

ROW = StoredUser("crm", "scrypt$1$hash-a", frozenset({"integrator"}))
KEY = AuthCache.key("Basic Y3JtOnB3")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Table:
    """The app_user table as the cache's reread sees it, counting the reads."""

    def __init__(self, row: StoredUser | None = ROW) -> None:
        self.row = row
        self.reads: list[str] = []
        self.gate: asyncio.Event | None = None
        self.reading = asyncio.Event()

    async def reread(self, name: str) -> StoredUser | None:
        self.reads.append(name)
        self.reading.set()
        if self.gate is not None:
            await self.gate.wait()
        return self.row


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(clock: Clock) -> AuthCache:
    remembered = AuthCache(ttl=60, recheck=0.5, clock=clock)
    remembered.put(KEY, ROW)
    return remembered


USER = User("crm", frozenset({"integrator"}))


async def test_a_fresh_entry_is_used_without_reading_the_row(cache: AuthCache) -> None:
    table = Table()
    assert cache.get(KEY) == USER
    assert await cache.rechecked(KEY, table.reread) == USER
    assert table.reads == []


async def test_a_stale_entry_is_used_again_once_its_row_is_unchanged(
    cache: AuthCache, clock: Clock
) -> None:
    table = Table()
    clock.now += 0.6
    assert cache.get(KEY) is None  # the fast path never serves a stale entry
    assert await cache.rechecked(KEY, table.reread) == USER
    assert table.reads == ["crm"]
    assert cache.get(KEY) == USER  # fresh again for another `recheck` seconds
    clock.now += 0.4
    assert cache.get(KEY) == USER
    clock.now += 0.2
    assert cache.get(KEY) is None


@pytest.mark.parametrize(
    "changed",
    [
        StoredUser("crm", "scrypt$1$hash-b", ROW.roles),  # password replaced
        StoredUser("crm", ROW.password_hash, frozenset({"agent"})),  # roles replaced
        None,  # user deleted
    ],
)
async def test_a_changed_or_deleted_row_drops_the_entry(
    cache: AuthCache, clock: Clock, changed: StoredUser | None
) -> None:
    clock.now += 0.6
    assert await cache.rechecked(KEY, Table(changed).reread) is None
    # Dropped: nothing is remembered any more, however the table reads now.
    assert await cache.rechecked(KEY, Table().reread) is None
    clock.now -= 0.6
    assert cache.get(KEY) is None


async def test_concurrent_requests_for_a_stale_entry_read_the_row_once(
    cache: AuthCache, clock: Clock
) -> None:
    table = Table()
    table.gate = asyncio.Event()
    clock.now += 0.6
    waiting = [asyncio.ensure_future(cache.rechecked(KEY, table.reread)) for _ in range(50)]
    await asyncio.sleep(0)
    table.gate.set()
    assert await asyncio.gather(*waiting) == [USER] * 50
    assert table.reads == ["crm"]


async def test_concurrent_requests_for_a_changed_row_are_all_refused(
    cache: AuthCache, clock: Clock
) -> None:
    table = Table(None)
    table.gate = asyncio.Event()
    clock.now += 0.6
    waiting = [asyncio.ensure_future(cache.rechecked(KEY, table.reread)) for _ in range(10)]
    await asyncio.sleep(0)
    table.gate.set()
    assert await asyncio.gather(*waiting) == [None] * 10
    assert table.reads == ["crm"]


async def test_a_failed_reread_keeps_the_entry_for_the_next_try(
    cache: AuthCache, clock: Clock
) -> None:
    async def unreachable(_name: str) -> StoredUser | None:
        raise ConnectionRefusedError("database down")

    clock.now += 0.6
    with pytest.raises(ConnectionRefusedError):
        await cache.rechecked(KEY, unreachable)
    table = Table()
    assert await cache.rechecked(KEY, table.reread) == USER
    assert table.reads == ["crm"]


async def test_an_expired_entry_is_gone_without_a_reread(cache: AuthCache, clock: Clock) -> None:
    table = Table()
    clock.now += 61
    assert cache.get(KEY) is None
    assert await cache.rechecked(KEY, table.reread) is None
    assert table.reads == []


async def test_an_entry_verified_again_during_a_reread_wins(cache: AuthCache, clock: Clock) -> None:
    """The row read for the old entry says nothing about the new one: the new one stands."""
    table = Table(None)
    table.gate = asyncio.Event()
    clock.now += 0.6
    rechecking = asyncio.ensure_future(cache.rechecked(KEY, table.reread))
    await table.reading.wait()  # the read of the old entry's row is under way
    newer = StoredUser("crm", "scrypt$1$hash-b", frozenset({"agent"}))
    cache.put(KEY, newer)
    table.gate.set()
    assert await rechecking == User("crm", frozenset({"agent"}))
    assert cache.get(KEY) == User("crm", frozenset({"agent"}))


async def test_verification_runs_once_for_concurrent_requests() -> None:
    cache = AuthCache(ttl=60)
    runs: list[str] = []
    gate = asyncio.Event()

    async def verify() -> StoredUser:
        runs.append("kdf")
        await gate.wait()
        return ROW

    waiting = [asyncio.ensure_future(cache.verified(KEY, verify)) for _ in range(20)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*waiting) == [USER] * 20
    assert runs == ["kdf"]
    assert cache.get(KEY) == USER
