"""Real PostgreSQL and Redis for every test that asks: DATABASE_URL/REDIS_URL when set, else
embedded.

One template database with the schema and the test users is built per run; each test that
needs a database gets a fresh clone of it, dropped afterwards. Every server fixture is lazy: a
test that requests none of them (all of tests/unit) starts no server.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from app.cli.embedded import EmbeddedPostgres, EmbeddedRedis
from app.http.app import create_app
from app.settings import Settings
from app.store import db
from app.stub.callbacks import OUTBOUND_RESPONSE_PATH
from tests.helpers.databases import (
    RUN_ID,
    cloned_database,
    install_schema_and_users,
    load_demo_catalog,
    with_database,
)
from tests.helpers.in_process import app_client
from tests.helpers.receiver import Receiver
from tests.helpers.settings import isolated_settings


@pytest.fixture(scope="session")
def servers_dir() -> Iterator[Path]:
    """Outside pytest's own temporary folders, which a concurrent pytest run may prune."""
    path = Path(tempfile.mkdtemp(prefix="orderhub-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_admin_url(servers_dir: Path) -> Iterator[str]:
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    server = EmbeddedPostgres(servers_dir / "pg")
    yield server.start()
    server.stop()


@pytest.fixture(scope="session")
def redis_url(servers_dir: Path) -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = EmbeddedRedis(servers_dir / "redis")
    yield server.start()
    server.stop()


@pytest.fixture(scope="session")
async def template_db(postgres_admin_url: str) -> AsyncIterator[str]:
    name = f"orderhub_tpl_{RUN_ID}"
    admin = await asyncpg.connect(postgres_admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    conn = await db.connect(with_database(postgres_admin_url, name))
    try:
        await install_schema_and_users(conn)
    finally:
        await conn.close()
    yield name
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(scope="session")
async def demo_template_db(postgres_admin_url: str, template_db: str) -> AsyncIterator[str]:
    """The template plus the demo catalogue's reference data."""
    name = f"orderhub_demo_tpl_{RUN_ID}"
    admin = await asyncpg.connect(postgres_admin_url)
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    conn = await db.connect(with_database(postgres_admin_url, name))
    try:
        await load_demo_catalog(conn)
    finally:
        await conn.close()
    yield name
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture
async def new_database(postgres_admin_url: str) -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """Makes empty databases on demand; drops them all afterwards."""
    admin = await asyncpg.connect(postgres_admin_url)
    names: list[str] = []

    async def make() -> str:
        names.append(f"orderhub_m_{RUN_ID}_{uuid.uuid4().hex[:8]}")
        await admin.execute(f'CREATE DATABASE "{names[-1]}"')
        return with_database(postgres_admin_url, names[-1])

    try:
        yield make
    finally:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def database_url(postgres_admin_url: str, template_db: str) -> AsyncIterator[str]:
    async with cloned_database(postgres_admin_url, template_db) as url:
        yield url


@pytest.fixture
async def demo_database_url(postgres_admin_url: str, demo_template_db: str) -> AsyncIterator[str]:
    async with cloned_database(postgres_admin_url, demo_template_db) as url:
        yield url


@pytest.fixture
async def demo_settings(demo_database_url: str, redis_url: str) -> AsyncIterator[Settings]:
    async with isolated_settings(demo_database_url, redis_url) as value:
        yield value


@pytest.fixture
async def demo_client(demo_settings: Settings) -> AsyncIterator[TestClient]:
    async with app_client(create_app(demo_settings)) as c:
        yield c


@pytest.fixture
async def settings(database_url: str, redis_url: str) -> AsyncIterator[Settings]:
    async with isolated_settings(database_url, redis_url) as value:
        yield value


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await db.create_pool(database_url, max_size=4)
    yield p
    await p.close()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[TestClient]:
    async with app_client(create_app(settings)) as c:
        yield c


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """OrderHub's outboundresponse endpoint on 127.0.0.1, for the SOM/TOM stub to call."""
    recorder = Receiver()
    app = web.Application()
    app.router.add_post(OUTBOUND_RESPONSE_PATH, recorder.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    recorder.url = str(server.make_url("")).rstrip("/")
    yield recorder
    await server.close()
