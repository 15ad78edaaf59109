"""`orderhub dev`: the whole system in one terminal, on embedded servers by default."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace

from app.cli.children import Children, Stop, stopping_on_signals
from app.cli.database import DEMO_ROLE_USERS, prepare_database
from app.cli.embedded import EmbeddedPostgres, EmbeddedRedis
from app.settings import Settings


def _say(message: str) -> None:
    print(f"orderhub dev: {message}", flush=True)


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
    children = Children(_say, settings.orderhub_shutdown_seconds)
    try:
        with stopping_on_signals():
            if embedded_pg is not None:
                _say(
                    f"starting embedded PostgreSQL in {embedded_pg.pgdata} "
                    "(127.0.0.1 only, no password: for this machine alone)"
                )
                settings = replace(settings, database_url=embedded_pg.start())
            if embedded_redis is not None:
                _say(
                    f"starting embedded Redis in {settings.data_dir / 'redis'} "
                    "(127.0.0.1 only, no password)"
                )
                settings = replace(settings, redis_url=embedded_redis.start())
            _say(
                "migrating the schema"
                + ("" if embedded_pg is None else ", loading the demo catalogue")
            )
            asyncio.run(prepare_database(settings.database_url, demo=embedded_pg is not None))

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
            # The stub's listener (and any on this machine) may subscribe to the hub.
            env.setdefault("ORDERHUB_HUB_ALLOW_PRIVATE_CALLBACKS", "true")
            for name, argv in (("api", ["serve"]), ("worker", ["worker"]), ("stub", ["stub"])):
                children.start(name, argv, env)

            base = f"http://{settings.host}:{settings.port}"
            _say(f"API      {base}  (ready: {base}/ready)")
            _say(f"Postgres {settings.database_url}")
            _say(f"Redis    {settings.redis_url}")
            stub = f"http://{settings.stub_host}:{settings.stub_port}"
            _say(f"Stub     {stub}  (SOM: {stub}/som/serviceOrder, TOM: {stub}/tom/serviceOrder)")
            _say(f"Listener {stub}/listener  (events it got: {stub}/stub/events)")
            if embedded_pg is not None:
                _say("demo credentials: admin / admin (every role)")
                _say(
                    f"console  {base}/console  (admin, or one user per role: "
                    f"{', '.join(name for name, _, _ in DEMO_ROLE_USERS)}; password = user name)"
                )
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
