"""Brute-force throttle: past ORDERHUB_SIGNIN_FAILURES failures for a user name or from an
address, attempts are answered 429 with Retry-After before any password is checked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from app.cli.embedded import free_port
from app.domain.passwords import verify_password
from app.http import auth as http_auth
from app.http.app import create_app
from app.settings import Settings
from app.store import users
from tests.helpers.auth import auth, basic
from tests.helpers.error_objects import assert_error
from tests.helpers.in_process import app_client
from tests.helpers.polling import wait_for_async

WHOAMI = "/api/orderhub/whoami"
THRESHOLD = 3


def _xff(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


@pytest.fixture
def kdf_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The passwords scrypt was run for."""
    runs: list[str] = []

    def counting(candidate: str, stored: str) -> bool:
        runs.append(candidate)
        return verify_password(candidate, stored)

    monkeypatch.setattr(http_auth, "verify_password", counting)
    return runs


@pytest.fixture
async def throttled(settings: Settings) -> AsyncIterator[TestClient]:
    """Behind a trusted proxy, so that a test can sign in from several addresses."""
    changed = replace(
        settings,
        orderhub_signin_failures=THRESHOLD,
        orderhub_trusted_proxy=True,
        orderhub_signin_max_delay_seconds=60,
    )
    async with app_client(create_app(changed)) as c:
        yield c


async def _fail(client: TestClient, user: str, address: str = "192.0.2.1", n: int = 1) -> None:
    for i in range(n):
        resp = await client.get(WHOAMI, headers={**basic(user, f"guess-{i}"), **_xff(address)})
        assert resp.status == 401, await resp.text()


async def test_past_the_threshold_no_password_is_checked_and_429_says_when(
    throttled: TestClient, kdf_runs: list[str]
) -> None:
    await _fail(throttled, "agent", n=THRESHOLD)
    assert len(kdf_runs) == THRESHOLD
    # Even the right password waits: it is not checked at all.
    resp = await throttled.get(WHOAMI, headers={**auth("agent"), **_xff("192.0.2.1")})
    assert resp.status == 429
    assert resp.headers["Retry-After"] == "1"
    assert_error(await resp.json(), 67, "Too many failed sign-ins")
    assert len(kdf_runs) == THRESHOLD


async def test_the_standard_flavour_answers_429_with_a_string_code(
    throttled: TestClient,
) -> None:
    await _fail(throttled, "integrator", n=THRESHOLD)
    headers = {**auth("integrator"), **_xff("192.0.2.1")}
    resp = await throttled.get("/tmf-api/serviceOrdering/v4/serviceOrder", headers=headers)
    assert resp.status == 429 and "Retry-After" in resp.headers
    assert_error(await resp.json(), "67")


async def test_an_address_is_throttled_whatever_user_it_tries(
    throttled: TestClient, kdf_runs: list[str]
) -> None:
    for user in ("agent", "admin", "ghost"):
        await _fail(throttled, user, address="192.0.2.7")
    resp = await throttled.get(WHOAMI, headers={**auth("nobody"), **_xff("192.0.2.7")})
    assert resp.status == 429
    # Another address is not held up.
    resp = await throttled.get(WHOAMI, headers={**auth("admin"), **_xff("192.0.2.8")})
    assert resp.status == 200
    assert len(kdf_runs) == THRESHOLD + 1


async def test_a_user_is_throttled_from_whatever_address(
    throttled: TestClient, kdf_runs: list[str]
) -> None:
    for n in range(THRESHOLD):
        await _fail(throttled, "agent", address=f"198.51.100.{n}")
    resp = await throttled.get(WHOAMI, headers={**auth("agent"), **_xff("198.51.100.99")})
    assert resp.status == 429
    # The new address was not counted for that refusal: it signs in as another user.
    resp = await throttled.get(WHOAMI, headers={**auth("admin"), **_xff("198.51.100.99")})
    assert resp.status == 200


async def test_a_successful_sign_in_clears_the_user_and_the_address(
    throttled: TestClient,
) -> None:
    await _fail(throttled, "agent", n=THRESHOLD - 1)
    resp = await throttled.get(WHOAMI, headers={**auth("agent"), **_xff("192.0.2.1")})
    assert resp.status == 200
    # Counted afresh: THRESHOLD more failures are checked before the wait starts.
    await _fail(throttled, "agent", n=THRESHOLD)
    resp = await throttled.get(WHOAMI, headers={**basic("agent", "x"), **_xff("192.0.2.1")})
    assert resp.status == 429


