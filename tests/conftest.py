"""Real PostgreSQL and Redis for every test: DATABASE_URL/REDIS_URL when set, else embedded.

One template database with the schema and the test users is built per run; each test that
needs a database gets a fresh clone of it, dropped afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from arq.constants import (
    in_progress_key_prefix,
    job_key_prefix,
    result_key_prefix,
    retry_key_prefix,
)
from redis.asyncio import Redis

from app.cli.embedded import EmbeddedPostgres, EmbeddedRedis
from app.domain.passwords import hash_password
from app.domain.roles import ALL_ROLES, INTEGRATOR, SERVICE_ORDER_AGENT
from app.http.app import create_app
from app.settings import Settings
from app.store import db, schema, users

RUN_ID = uuid.uuid4().hex[:10]
TEST_USERS = {
    "integrator": ("integrator-pw", [INTEGRATOR]),
    "agent": ("agent-pw", [SERVICE_ORDER_AGENT]),
    "admin": ("admin-pw", sorted(ALL_ROLES)),
    "nobody": ("nobody-pw", []),
}


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


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
        await schema.migrate(conn)
        for user, (password, roles) in TEST_USERS.items():
            await users.upsert(conn, user, hash_password(password), roles)
    finally:
        await conn.close()
    yield name
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(scope="session")
async def demo_template_db(postgres_admin_url: str, template_db: str) -> AsyncIterator[str]:
    """The template plus the demo catalogue's reference data."""
    from app.domain.catalog_file import parse_catalog
    from app.services.recorded import import_recorded
    from app.store import catalog

    name = f"orderhub_demo_tpl_{RUN_ID}"
    admin = await asyncpg.connect(postgres_admin_url)
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    conn = await db.connect(with_database(postgres_admin_url, name))
    try:
        document = json.loads(DEMO_CATALOG.read_text())
        await catalog.load(conn, parse_catalog(document))
        await import_recorded(conn, document)
    finally:
        await conn.close()
    yield name
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


async def _clone(postgres_admin_url: str, template: str) -> AsyncIterator[str]:
    name = f"orderhub_t_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres_admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        yield with_database(postgres_admin_url, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
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
    async for url in _clone(postgres_admin_url, template_db):
        yield url


@pytest.fixture
async def demo_database_url(postgres_admin_url: str, demo_template_db: str) -> AsyncIterator[str]:
    async for url in _clone(postgres_admin_url, demo_template_db):
        yield url


@pytest.fixture
async def demo_settings(demo_database_url: str, redis_url: str) -> AsyncIterator[Settings]:
    async for value in _settings(demo_database_url, redis_url):
        yield value


@pytest.fixture
async def demo_client(demo_settings: Settings) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(demo_settings))) as c:
        yield c


_JOB_KEY_PREFIXES = (job_key_prefix, in_progress_key_prefix, retry_key_prefix, result_key_prefix)


async def _settings(database_url: str, redis_url: str) -> AsyncIterator[Settings]:
    """Settings on the given database, with a Redis key prefix of its own, cleaned afterwards."""
    queue = f"orderhub-test-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    yield replace(
        Settings.from_env({}),
        database_url=database_url,
        redis_url=redis_url,
        orderhub_queue_name=queue,
    )
    redis = Redis.from_url(redis_url)
    keys = [key async for key in redis.scan_iter(match=f"{queue}*")]
    # arq keeps each job's data under arq:job:<id>, outside the queue's own keys.
    job_ids = [job.decode() for job in await redis.zrange(queue, 0, -1)]
    keys += [f"{prefix}{job}" for job in job_ids for prefix in _JOB_KEY_PREFIXES]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


@pytest.fixture
async def settings(database_url: str, redis_url: str) -> AsyncIterator[Settings]:
    async for value in _settings(database_url, redis_url):
        yield value


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await db.create_pool(database_url, max_size=4)
    yield p
    await p.close()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(settings))) as c:
        yield c


def auth(user: str) -> dict[str, str]:
    import base64

    password = TEST_USERS[user][0]
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_CATALOG = REPO_ROOT / "app" / "demo" / "catalog.json"
SEED_EXAMPLES = Path(__file__).resolve().parent / "seed_examples"
