"""The reads phase: GETs of orders and pages at 10,000, 100,000 and 1,000,000 orders.

Operators and upstream systems poll; what they need to know is whether a GET costs the same
when the tables are a hundred times larger. Each size is a database of its own made once by
bench.dataset and kept (on the embedded server under BENCH_DATA_DIR, or on DATABASE_URL's
server), so later runs only bring its schema up to date. Per size, `orderhub serve` runs on it
and wrk keeps BENCH_READS_CONCURRENCY connections GETting each kind of read for
BENCH_READS_SECONDS; the figures are wrk's latency percentiles. The flat-reads targets compare
each figure with the same read at the smallest size, measured minutes apart in the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import asyncpg

from app.cli.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from bench import dataset
from bench.body import authorization
from bench.config import BENCH_DIR, REPO_ROOT, Config
from bench.memory import RssSampler
from bench.progress import say
from bench.servers import Processes, stop_async, tool_version, with_database
from bench.stack import wait_ready

LUA_SCRIPT = BENCH_DIR / "get_paths.lua"
SAMPLE_IDS = 2_000
# Seconds of load on every read before any is measured.
WARM_UP_SECONDS = 3
TARGET_GET_P99_MS = 5.0
TARGET_FIRST_PAGE_P99_MS = 10.0
TARGET_GROWTH = 2.0
SN = "/api/sn_tmf_api/order/serviceOrder"
TMF = "/tmf-api/serviceOrdering/v4/serviceOrder"
# The reads whose p99 at the largest size has an absolute target.
GET_READS = ("sn get by id", "tmf get by id")
FIRST_PAGE_READS = ("sn first page", "sn first page, state", "sn first page, fields")


@dataclass(frozen=True)
class ReadsConfig:
    sizes: tuple[int, ...]
    seconds: int
    concurrency: int
    data_dir: Path

    @classmethod
    def from_env(cls) -> ReadsConfig:
        raw = os.environ.get("BENCH_READS_SIZES", "10000,100000,1000000")
        try:
            sizes = tuple(sorted({int(part) for part in raw.split(",") if part.strip()}))
        except ValueError:
            raise SystemExit(f"bench: BENCH_READS_SIZES={raw!r} must be whole numbers") from None
        if not sizes or sizes[0] < 100:
            raise SystemExit("bench: BENCH_READS_SIZES needs sizes of at least 100 orders")
        return cls(
            sizes=sizes,
            seconds=int(os.environ.get("BENCH_READS_SECONDS", "5")),
            concurrency=int(os.environ.get("BENCH_READS_CONCURRENCY", "16")),
            data_dir=Path(os.environ.get("BENCH_DATA_DIR", str(BENCH_DIR / "data"))),
        )


@contextlib.contextmanager
def kept_postgres(data_dir: Path) -> Iterator[str]:
    """An admin URL: DATABASE_URL's server, else the kept embedded cluster under data_dir."""
    url = os.environ.get("DATABASE_URL", "")
    if url:
        yield url
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    say(f"reads: embedded PostgreSQL kept in {data_dir / 'pg'}")
    pg = EmbeddedPostgres(data_dir / "pg")
    try:
        yield pg.start()
    finally:
        if pg.started:
            pg.stop()


@contextlib.contextmanager
def scratch_redis(workdir: Path) -> Iterator[str]:
    url = os.environ.get("REDIS_URL", "")
    if url:
        yield url
        return
    redis = EmbeddedRedis(workdir / "redis")
    try:
        yield redis.start()
    finally:
        redis.stop()


async def _paths(dsn: str, size: int) -> dict[str, list[str]]:
    """The paths each read sends, from the database itself: ids spread over the whole table."""
    conn = await asyncpg.connect(dsn)
    try:
        ids = [
            row["sys_id"]
            for row in await conn.fetch(
                # ids are md5s: by id, orders of every age come in random order
                "SELECT sys_id FROM service_order WHERE sys_id >= '4' ORDER BY sys_id LIMIT $1",
                SAMPLE_IDS,
            )
        ]
        external = await conn.fetchval(
            "SELECT external_id FROM service_order WHERE external_id IS NOT NULL"
            " ORDER BY order_date LIMIT 1"
        )
        recent = await conn.fetchval(
            "SELECT order_date FROM service_order ORDER BY order_date DESC OFFSET 5000 LIMIT 1"
        )
    finally:
        await conn.close()
    deep = min(100_000, size // 2)
    since = recent.strftime("%Y-%m-%dT%H:%M:%S.000Z") if recent else "2000-01-01T00:00:00.000Z"
    return {
        "sn get by id": [f"{SN}/{i}" for i in ids],
        "tmf get by id": [f"{TMF}/{i}" for i in ids],
        "sn first page": [f"{SN}?limit=20"],
        "sn first page, state": [f"{SN}?limit=20&state=in_progress"],
        "sn first page, fields": [f"{SN}?limit=20&fields=id,state,externalId"],
        f"sn offset {deep:,}": [f"{SN}?limit=20&offset={deep}"],
        f"sn offset {deep:,}, state": [f"{SN}?limit=20&offset={deep // 5}&state=in_progress"],
        "tmf first page, state": [f"{TMF}?limit=20&state=completed"],
        "tmf externalId": [f"{TMF}?externalId={external}"],
        "tmf orderDate.gt (5,000 match)": [f"{TMF}?limit=20&orderDate.gt={since}"],
    }


async def _wrk(base_url: str, paths: list[str], cfg: ReadsConfig, workdir: Path) -> dict[str, Any]:
    listing = workdir / "paths.txt"
    listing.write_text("\n".join(paths) + "\n")
    argv = [
        "wrk",
        "-t1",
        f"-c{cfg.concurrency}",
        f"-d{cfg.seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_SCRIPT),
        base_url,
        "--",
        str(listing),
        authorization(),
    ]
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO_ROOT
    )
    out, _ = await process.communicate()
    for line in out.decode(errors="replace").splitlines():
        if line.startswith("BENCH_JSON "):
            found: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
            return found
    raise RuntimeError(f"wrk printed no figures:\n{out.decode(errors='replace')[-2000:]}")


