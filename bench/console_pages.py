"""Console pages timed at the server on a reads database (`python -m bench.console_pages`).

An agent's page must answer in under 100 ms at the server with 100,000 orders loaded. This
signs in as the demo admin, GETs each page one at a time BENCH_CONSOLE_REQUESTS times and
reads the server's own `duration_ms` from the API's request log, so the figure excludes the
client and the network. The database is the reads phase's (bench.dataset), made if missing.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from app.cli.database import DEMO_USER
from app.cli.embedded import free_port
from bench import dataset
from bench.config import Config
from bench.progress import say
from bench.reads import ReadsConfig, kept_postgres, scratch_redis
from bench.servers import Processes, with_database
from bench.stack import wait_ready
from bench.stats import percentile

TARGET_MS = 100.0
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def _sign_in(session: aiohttp.ClientSession, base_url: str) -> None:
    page = await (await session.get(f"{base_url}/console/sign-in")).text()
    token = _CSRF.search(page)
    assert token, "no sign-in token on the page"
    name, password = DEMO_USER
    answer = await session.post(
        f"{base_url}/console/sign-in",
        data={"csrf": token.group(1), "name": name, "password": password, "next": "/console"},
        headers={"Origin": base_url},
        allow_redirects=False,
    )
    assert answer.status in (302, 303), f"sign-in answered {answer.status}"


async def _pages(dsn: str) -> dict[str, str]:
    conn = await asyncpg.connect(dsn)
    try:
        order = await conn.fetchrow(
            "SELECT o.sys_id, o.external_id FROM service_order o"
            " JOIN outbound_request r ON r.source_record = o.sys_id"
            " WHERE o.external_id IS NOT NULL ORDER BY o.order_date DESC LIMIT 1"
        )
        assert order is not None
    finally:
        await conn.close()
    return {
        "orders, first page": "/console/orders",
        "orders, one state": "/console/orders?state=in_progress",
        "orders, search by externalId": f"/console/orders?q={order['external_id']}",
        "orders, search by customer": "/console/orders?q=Funco",
        "one order": f"/console/orders/{order['sys_id']}",
        "inbound queue": "/console/queue",
        "outbound": "/console/outbound",
    }


def _server_ms(log: Path, path: str) -> list[float]:
    """duration_ms of every logged request for `path` (query strings are not logged)."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        with_fields = json.loads(line)
        if with_fields.get("event") == "request" and with_fields.get("path") == path:
            found.append(float(with_fields["duration_ms"]))
    return found


async def measure(size: int, requests: int) -> dict[str, Any]:
    cfg = ReadsConfig.from_env()
    workdir = Path(tempfile.mkdtemp(prefix="orderhub-console-"))
    results: dict[str, Any] = {}
    with kept_postgres(cfg.data_dir) as admin, scratch_redis(workdir) as redis_url:
        dsn = with_database(admin, dataset.database_name(size))
        await dataset.prepare(admin, dsn, size, say)
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": dsn,
            "REDIS_URL": redis_url,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "ORDERHUB_LOG_LEVEL": "info",
            "ORDERHUB_API_PROCESSES": "1",
            "ORDERHUB_QUEUE_NAME": f"orderhub:bench:console:{size}",
        }
        procs = Processes(env, workdir)
        base_url = f"http://127.0.0.1:{port}"
        try:
            api = procs.start("api", "serve")
            await wait_ready(base_url, api, procs)
            jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1 too
            async with aiohttp.ClientSession(cookie_jar=jar) as session:
                await _sign_in(session, base_url)
                for name, path in (await _pages(dsn)).items():
                    before = len(_server_ms(workdir / "api.log", path.split("?")[0]))
                    started = time.perf_counter()
                    for _ in range(requests):
                        answer = await session.get(base_url + path, allow_redirects=False)
                        await answer.read()
                        assert answer.status == 200, f"{path} answered {answer.status}"
                    client_ms = (time.perf_counter() - started) * 1000 / requests
                    await asyncio.sleep(0.2)  # the log line is written after the answer
                    server = _server_ms(workdir / "api.log", path.split("?")[0])[before:]
                    results[name] = {
                        "server_p50_ms": round(percentile(sorted(server), 50), 2),
                        "server_p99_ms": round(percentile(sorted(server), 99), 2),
                        "client_mean_ms": round(client_ms, 2),
                        "requests": len(server),
                    }
                    say(
                        f"console {size:,}: {name}: server p50 {results[name]['server_p50_ms']}"
                        f" / p99 {results[name]['server_p99_ms']} ms (target < {TARGET_MS:g})"
                    )
        finally:
            procs.stop_all()
    return results


def main() -> int:
    Config.from_env()
    size = int(os.environ.get("BENCH_CONSOLE_ORDERS", "100000"))
    requests = int(os.environ.get("BENCH_CONSOLE_REQUESTS", "30"))
    results = asyncio.run(measure(size, requests))
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
