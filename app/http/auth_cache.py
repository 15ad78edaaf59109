"""Briefly remembers verified credentials so that scrypt does not run on every request.

Keyed by a hash of the Authorization header, never the password itself. While a key is being
verified, other requests with it wait for that verification instead of running their own: an
integration opening 64 connections at once (or the entry expiring under load) costs one scrypt,
not 64 that would stall every request behind them.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class User:
    name: str
    roles: frozenset[str]


class AuthCache:
    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._entries: dict[bytes, tuple[User, float]] = {}
        self._verifying: dict[bytes, asyncio.Future[User]] = {}

    @staticmethod
    def key(authorization: str) -> bytes:
        """The Authorization header's digest: it holds the password, so it is never kept."""
        return hashlib.sha256(authorization.encode()).digest()

    def get(self, key: bytes) -> User | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        user, expires = entry
        if expires < time.monotonic():
            del self._entries[key]
            return None
        return user

    def put(self, key: bytes, user: User) -> None:
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[key] = (user, time.monotonic() + self._ttl)

    async def verified(self, key: bytes, verify: Callable[[], Awaitable[User]]) -> User:
        """The user `verify` yields, run once per key however many requests wait for it."""
        running = self._verifying.get(key)
        if running is None:
            running = asyncio.ensure_future(verify())
            self._verifying[key] = running
            running.add_done_callback(lambda _: self._verifying.pop(key, None))
        user = await asyncio.shield(running)
        self.put(key, user)
        return user
