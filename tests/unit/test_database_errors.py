"""Which database failures are the database being away (503, or a retry in a worker) and which
stay bugs (500): the answer a client gets during a PostgreSQL restart depends on it."""

from __future__ import annotations

import asyncpg
import pytest

from app.store.db import is_transient, is_unavailable

LOST = "cannot switch to state 12; another operation (2) is in progress"


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionResetError(),
        asyncpg.exceptions.AdminShutdownError(
            "terminating connection due to administrator command"
        ),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        asyncpg.exceptions.InternalClientError(LOST),
    ],
)
def test_a_connection_lost_in_a_restart_is_unavailable(exc: BaseException) -> None:
    assert is_unavailable(exc)
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.exceptions.InternalClientError("unexpected codec"),
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        ValueError("bug"),
    ],
)
def test_other_failures_are_not(exc: BaseException) -> None:
    assert not is_unavailable(exc)
