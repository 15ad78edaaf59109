"""A refused sign-in writes one warning line: who tried, from where, why; never the secret."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from app.http.app import create_app
from app.settings import Settings
from tests.helpers.auth import auth, basic
from tests.helpers.in_process import app_client

WHOAMI = "/api/orderhub/whoami"
SECRET = "s3cret-guess"


def _failures(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in logs if line["event"] == "sign_in_failed"]


async def test_a_wrong_password_is_logged_with_user_and_address_not_the_secret(
    client: TestClient,
) -> None:
    headers = basic("agent", SECRET)
    with capture_logs() as logs:
        assert (await client.get(WHOAMI, headers=headers)).status == 401
    [line] = _failures(logs)
    assert line["log_level"] == "warning"
    assert line["user"] == "agent"
    assert line["address"] == "127.0.0.1"
    assert line["reason"] == "invalid_credentials"
    assert SECRET not in repr(logs)
    assert headers["Authorization"].split()[1] not in repr(logs)
    assert "Basic " not in repr(logs)


async def test_an_unknown_user_is_logged_alike(client: TestClient) -> None:
    with capture_logs() as logs:
        assert (await client.get(WHOAMI, headers=basic("ghost", SECRET))).status == 401
    [line] = _failures(logs)
    assert line["user"] == "ghost" and line["reason"] == "invalid_credentials"
    assert SECRET not in repr(logs)


async def test_malformed_credentials_are_logged_without_a_user(client: TestClient) -> None:
    with capture_logs() as logs:
        resp = await client.get(WHOAMI, headers={"Authorization": "Basic !!!not-base64"})
    assert resp.status == 401
    [line] = _failures(logs)
    assert line["user"] is None and line["reason"] == "malformed_credentials"
    assert "not-base64" not in repr(logs)


async def test_no_credentials_and_good_ones_log_no_failure(client: TestClient) -> None:
    with capture_logs() as logs:
        assert (await client.get(WHOAMI)).status == 401  # a challenge, not a sign-in attempt
        assert (await client.get(WHOAMI, headers=auth("agent"))).status == 200
    assert _failures(logs) == []


async def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(client: TestClient) -> None:
    headers = {**basic("agent", SECRET), "X-Forwarded-For": "203.0.113.9"}
    with capture_logs() as logs:
        await client.get(WHOAMI, headers=headers)
    assert _failures(logs)[0]["address"] == "127.0.0.1"


async def test_behind_a_trusted_proxy_the_address_it_appended_is_logged(
    settings: Settings,
) -> None:
    """Only the last entry is the proxy's: the ones before it are the client's to invent."""
    headers = {**basic("agent", SECRET), "X-Forwarded-For": "198.51.100.1, 203.0.113.9"}
    proxied_app = create_app(replace(settings, orderhub_trusted_proxy=True))
    async with app_client(proxied_app) as proxied:
        with capture_logs() as logs:
            await proxied.get(WHOAMI, headers=headers)
            await proxied.get(WHOAMI, headers=basic("agent", SECRET))  # no header: the peer
    assert [line["address"] for line in _failures(logs)] == ["203.0.113.9", "127.0.0.1"]