async def test_the_wait_doubles_with_each_further_failure(throttled: TestClient) -> None:
    await _fail(throttled, "agent", n=THRESHOLD)
    headers = {**basic("agent", "still-wrong"), **_xff("192.0.2.1")}
    first = await throttled.get(WHOAMI, headers=headers)
    assert first.status == 429 and first.headers["Retry-After"] == "1"

    async def checked_again() -> bool:
        return (await throttled.get(WHOAMI, headers=headers)).status == 401

    await wait_for_async(checked_again, 5, "an attempt checked once the first wait ended")
    second = await throttled.get(WHOAMI, headers=headers)
    assert second.status == 429 and second.headers["Retry-After"] == "2"


async def test_a_burst_of_concurrent_guesses_checks_no_more_than_the_threshold(
    throttled: TestClient, kdf_runs: list[str]
) -> None:
    """Counted before the check: the guesses cannot all pass before the first one fails."""
    guesses = [
        throttled.get(WHOAMI, headers={**basic("admin", f"guess-{i}"), **_xff("192.0.2.50")})
        for i in range(20)
    ]
    statuses = sorted(resp.status for resp in await asyncio.gather(*guesses))
    assert statuses == [401] * THRESHOLD + [429] * (20 - THRESHOLD)
    assert len(kdf_runs) == THRESHOLD


async def test_remembered_credentials_are_not_throttled(throttled: TestClient) -> None:
    """They were checked already: someone guessing a user's password does not lock out the
    integration that signed in with it."""
    good = {**auth("agent"), **_xff("192.0.2.1")}
    assert (await throttled.get(WHOAMI, headers=good)).status == 200
    await _fail(throttled, "agent", address="203.0.113.5", n=THRESHOLD)
    assert (await throttled.get(WHOAMI, headers=good)).status == 200


async def test_a_throttled_attempt_is_logged(throttled: TestClient) -> None:
    await _fail(throttled, "agent", n=THRESHOLD)
    with capture_logs() as logs:
        await throttled.get(WHOAMI, headers={**basic("agent", "guess"), **_xff("192.0.2.1")})
    [line] = [entry for entry in logs if entry["event"] == "sign_in_failed"]
    assert line["reason"] == "throttled" and line["user"] == "agent"
    assert line["address"] == "192.0.2.1"


async def test_redis_down_fails_open_and_passwords_are_still_checked(
    settings: Settings, kdf_runs: list[str]
) -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    changed = replace(settings, redis_url=nowhere, orderhub_signin_failures=THRESHOLD)
    async with app_client(create_app(changed)) as client:
        with capture_logs() as logs:
            for i in range(THRESHOLD + 2):
                resp = await client.get(WHOAMI, headers=basic("agent", f"guess-{i}"))
                assert resp.status == 401
            assert (await client.get(WHOAMI, headers=auth("agent"))).status == 200
    assert len(kdf_runs) == THRESHOLD + 3
    unavailable = [entry for entry in logs if entry["event"] == "sign_in_throttle_unavailable"]
    assert unavailable and all(entry["log_level"] == "warning" for entry in unavailable)


class Outage:
    """users.get failing as it does while PostgreSQL is away, until ended."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        self._read_row = users.get

    def start(self) -> None:
        async def away(conn: object, name: str) -> None:
            raise ConnectionResetError("PostgreSQL is away")

        self._monkeypatch.setattr(users, "get", away)

    def end(self) -> None:
        self._monkeypatch.setattr(users, "get", self._read_row)


@pytest.fixture
def outage(monkeypatch: pytest.MonkeyPatch) -> Outage:
    return Outage(monkeypatch)


async def test_attempts_that_met_a_database_outage_are_not_counted(
    throttled: TestClient, outage: Outage
) -> None:
    """503s while PostgreSQL is away judged no password: afterwards the right one signs in."""
    outage.start()
    for _ in range(2 * THRESHOLD):
        resp = await throttled.get(WHOAMI, headers={**auth("agent"), **_xff("192.0.2.9")})
        assert resp.status == 503, await resp.text()
    outage.end()
    resp = await throttled.get(WHOAMI, headers={**auth("agent"), **_xff("192.0.2.9")})
    assert resp.status == 200, await resp.text()


async def test_a_failure_after_an_outage_still_counts(
    throttled: TestClient, outage: Outage
) -> None:
    await _fail(throttled, "agent", n=THRESHOLD - 1)
    outage.start()
    resp = await throttled.get(WHOAMI, headers={**auth("agent"), **_xff("192.0.2.1")})
    assert resp.status == 503
    outage.end()
    await _fail(throttled, "agent")  # the threshold's failure: a wait starts
    resp = await throttled.get(WHOAMI, headers={**auth("agent"), **_xff("192.0.2.1")})
    assert resp.status == 429
