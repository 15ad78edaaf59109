"""`orderhub dev`: the whole system in one terminal, on embedded servers by default."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from importlib import resources
from typing import Any, TypeVar

import asyncpg

from app.children import Children, Stop, stopping_on_signals
from app.domain.catalog import parse_catalog
from app.domain.passwords import hash_password
from app.domain.roles import ALL_ROLES, INTEGRATOR
from app.embedded import EmbeddedPostgres, EmbeddedRedis
from app.settings import Settings
from app.store import catalog, db, users
from app.store.ordering import import_recorded

DEMO_USER = ("admin", "admin")
# The stub's callbacks authenticate as this integration user (STUB_CALLBACK_USER's default).
STUB_CALLBACK_USER = ("stub-callback", "stub-callback")
DEMO_CATALOG = resources.files("app") / "demo" / "catalog.json"


T = TypeVar("T")


def _say(message: str) -> None:
    print(f"orderhub dev: {message}", flush=True)


@contextlib.contextmanager
def database_for_command(settings: Settings) -> Iterator[str]:
    """DATABASE_URL, or the embedded cluster, started for the command if it isn't running."""
    if settings.database_url:
        yield settings.database_url
        return
    pg = EmbeddedPostgres(settings.data_dir, settings.orderhub_pg_port)
    dsn = pg.start()
    try:
        yield dsn
    finally:
        if pg.started:
            pg.stop()


def with_connection(
    settings: Settings, work: Callable[[asyncpg.Connection[Any]], Awaitable[T]]
) -> T:
    """Runs one command's database work on a connection of its own (see database_for_command)."""

    async def run(dsn: str) -> T:
        conn = await db.connect(dsn)
        try:
            return await work(conn)
        finally:
            await conn.close()

    with database_for_command(settings) as dsn:
        return asyncio.run(run(dsn))


async def _prepare_database(dsn: str, *, demo: bool) -> None:
    conn = await db.connect(dsn)
    try:
        await db.apply_schema(conn)
        if demo:
            # Only into an empty catalogue, so that what orders changed survives a restart.
            if await catalog.is_empty(conn):
                document = json.loads(DEMO_CATALOG.read_text(encoding="utf-8"))
                async with conn.transaction():
                    await catalog.load(conn, parse_catalog(document))
                    await import_recorded(conn, document)
            for name, password, roles in (
                (*DEMO_USER, sorted(ALL_ROLES)),
                (*STUB_CALLBACK_USER, [INTEGRATOR]),
            ):
                if await users.get(conn, name) is None:
                    await users.upsert(conn, name, hash_password(password), roles)
    finally:
        await conn.close()


def run_dev(settings: Settings) -> int:
    embedded_pg = (
        None
        if settings.database_url
        else EmbeddedPostgres(settings.data_dir, settings.orderhub_pg_port)
    )
    embedded_redis = (
        None
        if settings.redis_url
        else EmbeddedRedis(settings.data_dir, settings.orderhub_redis_port)
    )
    children = Children(_say)
    try:
        with stopping_on_signals():
            if embedded_pg is not None:
                _say(f"starting embedded PostgreSQL in {embedded_pg.pgdata}")
                settings = replace(settings, database_url=embedded_pg.start())
            if embedded_redis is not None:
                _say(f"starting embedded Redis in {settings.data_dir / 'redis'}")
                settings = replace(settings, redis_url=embedded_redis.start())
            _say(
                "applying schema.sql"
                + ("" if embedded_pg is None else ", loading the demo catalogue")
            )
            asyncio.run(_prepare_database(settings.database_url, demo=embedded_pg is not None))

            env = {
                **os.environ,
                "DATABASE_URL": settings.database_url,
                "REDIS_URL": settings.redis_url,
            }
            # The stub calls back the API started here unless told otherwise.
            env.setdefault("STUB_CALLBACK_URL", f"http://{settings.host}:{settings.port}")
            # Unless told otherwise, SOM and TOM are the stub this command starts.
            stub = f"http://{settings.stub_host}:{settings.stub_port}"
            env.setdefault("SOM_URL", f"{stub}/som/serviceOrder")
            env.setdefault("TOM_URL", f"{stub}/tom/serviceOrder")
            for name, argv in (("api", ["serve"]), ("worker", ["worker"]), ("stub", ["stub"])):
                children.start(name, argv, env)

            base = f"http://{settings.host}:{settings.port}"
            _say(f"API      {base}  (ready: {base}/ready)")
            _say(f"Postgres {settings.database_url}")
            _say(f"Redis    {settings.redis_url}")
            stub = f"http://{settings.stub_host}:{settings.stub_port}"
            _say(f"Stub     {stub}  (SOM: {stub}/som/serviceOrder, TOM: {stub}/tom/serviceOrder)")
            if embedded_pg is not None:
                _say("demo credentials: admin / admin (every role)")
            _say("Ctrl-C stops everything")
            return children.wait_for_exit()
    except Stop as stop:
        _say(f"{stop} received; stopping")
        return 0
    finally:
        children.terminate()
        if embedded_redis is not None:
            embedded_redis.stop()
        if embedded_pg is not None:
            embedded_pg.stop()
        _say("stopped")
