"""Console sessions: started after a verified sign-in, checked on every page, ended on sign-out
or when the rules of app/domain/console_sessions.py say so."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.domain import console_sessions as rules
from app.store import sessions
from app.store.db import Connection
from app.store.sessions import StoredSession
from app.store.users import StoredUser


@dataclass(frozen=True)
class Started:
    token: str  # for the cookie only; the table keeps its digest
    csrf_token: str


@dataclass(frozen=True)
class Checked:
    """A session found by its token: the verdict, and when valid the session itself with any
    message it carried for this page (taken, so it shows once)."""

    verdict: rules.Verdict
    session: StoredSession | None = None
    flash: dict[str, Any] | None = None


def now() -> datetime:
    return datetime.now(UTC)


async def start(conn: Connection, user: StoredUser, *, lifetime_seconds: float) -> Started:
    token, csrf = rules.new_token(), rules.new_token()
    started_at = now()
    await sessions.create(
        conn,
        token_digest=rules.token_digest(token),
        user_name=user.name,
        password_check=rules.password_check(user.password_hash),
        csrf_token=csrf,
        now=started_at,
        expires_at=rules.expires_at(started_at, lifetime_seconds),
    )
    return Started(token, csrf)


async def check(conn: Connection, token: str, *, idle_seconds: float) -> Checked | None:
    """None when no session has this token; a session that ended is deleted as it is found."""
    digest = rules.token_digest(token)
    stored = await sessions.get(conn, digest)
    if stored is None:
        return None
    at = now()
    facts = rules.SessionFacts(
        stored.expires_at, stored.last_seen_at, stored.password_check, stored.password_hash
    )
    verdict = rules.verdict(facts, at, idle_seconds)
    if verdict is not rules.Verdict.VALID:
        await sessions.delete(conn, digest)
        return Checked(verdict)
    if rules.needs_touch(stored.last_seen_at, at, idle_seconds):
        await sessions.touch(conn, digest, at)
    if stored.flash is not None:
        await sessions.clear_flash(conn, digest)
    return Checked(verdict, stored, stored.flash)


async def end(conn: Connection, token: str) -> None:
    await sessions.delete(conn, rules.token_digest(token))


async def flash(conn: Connection, token_digest: str, kind: str, text: str) -> None:
    """A message for the page the next redirect leads to: `kind` is notice or refusal."""
    await sessions.set_flash(conn, token_digest, {"kind": kind, "text": text})
