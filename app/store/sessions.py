"""The console_session table: the console's sign-in sessions, shared by every API process.

A session is found by the digest of its token, together with its user's current row, in one
primary-key lookup per page (app/domain/console_sessions.py judges what it finds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.store.db import Connection

CREATE = """
INSERT INTO console_session (token_digest, user_name, password_check, csrf_token, created_at,
                             last_seen_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $5, $6)
"""
GET = """
SELECT s.token_digest, s.user_name, s.password_check, s.csrf_token, s.created_at,
       s.last_seen_at, s.expires_at, s.flash, u.password_hash, u.roles
  FROM console_session s JOIN app_user u ON u.name = s.user_name
 WHERE s.token_digest = $1
"""
TOUCH = "UPDATE console_session SET last_seen_at = $2 WHERE token_digest = $1"
SET_FLASH = "UPDATE console_session SET flash = $2 WHERE token_digest = $1"
TAKE_FLASH = """
UPDATE console_session SET flash = NULL WHERE token_digest = $1 AND flash IS NOT NULL
"""
DELETE = "DELETE FROM console_session WHERE token_digest = $1"
PURGE = "DELETE FROM console_session WHERE expires_at < $1 OR last_seen_at < $2"


@dataclass(frozen=True)
class StoredSession:
    token_digest: str
    user_name: str
    password_check: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    flash: dict[str, Any] | None
    password_hash: str
    roles: frozenset[str]


async def create(
    conn: Connection,
    *,
    token_digest: str,
    user_name: str,
    password_check: str,
    csrf_token: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(CREATE, token_digest, user_name, password_check, csrf_token, now, expires_at)


async def get(conn: Connection, token_digest: str) -> StoredSession | None:
    """The session with its user's password hash and roles as they are now; None when there
    is no such session (or its user was deleted, which deletes it)."""
    row = await conn.fetchrow(GET, token_digest)
    if row is None:
        return None
    return StoredSession(**{**dict(row), "roles": frozenset(row["roles"])})


async def touch(conn: Connection, token_digest: str, now: datetime) -> None:
    await conn.execute(TOUCH, token_digest, now)


async def set_flash(conn: Connection, token_digest: str, flash: dict[str, Any]) -> None:
    """A message for the next page this session shows (after a redirect), and only that one."""
    await conn.execute(SET_FLASH, token_digest, flash)


async def clear_flash(conn: Connection, token_digest: str) -> None:
    await conn.execute(TAKE_FLASH, token_digest)


async def delete(conn: Connection, token_digest: str) -> None:
    await conn.execute(DELETE, token_digest)


async def purge(conn: Connection, *, now: datetime, idle_before: datetime) -> int:
    """Sessions past their lifetime or idle limit: they open nothing, and go."""
    result: str = await conn.execute(PURGE, now, idle_before)
    return int(result.split()[-1])
