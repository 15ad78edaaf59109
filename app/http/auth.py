"""HTTP Basic authentication against app_user, and role checks per handler.

Every refused sign-in is logged (who tried, from where, never the password), and password
checks are throttled per user name and per client address (app/http/throttle.py).
"""

from __future__ import annotations

import asyncio
import binascii
from base64 import b64decode
from collections.abc import Awaitable, Callable, Iterable
from functools import wraps

from aiohttp import web

from app import logs
from app.domain.errors import ApiError, ErrorKind
from app.domain.passwords import verify_password
from app.http import keys
from app.http.auth_cache import User
from app.http.peer import client_address
from app.http.throttle import SignInThrottle
from app.store import users
from app.store.users import StoredUser

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = logs.get("orderhub.http")


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
    """Remembered credentials are found by their header alone, before it is decoded; their
    user's row is read again about twice a second (no KDF) so that changes apply quickly."""
    cache = request.app[keys.AUTH_CACHE]
    header = request.headers.get("Authorization", "")
    cache_key = cache.key(header)
    user = cache.get(cache_key)
    if user is None:
        user = await cache.rechecked(cache_key, lambda name: users.get(keys.pool(request), name))
    if user is None:
        user = await _sign_in(request, cache_key)
    request[keys.USER] = user
    return user


async def _sign_in(request: web.Request, cache_key: bytes) -> User:
    """A password check, once per header however many requests carry it at once."""
    address = client_address(request)
    name: str | None = None
    try:
        name, password = _credentials(request)
        checked_name = name
        return await request.app[keys.AUTH_CACHE].verified(
            cache_key, lambda: verify_credentials(request, checked_name, password, address)
        )
    except ApiError as exc:
        if exc.kind is not ErrorKind.MISSING_CREDENTIALS:
            log.warning("sign_in_failed", user=name, address=address, reason=_reason(exc, name))
        raise


def _reason(error: ApiError, name: str | None) -> str:
    if error.kind is ErrorKind.TOO_MANY_REQUESTS:
        return "throttled"
    return "malformed_credentials" if name is None else "invalid_credentials"


async def verify_credentials(
    request: web.Request, name: str, password: str, address: str
) -> StoredUser:
    """The throttle first: a throttled attempt reads no row and runs no KDF."""
    throttle = SignInThrottle.from_settings(request.app[keys.REDIS], request.app[keys.SETTINGS])
    await throttle.admit(name, address)
    try:
        stored = await users.get(keys.pool(request), name)
    except Exception:
        await throttle.uncount(name, address)
        raise
    # The KDF runs off the event loop; an unknown user costs the same as a wrong password.
    stored_hash = stored.password_hash if stored else _DUMMY_HASH
    ok = await asyncio.to_thread(verify_password, password, stored_hash)
    if stored is None or not ok:
        raise ApiError(ErrorKind.INVALID_CREDENTIALS, "Invalid user name or password.")
    await throttle.clear(name, address)
    return stored


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
