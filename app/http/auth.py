"""HTTP Basic authentication against app_user, and role checks per handler."""

from __future__ import annotations

import asyncio
import binascii
from base64 import b64decode
from collections.abc import Awaitable, Callable, Iterable
from functools import wraps
from typing import Any

import asyncpg
from aiohttp import web

from app.domain.errors import ApiError, ErrorKind
from app.domain.passwords import verify_password
from app.http import keys
from app.http.auth_cache import User
from app.store import users

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _credentials(request: web.Request) -> tuple[str, str]:
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if not header:
        raise ApiError(ErrorKind.MISSING_CREDENTIALS, "Authentication required.")
    if scheme.lower() != "basic":
        raise ApiError(
            ErrorKind.INVALID_CREDENTIALS, "Only HTTP Basic authentication is supported."
        )
    try:
        name, sep, password = b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        sep = ""
    if not sep:
        raise ApiError(ErrorKind.INVALID_CREDENTIALS, "Malformed Basic credentials.")
    return name, password


async def authenticate(request: web.Request) -> User:
    """Remembered credentials are found by their header alone, before it is decoded."""
    cache = request.app[keys.AUTH_CACHE]
    header = request.headers.get("Authorization", "")
    cache_key = cache.key(header)
    user = cache.get(cache_key)
    if user is None:
        name, password = _credentials(request)
        user = await cache.verified(cache_key, lambda: _verify(keys.pool(request), name, password))
    request[keys.USER] = user
    return user


async def _verify(pool: asyncpg.Pool[Any], name: str, password: str) -> User:
    stored = await users.get(pool, name)
    # The KDF runs off the event loop; an unknown user costs the same as a wrong password.
    stored_hash = stored.password_hash if stored else _DUMMY_HASH
    ok = await asyncio.to_thread(verify_password, password, stored_hash)
    if stored is None or not ok:
        raise ApiError(ErrorKind.INVALID_CREDENTIALS, "Invalid user name or password.")
    return User(stored.name, stored.roles)


def requires(roles: Iterable[str]) -> Callable[[Handler], Handler]:
    """The caller must hold at least one of `roles`."""
    wanted = frozenset(roles)

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def wrapper(request: web.Request) -> web.StreamResponse:
            user = await authenticate(request)
            if wanted.isdisjoint(user.roles):
                raise ApiError(
                    ErrorKind.ACCESS_DENIED,
                    f"User {user.name} lacks a required role: {', '.join(sorted(wanted))}.",
                )
            return await handler(request)

        return wrapper

    return decorate


_DUMMY_HASH = (
    "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
)
