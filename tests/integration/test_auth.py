"""HTTP Basic against stored users; roles decide what a caller may do."""

from __future__ import annotations

import base64

import pytest
from aiohttp.test_utils import TestClient

from app.domain.passwords import verify_password
from tests.helpers.auth import auth, basic
from tests.helpers.error_objects import assert_error

WHOAMI = "/api/orderhub/whoami"


async def test_valid_credentials_and_role_is_200(client: TestClient) -> None:
    resp = await client.get(WHOAMI, headers=auth("agent"))
    assert resp.status == 200
    assert await resp.json() == {"name": "agent", "roles": ["sn_ind_tmt_orm.service_order_agent"]}


async def test_missing_credentials_is_401_with_challenge(client: TestClient) -> None:
    resp = await client.get(WHOAMI)
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"].startswith("Basic ")
    assert_error(await resp.json(), 40)


@pytest.mark.parametrize(
    "headers",
    [
        basic("agent", "wrong"),
        basic("ghost", "agent-pw"),
        {"Authorization": "Bearer abc"},
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
    ],
)
async def test_bad_credentials_are_401(client: TestClient, headers: dict[str, str]) -> None:
    resp = await client.get(WHOAMI, headers=headers)
    assert resp.status == 401
    assert "WWW-Authenticate" in resp.headers
    assert_error(await resp.json(), 41)


async def test_user_without_role_is_403(client: TestClient) -> None:
    resp = await client.get(WHOAMI, headers=auth("nobody"))
    assert resp.status == 403
    assert_error(await resp.json(), 50, "lacks a required role")


async def test_cached_credentials_do_not_outlive_a_password_check(client: TestClient) -> None:
    assert (await client.get(WHOAMI, headers=auth("agent"))).status == 200
    assert (await client.get(WHOAMI, headers=auth("agent"))).status == 200
    assert (await client.get(WHOAMI, headers=basic("agent", "agent-pw2"))).status == 401


@pytest.mark.parametrize("password", ["agent-pw", "wrong"])
async def test_concurrent_requests_with_new_credentials_run_one_password_check(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, password: str
) -> None:
    """A burst of connections from one integration must not run scrypt once per request."""
    import asyncio

    from app.http import auth as http_auth

    checks = []

    def counting(candidate: str, stored: str) -> bool:
        checks.append(candidate)
        return verify_password(candidate, stored)

    monkeypatch.setattr(http_auth, "verify_password", counting)
    answers = await asyncio.gather(
        *(client.get(WHOAMI, headers=basic("agent", password)) for _ in range(20))
    )
    expected = 200 if password == "agent-pw" else 401
    assert [a.status for a in answers] == [expected] * 20
    assert len(checks) == 1
