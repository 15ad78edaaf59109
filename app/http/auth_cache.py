"""Briefly remembers verified credentials so that scrypt does not run on every request.

Keyed by a hash of the Authorization header, never the password itself. While a key is being
verified, other requests with it wait for that verification instead of running their own: an
integration opening 64 connections at once (or the entry expiring under load) costs one scrypt,
not 64 that would stall every request behind them.

An entry also remembers the user's row as it was when the password was checked. Once it was
last compared more than `recheck` seconds ago, the row is read again (a primary-key lookup,
no KDF) before the entry is used: a changed password hash or roles, or a deleted user, drops
it, so `orderhub user add` takes effect in every process within about a second rather than
at the entry's expiry. That re-read is single-flight per key too.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from app.store.users import StoredUser

RECHECK_SECONDS = 0.5
"""How stale the remembered row may be by default (ORDERHUB_AUTH_RECHECK_SECONDS)."""

T = TypeVar("T")
Reread = Callable[[str], Awaitable[StoredUser | None]]


@dataclass(frozen=True)
class User:
    name: str
    roles: frozenset[str]


@dataclass(frozen=True)
class _Entry:
    user: User
    row: StoredUser  # as it was when the password was checked
    expires: float
    checked: float  # when `row` was last found unchanged


class AuthCache:
    def __init__(
        self,
        ttl: float,
        max_entries: int = 10_000,
        recheck: float = RECHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._recheck = recheck
        self._clock = clock
        self._entries: dict[bytes, _Entry] = {}
        self._verifying: dict[bytes, asyncio.Future[User]] = {}
        self._rechecking: dict[bytes, asyncio.Future[User | None]] = {}

    @staticmethod
    def key(authorization: str) -> bytes:
        """The Authorization header's digest: it holds the password, so it is never kept."""
        return hashlib.sha256(authorization.encode()).digest()

    def _live(self, key: bytes) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None and entry.expires < self._clock():
            del self._entries[key]
            return None
        return entry

    def get(self, key: bytes) -> User | None:
        """The remembered user, only while its row was compared within `recheck` seconds:
        the path of nearly every request, with no await."""
        entry = self._live(key)
        if entry is None or entry.checked + self._recheck < self._clock():
            return None
        return entry.user

    async def rechecked(self, key: bytes, reread: Reread) -> User | None:
        """The remembered user once `reread` found its row unchanged; None when nothing is
        remembered or the row changed (the entry is then dropped: the password is checked
        again, against the new row)."""
        entry = self._live(key)
        if entry is None:
            return None
        if entry.checked + self._recheck >= self._clock():
            return entry.user
        return await _single_flight(self._rechecking, key, lambda: self._recheck_row(key, reread))

    async def _recheck_row(self, key: bytes, reread: Reread) -> User | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        started = self._clock()
        current = await reread(entry.row.name)
        if self._entries.get(key) is not entry:  # verified again or dropped meanwhile
            return self.get(key)
        if current != entry.row:
            del self._entries[key]
            return None
        self._entries[key] = replace(entry, checked=started)
        return entry.user

    def put(self, key: bytes, row: StoredUser) -> User:
        if len(self._entries) >= self._max:
            self._entries.clear()
        now = self._clock()
        user = User(row.name, row.roles)
        self._entries[key] = _Entry(user, row, now + self._ttl, now)
        return user

    async def verified(self, key: bytes, verify: Callable[[], Awaitable[StoredUser]]) -> User:
        """The user whose row `verify` yields, run once per key however many requests wait."""
        return await _single_flight(self._verifying, key, lambda: self._verify_and_put(key, verify))

    async def _verify_and_put(
        self, key: bytes, verify: Callable[[], Awaitable[StoredUser]]
    ) -> User:
        return self.put(key, await verify())


async def _single_flight(
    running: dict[bytes, asyncio.Future[T]], key: bytes, start: Callable[[], Awaitable[T]]
) -> T:
    """`start()`'s result, started only if no run for `key` is in flight already. A waiter
    cancelled (its client went away) does not cancel the run the others wait for."""
    flight = running.get(key)
    if flight is None:
        flight = asyncio.ensure_future(start())
        running[key] = flight
        flight.add_done_callback(lambda done: _finished(running, key, done))
    return await asyncio.shield(flight)


def _finished(running: dict[bytes, asyncio.Future[T]], key: bytes, done: asyncio.Future[T]) -> None:
    if running.get(key) is done:
        del running[key]
    if not done.cancelled():
        done.exception()  # retrieved: no "exception was never retrieved" if every waiter left
