"""The console's session rules: who may enter, when a session ends, and the token checks.

Pure: the store keeps the rows (console_session) and app/http/console applies the verdicts.
A session row is found by the digest of the cookie's token, so the table alone opens no
session; it remembers a digest of the user's password hash as it was at sign-in, so that a
password change (however made) ends every session of that user at its next request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Final

from app.domain.roles import CONSOLE_ROLES

TOKEN_BYTES: Final = 32  # 256 bits: not guessable, whatever the number of sessions
TOUCH_EVERY_SECONDS: Final = 60.0
"""A session's last-seen time is written at most this often (and more often only for a very
short idle limit), so that reading pages costs no write per request."""

HOME: Final = "/console/orders"


class Verdict(Enum):
    VALID = "valid"
    EXPIRED = "expired"  # past its lifetime
    IDLE = "idle"  # unused longer than the idle limit
    REVOKED = "revoked"  # the password changed since sign-in

    @property
    def message(self) -> str:
        """What the sign-in page says after the session ended, by this verdict's value."""
        return ENDED_MESSAGES[self.value]


ENDED_MESSAGES: Final = {
    "valid": "",
    "expired": "Your session expired. Sign in again.",
    "idle": "Your session ended after a period of inactivity. Sign in again.",
    "revoked": "Your password was changed. Sign in again.",
    "signed_out": "You are signed out.",
}


@dataclass(frozen=True)
class SessionFacts:
    """A stored session and its user's row, as read in one query."""

    expires_at: datetime
    last_seen_at: datetime
    password_check: str
    current_password_hash: str


def new_token() -> str:
    """A session token or CSRF token: URL-safe text of TOKEN_BYTES random bytes."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """What the table keeps instead of the token: a leaked table then opens no session."""
    return hashlib.sha256(token.encode()).hexdigest()


def password_check(password_hash: str) -> str:
    """A digest of the stored password hash: changes whenever the password is set again
    (a new salt each time), without the session table holding the hash itself."""
    return hashlib.sha256(b"console-session\0" + password_hash.encode()).hexdigest()


def expires_at(now: datetime, lifetime_seconds: float) -> datetime:
    return now + timedelta(seconds=lifetime_seconds)


def verdict(facts: SessionFacts, now: datetime, idle_seconds: float) -> Verdict:
    """Whether a stored session still opens the console at `now`."""
    if not hmac.compare_digest(facts.password_check, password_check(facts.current_password_hash)):
        return Verdict.REVOKED
    if now >= facts.expires_at:
        return Verdict.EXPIRED
    if now - facts.last_seen_at >= timedelta(seconds=idle_seconds):
        return Verdict.IDLE
    return Verdict.VALID


def needs_touch(last_seen_at: datetime, now: datetime, idle_seconds: float) -> bool:
    """Time to write the last-seen time again: often enough that the idle limit never ends a
    session in use, rarely enough to be no write per page."""
    every = min(TOUCH_EVERY_SECONDS, idle_seconds / 4)
    return now - last_seen_at >= timedelta(seconds=every)


def tokens_match(expected: str, given: str | None) -> bool:
    """The CSRF check: a form's token against the session's, in constant time."""
    if not given or not expected:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def may_enter(roles: Iterable[str]) -> bool:
    """The console opens for the agent and manager roles (the demo admin holds them all)."""
    return not CONSOLE_ROLES.isdisjoint(roles)


def may_act(roles: Iterable[str]) -> bool:
    """Initiate or revise outbound requests, retry queue entries: the same roles the operator
    API asks for."""
    return not CONSOLE_ROLES.isdisjoint(roles)


def safe_next(path: str | None) -> str:
    """Where to go after signing in: a console page of this site only, never another site
    (`//host`, `/\\host`) nor anything outside the console."""
    if not path or not path.startswith("/console/") or path.startswith(("//", "/\\")):
        return HOME
    if any(c in path for c in "\\\r\n\t") or path.startswith("/console/static/"):
        return HOME
    return path
