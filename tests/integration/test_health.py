"""/health says the process is up; /ready says PostgreSQL and Redis answer."""

from __future__ import annotations

from dataclasses import replace

from aiohttp.test_utils import TestClient

from app.cli.embedded import free_port
from app.http.app import create_app
from app.settings import Settings
from tests.helpers.auth import auth
from tests.helpers.error_objects import assert_error
from tests.helpers.in_process import app_client


async def test_health_needs_no_auth(client: TestClient) -> None:
    resp = await client.get("/health")
    assert resp.status == 200
    assert await resp.json() == {"status": "up"}


async def test_ready_when_both_servers_answer(client: TestClient) -> None:
    resp = await client.get("/ready")
    assert resp.status == 200
    assert await resp.json() == {"status": "ready", "postgres": "up", "redis": "up"}


async def test_ready_is_503_when_postgres_is_unreachable(settings: Settings) -> None:
    down = replace(
        settings,
        database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/x",
        orderhub_db_timeout=1.0,
    )
    async with app_client(create_app(down)) as client:
        resp = await client.get("/ready")
        assert resp.status == 503
        assert resp.headers["Retry-After"].isdigit()
        body = await resp.json()
        assert_error(body, 2, "PostgreSQL unreachable")
        assert "Redis" not in body["details"][0]["message"]
        # Any route that needs the database answers 503 too, never 500.
        resp = await client.get("/api/orderhub/whoami", headers=auth("agent"))
        assert resp.status == 503
        assert "Retry-After" in resp.headers
        assert_error(await resp.json(), 2)


async def test_ready_is_503_when_redis_is_unreachable(settings: Settings) -> None:
    down = replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with app_client(create_app(down)) as client:
        resp = await client.get("/ready")
        assert resp.status == 503
        assert_error(await resp.json(), 2, "Redis unreachable")
