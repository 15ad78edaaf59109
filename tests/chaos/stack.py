"""The system under faults: private PostgreSQL and Redis, TCP proxies to cut, and every OrderHub
process, each started here and stopped by its own pid.

Every process reaches PostgreSQL through `pg_proxy`, the stub through `stub_proxy`; the stub calls
API 0 back through `callback_proxy`. Cutting a proxy is a network outage; the servers themselves
are restarted in place (same port), PostgreSQL with `pg_ctl -m fast restart`, Redis with its data
removed. A process that exits without being told to is a finding: it is noted and started again,
as a supervisor would.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from app.cli.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from app.store import db
from tests.chaos.proxy import ProxyProcess
from tests.helpers.auth import TEST_USERS
from tests.helpers.databases import install_schema_and_users, load_demo_catalog, with_database
from tests.helpers.payloads import LINK_SPEC
from tests.helpers.polling import wait_for
from tests.helpers.processes import answers, request, start, stop, wait_ready

DATABASE = "orderhub_chaos"
QUEUE = "orderhub-chaos"
READY_SECONDS = 60.0
# Long enough for the stub's callbacks to outlast any outage of the suite (backoff up to 2 s).
CALLBACK_ATTEMPTS = 100
# Items of this specification (Internet Access Link, sent to TOM) the stub ends in `error`.
ERROR_SPECIFICATION = LINK_SPEC


def _through(proxy: ProxyProcess, url: str) -> str:
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{proxy.port}" if userinfo else f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass
class Managed:
    """One OrderHub process by role and number; `life` counts its starts (one log each)."""

    role: str
    number: int
    args: tuple[str, ...]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    life: int = 0

    @property
    def name(self) -> str:
        return f"{self.role}{self.number}"


@dataclass
class Stack:
    workdir: Path
    postgres: EmbeddedPostgres = field(init=False)
    redis: EmbeddedRedis = field(init=False)
    pg_proxy: ProxyProcess = field(init=False)
    stub_proxy: ProxyProcess = field(init=False)
    callback_proxy: ProxyProcess = field(init=False)
    database_url: str = ""  # direct, for the harness's own reads
    stub_port: int = 0
    api_ports: list[int] = field(default_factory=list)
    managed: dict[str, Managed] = field(default_factory=dict)
    exits: list[str] = field(default_factory=list)  # processes that exited on their own

    @property
    def api_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.api_ports]

    @property
    def stub_url(self) -> str:
        return f"http://127.0.0.1:{self.stub_port}"

    @property
    def log_dir(self) -> Path:
        return self.workdir / "logs"

    # --- start and stop ----------------------------------------------------------------------

    def start(self, apis: int = 2, workers: int = 2) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.postgres = EmbeddedPostgres(self.workdir / "pg")
        admin_url = self.postgres.start()
        self.redis = EmbeddedRedis(self.workdir / "redis")
        redis_url = self.redis.start()
        self.database_url = with_database(admin_url, DATABASE)
        asyncio.run(self._prepare_database(admin_url))

        self.pg_proxy = self._proxy("pg", self.postgres.port)
        self.stub_port = free_port()
        self.stub_proxy = self._proxy("stub", self.stub_port)
        self.api_ports = [free_port() for _ in range(apis)]
        self.callback_proxy = self._proxy("callback", self.api_ports[0])

        stub_base = f"http://127.0.0.1:{self.stub_proxy.port}"
        env = {
            "DATABASE_URL": _through(self.pg_proxy, self.database_url),
            "REDIS_URL": redis_url,
            "ORDERHUB_QUEUE_NAME": QUEUE,
            "ORDERHUB_LOG_LEVEL": "info",
            "ORDERHUB_API_PROCESSES": "1",
            "OUTBOUND_AUTO": "true",
            "ORDERHUB_SWEEP_AFTER_SECONDS": "2",
            "ORDERHUB_BREAKER_COOLDOWN_SECONDS": "1",
            "SOM_URL": f"{stub_base}/som/serviceOrder",
            "TOM_URL": f"{stub_base}/tom/serviceOrder",
            "STUB_PORT": str(self.stub_port),
            "STUB_CALLBACK_URL": f"http://127.0.0.1:{self.callback_proxy.port}",
            "STUB_CALLBACK_USER": "integrator",
            "STUB_CALLBACK_PASSWORD": TEST_USERS["integrator"][0],
            "STUB_CALLBACK_DELAY_SECONDS": "0.3",
        }
        self._add("stub", 0, ("stub",), env)
        for n, port in enumerate(self.api_ports):
            self._add("api", n, ("serve",), {**env, "PORT": str(port)})
        for n in range(workers):
            self._add("worker", n, ("worker",), env)
        for managed in self.managed.values():
            self.launch(managed.name)
        self.configure_stub(
            mode="normal",
            failRate=0,
            errorSpecifications=[ERROR_SPECIFICATION],
            callbackAttempts=CALLBACK_ATTEMPTS,
        )

    def _proxy(self, name: str, target_port: int) -> ProxyProcess:
        return ProxyProcess(free_port(), target_port, str(self.log_dir / f"proxy-{name}.log"))

    def _add(self, role: str, number: int, args: tuple[str, ...], env: dict[str, str]) -> None:
        managed = Managed(role, number, args, env)
        self.managed[managed.name] = managed

    async def _prepare_database(self, admin_url: str) -> None:
        admin = await asyncpg.connect(admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{DATABASE}"')
        finally:
            await admin.close()
        conn = await db.connect(self.database_url)
        try:
            await install_schema_and_users(conn)
            await load_demo_catalog(conn)
        finally:
            await conn.close()

    def stop(self) -> None:
        """Every process, then the proxies and servers; whatever failed to start is skipped."""
        for managed in sorted(self.managed.values(), key=lambda m: m.role != "worker"):
            if managed.process is not None:
                stop(managed.process, signal.SIGTERM, timeout=20)
        for name in ("pg_proxy", "stub_proxy", "callback_proxy"):
            proxy = self.__dict__.get(name)
            if proxy is not None:
                proxy.close()
        if "redis" in self.__dict__:
            self.redis.stop()
        if "postgres" in self.__dict__:
            self.postgres.stop()

    # --- processes ---------------------------------------------------------------------------

    def launch(self, name: str) -> None:
        """Starts one process and returns once it is ready."""
        managed = self.managed[name]
        managed.life += 1
        log = self.log_dir / f"{name}.{managed.life}.log"
        process = start(*managed.args, env=managed.env, log=log)
        managed.process = process
        if managed.role == "api":
            wait_ready(f"http://127.0.0.1:{managed.env['PORT']}", READY_SECONDS, process)
        elif managed.role == "stub":
            url = f"{self.stub_url}/health"
            wait_for(lambda: self._alive(process) and answers(url), READY_SECONDS, "stub up")
        else:

            def started() -> bool:
                return self._alive(process) and "worker_started" in log.read_text(errors="replace")

            wait_for(started, READY_SECONDS, f"{name} started")

    @staticmethod
    def _alive(process: subprocess.Popen[bytes]) -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"process {process.pid} exited with {process.returncode}")
        return True

    def kill(self, name: str) -> None:
        """SIGKILL, by the process's own pid."""
        managed = self.managed[name]
        assert managed.process is not None
        stop(managed.process, signal.SIGKILL)
        managed.process = None

    def supervise(self, scenario: str) -> None:
        """Notes and restarts any process that exited without being told to."""
        for managed in self.managed.values():
            process = managed.process
            if process is not None and process.poll() is not None:
                self.exits.append(
                    f"{managed.name} (pid {process.pid}) exited with {process.returncode} "
                    f"during {scenario}; log {self.log_dir}/{managed.name}.{managed.life}.log"
                )
                managed.process = None
                self.launch(managed.name)

    def workers(self) -> list[str]:
        return [m.name for m in self.managed.values() if m.role == "worker"]

    def apis(self) -> list[str]:
        return [m.name for m in self.managed.values() if m.role == "api"]

    # --- servers -----------------------------------------------------------------------------

    def restart_postgres(self) -> None:
        self.postgres.restart()

    def restart_redis_empty(self) -> None:
        """Redis stopped, its files removed, started again on the same port: every key gone."""
        self.redis.stop()
        shutil.rmtree(self.workdir / "redis" / "redis", ignore_errors=True)
        self.redis.start()

    # --- the stub ----------------------------------------------------------------------------

    def configure_stub(self, **config: Any) -> None:
        answer = request("POST", f"{self.stub_url}/stub/config", json_body=config)
        if answer.status != 200:
            raise RuntimeError(f"stub config {config}: {answer.status} {answer.body!r}")

    def stub_received(self) -> list[dict[str, Any]]:
        answer = request("GET", f"{self.stub_url}/stub/received", timeout=60)
        received: list[dict[str, Any]] = answer.json()
        return received
