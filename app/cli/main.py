"""`orderhub`: the one command line for running and administering OrderHub."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app import logs
from app.cli.embedded import MissingExtra
from app.cli.events import add_commands as add_events_commands
from app.cli.order import add_commands as add_order_commands
from app.cli.parent import stop_with_parent
from app.cli.queue import add_commands as add_queue_commands
from app.domain.catalog import CatalogError
from app.domain.catalog_file import parse_catalog
from app.domain.passwords import hash_password
from app.domain.roles import ALL_ROLES, CONSOLE_ROLES, INTEGRATOR, ROLE_PURPOSES
from app.settings import SETTINGS, WORKER_JOBS, Settings, SettingsError, deprecations


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvloop

    from app.http import protocol
    from app.http.app import create_app

    settings.require_servers()
    if settings.orderhub_api_processes > 1 and not args.shared_port:
        return _serve_processes(settings)
    logs.configure(settings.orderhub_log_level, process="api", fmt=settings.orderhub_log_format)
    logs.get().info("api_listening", url=f"http://{settings.host}:{settings.port}")
    app = create_app(settings)
    # Everything loaded so far lives as long as the process: kept out of the collector's full
    # passes, which otherwise walk it all and stall every request in flight (the p99).
    gc.freeze()
    # Each request in flight holds its parsed body until the batch commits; with the default
    # threshold (700) those are traced again and again on their way to a later generation.
    gc.set_threshold(20_000, 20, 20)
    # protocol.run rather than web.run_app: its connections answer aiohttp's own refusals
    # (an oversized header, bytes that aren't HTTP) with the error object.
    protocol.run(
        app,
        host=settings.host,
        port=settings.port,
        reuse_port=args.shared_port or None,
        keepalive_timeout=settings.orderhub_keepalive_timeout_seconds,
        shutdown_seconds=settings.orderhub_shutdown_seconds,
        loop=uvloop.new_event_loop(),  # a cheaper event loop: more requests per CPU second
    )
    return 0


def _serve_processes(settings: Settings) -> int:
    """ORDERHUB_API_PROCESSES children on one port; the kernel spreads connections over them.

    Their metrics go to files in a folder of this run (PROMETHEUS_MULTIPROC_DIR, app/metrics.py),
    so that whichever child answers a scrape counts for all of them; it is removed on the way
    out, since counts left from an earlier run would be added to the next one's.
    """
    import shutil
    import tempfile

    from app import metrics
    from app.cli.children import Children, Stop, stopping_on_signals

    logs.configure(settings.orderhub_log_level, process="api", fmt=settings.orderhub_log_format)
    log = logs.get()
    metrics_dir = tempfile.mkdtemp(prefix="orderhub-metrics-")
    children = Children(
        lambda message: log.warning("api_process_exited", message=message),
        settings.orderhub_shutdown_seconds,
        on_exit=lambda pid: metrics.mark_process_dead(pid, metrics_dir),
    )
    env = {**os.environ, metrics.MULTIPROC_DIR_ENV: metrics_dir}
    try:
        with stopping_on_signals():
            log.info("api_processes", count=settings.orderhub_api_processes)
            for n in range(settings.orderhub_api_processes):
                children.start(f"api process {n + 1}", ["serve", "--shared-port"], env)
            return children.wait_for_exit()
    except Stop:
        return 0
    finally:
        children.terminate()
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    from workers.settings import create_worker

    settings.require_servers()
    logs.configure(settings.orderhub_log_level, process="worker", fmt=settings.orderhub_log_format)
    create_worker(settings, burst=args.burst, jobs=args.jobs).run()
    return 0


def _stub(settings: Settings, _args: argparse.Namespace) -> int:
    from aiohttp import web

    from app.stub.server import create_stub_app

    logs.configure(settings.orderhub_log_level, process="stub", fmt=settings.orderhub_log_format)
    url = f"http://{settings.stub_host}:{settings.stub_port}"
    logs.get().info(
        "stub_listening", url=url, callback_url=settings.stub_callback_url, mode=settings.stub_mode
    )
    try:
        web.run_app(
            create_stub_app(settings),
            host=settings.stub_host,
            port=settings.stub_port,
            access_log=None,
            print=None,
        )
    except OSError as exc:
        print(f"orderhub: the stub cannot listen on {url}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def _dev(settings: Settings, _args: argparse.Namespace) -> int:
    from app.cli.dev import run_dev

    return run_dev(settings)


def _db_init(settings: Settings, _args: argparse.Namespace) -> int:
    from app.cli.database import initialise, with_connection

    applied = with_connection(settings, initialise)
    if applied is None:
        print(
            "orderhub: the database is initialised already; nothing done "
            "(`orderhub db migrate` upgrades it)"
        )
    else:
        print(f"database initialised: {len(applied)} migration(s) applied")
    return 0


def _db_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from app.cli.database import migrate, with_connection

    applied = with_connection(settings, migrate)
    if applied:
        print(f"{len(applied)} migration(s) applied; the schema is at {applied[-1]:04d}")
    else:
        print("the schema is up to date; nothing to apply")
    return 0


def _user_add(settings: Settings, args: argparse.Namespace) -> int:
    from app.cli.database import with_connection
    from app.store import users

    unknown = sorted(set(args.role) - ALL_ROLES)
    if unknown:
        print(
            f"orderhub: unknown role {', '.join(unknown)}; known: {', '.join(sorted(ALL_ROLES))}",
            file=sys.stderr,
        )
        return 2
    if not args.password:
        print("orderhub: --password must not be empty", file=sys.stderr)
        return 2

    with_connection(
        settings,
        lambda conn: users.upsert(conn, args.name, hash_password(args.password), args.role),
    )
    print(f"user {args.name} saved with roles: {', '.join(sorted(set(args.role))) or '(none)'}")
    return 0


def _catalog_load(settings: Settings, args: argparse.Namespace) -> int:
    import asyncpg

    from app.cli.database import with_connection
    from app.domain.errors import ApiError
    from app.services.recorded import import_recorded
    from app.store import catalog

    path = Path(args.file)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        parsed = parse_catalog(document)
    except OSError as exc:
        print(f"orderhub: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"orderhub: {path} is not valid JSON: {exc}", file=sys.stderr)
        return 2
    except CatalogError as exc:
        print(f"orderhub: {path}: {exc}", file=sys.stderr)
        return 2
    print(f"loading {path}")

    async def load(conn: asyncpg.Connection[Any]) -> dict[str, int]:
        async with conn.transaction():
            counts = await catalog.load(conn, parsed)
            if document.get("orders"):
                counts.update(await import_recorded(conn, document))
        return counts

    try:
        counts = with_connection(settings, load)
    except (CatalogError, ApiError) as exc:
        print(f"orderhub: {path}: {exc}; nothing was loaded", file=sys.stderr)
        return 2
    except asyncpg.UndefinedTableError as exc:
        print(f"orderhub: {exc}; run `orderhub db migrate` first", file=sys.stderr)
        return 2
    for section, count in counts.items():
        print(f"  {section:<18} {count:>5}")
    print(f"catalogue loaded: {sum(counts.values())} records in {len(counts)} sections")
    return 0


def _settings(_settings: Settings, _args: argparse.Namespace) -> int:
    for setting in SETTINGS:
        print(f"{setting.env}={setting.default!s:<20} {setting.doc}")
    return 0


Command = Callable[[Settings, argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orderhub",
        description="TMF641 service-order management service.",
        epilog="Every setting is an environment variable: `orderhub settings` lists them.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func: Command, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    command(
        "dev",
        _dev,
        "Run everything on one machine: embedded PostgreSQL and Redis (unless "
        "DATABASE_URL/REDIS_URL are set), the schema migrated, the demo catalogue and users "
        "(embedded only), the API, a worker and the SOM/TOM stub.",
    )
    serve = command(
        "serve",
        _serve,
        "Run the HTTP API (needs DATABASE_URL and REDIS_URL), its Prometheus metrics at /metrics.",
    )
    serve.add_argument(
        "--shared-port",
        action="store_true",
        help="run one API process that shares its port with others (SO_REUSEPORT); "
        "`orderhub serve` starts its ORDERHUB_API_PROCESSES children this way",
    )
    worker = command(
        "worker",
        _worker,
        "Run an arq worker (needs DATABASE_URL and REDIS_URL); its Prometheus metrics on "
        "ORDERHUB_WORKER_METRICS_PORT when set.",
    )
    worker.add_argument(
        "--burst",
        action="store_true",
        help="exit once the queue is empty instead of waiting for more jobs",
    )
    worker.add_argument(
        "--jobs",
        choices=WORKER_JOBS,
        help="all (order work and event delivery), orders or events; "
        "ORDERHUB_WORKER_JOBS when not given (docs/operations.md)",
    )
    command(
        "stub",
        _stub,
        "Run the SOM/TOM stub standing in for the fulfilment systems, for tests and demos "
        "(STUB_* settings; needs no database or Redis).",
    )
    command("settings", _settings, "List every setting with its default and meaning.")

    db_parser = sub.add_parser(
        "db", help="Database administration.", description="Database administration."
    )
    db_sub = db_parser.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    init = db_sub.add_parser(
        "init",
        help="Create the schema in an empty database.",
        description="Create the schema in an empty database by applying every migration; "
        "on a database that has tables already it does nothing and says so. Without "
        "DATABASE_URL, the embedded server under ORDERHUB_DATA_DIR is used.",
    )
    init.set_defaults(func=_db_init)
    migrate = db_sub.add_parser(
        "migrate",
        help="Apply the migrations the database does not have yet.",
        description="Apply, in order, the numbered migrations not yet recorded in the "
        "schema_migration table, printing each; safe to repeat and to run from several "
        "processes at once (an advisory lock serialises them). A database made before "
        "migrations existed is brought up to date the same way. Without DATABASE_URL, the "
        "embedded server under ORDERHUB_DATA_DIR is used.",
    )
    migrate.set_defaults(func=_db_migrate)

    user_parser = sub.add_parser(
        "user", help="User administration.", description="User administration."
    )
    user_sub = user_parser.add_subparsers(dest="user_command", required=True, metavar="COMMAND")
    add = user_sub.add_parser(
        "add",
        help="Create a user, or replace its password and roles.",
        description="Create a user, or replace its password and roles. The agent and manager "
        f"roles ({', '.join(sorted(CONSOLE_ROLES))}) sign in to the console at /console and "
        f"may initiate and revise outbound requests; {INTEGRATOR} calls the Open API. A new "
        "password ends the user's console sessions. Without DATABASE_URL, the embedded server "
        "under ORDERHUB_DATA_DIR is used.",
    )
    add.add_argument("name", help="user name for HTTP Basic authentication")
    add.add_argument("--password", required=True, help="the user's password (stored as scrypt)")
    add.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="ROLE",
        help="a role to grant; repeatable. "
        + "; ".join(f"{role}: {ROLE_PURPOSES[role]}" for role in sorted(ALL_ROLES)),
    )
    add.set_defaults(func=_user_add)

    catalog_parser = sub.add_parser(
        "catalog",
        help="Reference data (accounts, specifications, inventory, ...).",
        description="Reference data: accounts, contacts, consumers, locations, service "
        "specifications and offerings, product inventory and outbound policies.",
    )
    catalog_sub = catalog_parser.add_subparsers(
        dest="catalog_command", required=True, metavar="COMMAND"
    )
    load = catalog_sub.add_parser(
        "load",
        help="Load a catalogue file (idempotent).",
        description="Insert or update every record of a catalogue file (JSON, the format of "
        "app/demo/catalog.json; docs/catalogue.md describes it) in one transaction: a bad record "
        "stops the load with nothing written. Records not in the file are kept. Without "
        "DATABASE_URL, the embedded server under ORDERHUB_DATA_DIR is used.",
    )
    load.add_argument("file", metavar="FILE", help="the catalogue file (JSON)")
    load.set_defaults(func=_catalog_load)
    add_queue_commands(sub)
    add_events_commands(sub)
    add_order_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stop_with_parent(os.environ)
    try:
        settings = Settings.from_env()
        for warning in deprecations():
            print(f"orderhub: warning: {warning}", file=sys.stderr)
        result: int = args.func(settings, args)
    except (SettingsError, MissingExtra) as exc:
        print(f"orderhub: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
