"""Briefly remembers verified credentials so that scrypt does not run on every request.

Keyed by a hash of name and password, never the password itself.
"""

from __future__ import annotations

import hashlib
import time
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

    @staticmethod
    def key(name: str, password: str) -> bytes:
        return hashlib.sha256(f"{name}\0{password}".encode()).digest()

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