async def _size(
    config: Config, cfg: ReadsConfig, admin: str, redis_url: str, size: int, workdir: Path
) -> dict[str, Any]:
    dsn = with_database(admin, dataset.database_name(size))
    made = await dataset.prepare(admin, dsn, size, say)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "REDIS_URL": redis_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "ORDERHUB_LOG_LEVEL": "warning",
        "ORDERHUB_QUEUE_NAME": f"orderhub:bench:reads:{size}",
        "ORDERHUB_API_PROCESSES": str(config.api_processes),
    }
    log_dir = workdir / f"logs-{size}"
    log_dir.mkdir()
    procs = Processes(env, log_dir)
    base_url = f"http://127.0.0.1:{port}"
    reads: dict[str, Any] = {}
    try:
        api = procs.start("api", "serve")
        await wait_ready(base_url, api, procs)
        sampler = RssSampler(lambda: {"api": api.pid})
        reads_paths = await _paths(dsn, size)
        # Not measured: the API's pools open their connections, and PostgreSQL prepares each
        # statement on each, during the first seconds of load; those were the first read's
        # slowest answers.
        warm = replace(cfg, seconds=WARM_UP_SECONDS)
        await _wrk(base_url, [p for paths in reads_paths.values() for p in paths], warm, workdir)
        async with sampler.running():
            for name, paths in reads_paths.items():
                figures = await _wrk(base_url, paths, cfg, workdir)
                figures["per_s"] = round(figures["requests"] / max(figures["seconds"], 0.001), 1)
                reads[name] = figures
                say(
                    f"reads: {size:,} orders, {name}: p50 {figures['p50_us'] / 1000:.2f} ms,"
                    f" p99 {figures['p99_us'] / 1000:.2f} ms, {figures['per_s']:,.0f}/s"
                    + (
                        f", {figures['unexpected']} unexpected answers"
                        if figures["unexpected"]
                        else ""
                    )
                )
        await stop_async(procs, api)
    finally:
        await asyncio.to_thread(procs.stop_all)
    return {"dataset": made, "reads": reads, "api_rss_mb": sampler.peak}


async def reads_phase(config: Config) -> dict[str, Any]:
    """Every size in BENCH_READS_SIZES, smallest first; the figures and what was made."""
    cfg = ReadsConfig.from_env()
    if shutil.which("wrk") is None:
        say("reads: wrk is not installed (make bench installs it as root); skipped")
        return {"skipped": "wrk is not installed"}
    workdir = Path(tempfile.mkdtemp(prefix="orderhub-reads-"))
    try:
        with kept_postgres(cfg.data_dir) as admin, scratch_redis(workdir) as redis_url:
            sizes = {}
            for size in cfg.sizes:
                say(f"reads: {size:,} orders")
                sizes[str(size)] = await _size(config, cfg, admin, redis_url, size, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "wrk": tool_version(["wrk", "--version"]),
        "seconds": cfg.seconds,
        "concurrency": cfg.concurrency,
        "sizes": sizes,
    }


def _target(name: str, size: int, largest: int) -> float | None:
    if size != largest:
        return None
    if name in GET_READS:
        return TARGET_GET_P99_MS
    if name in FIRST_PAGE_READS:
        return TARGET_FIRST_PAGE_P99_MS
    return None


def _met(ok: bool) -> str:
    return "met" if ok else "not met"


def reads_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Table rows: each read's p50/p99 per size, the absolute targets at the largest size, and
    how much the p99 grew from the smallest size (target at most TARGET_GROWTH times)."""
    if "sizes" not in result:
        return [{"figure": "reads", "value": result.get("skipped", "-"), "target": "-"}]
    sizes = sorted(int(s) for s in result["sizes"])
    smallest, largest = sizes[0], sizes[-1]
    rows: list[dict[str, Any]] = []
    base = result["sizes"][str(smallest)]["reads"]
    for size in sizes:
        for name, figures in result["sizes"][str(size)]["reads"].items():
            p99 = figures["p99_us"] / 1000
            target = _target(name, size, largest)
            value = f"p50 {figures['p50_us'] / 1000:.2f} / p99 {p99:.2f} ms"
            verdicts = []
            if target is not None:
                verdicts.append(f"p99 <= {target:g} ms ({_met(p99 <= target)})")
            same = base.get(name) if not name.startswith("sn offset") else None
            if size != smallest and same:
                growth = p99 / max(same["p99_us"] / 1000, 0.001)
                value += f", {growth:.1f}x the {smallest:,} p99"
                verdicts.append(f"<= {TARGET_GROWTH:g}x ({_met(growth <= TARGET_GROWTH)})")
            rows.append(
                {
                    "figure": f"reads {size:,}: {name}",
                    "value": value,
                    "target": ", ".join(verdicts) or "-",
                }
            )
        rss = result["sizes"][str(size)]["api_rss_mb"]
        rows.append(
            {
                "figure": f"reads {size:,}: API peak RSS",
                "value": ", ".join(f"{k} {v:.0f} MB" for k, v in sorted(rss.items())),
                "target": "<= 150 MB each",
            }
        )
    return rows
