"""The closed-loop load of ingest and capacity: BENCH_CONCURRENCY connections POSTing the seed's
async order for BENCH_SECONDS, each sending its next request when the last one is answered.

One generator for both phases, wrk with bench/post_async.lua when installed, else
bench/loadgen.py, so that their figures differ only by what runs behind the API. It is a
separate process so that its CPU shows apart from the bench's own; both print one BENCH_JSON
line in the same shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from bench.body import authorization, seed_body
from bench.config import BENCH_DIR, REPO_ROOT, Config
from bench.progress import PROGRESS_EVERY, say
from bench.servers import tool_version

ENDPOINT = "/api/sn_tmf_api/order/serviceOrder?mode=async"
PLACEHOLDER = "@@EXTERNAL_ID@@"
LUA_SCRIPT = BENCH_DIR / "post_async.lua"
OVERRUN_SECONDS = 60

Tick = Callable[[float], Awaitable[None]]


async def warm_up(base_url: str, body: dict[str, Any], run_id: str, processes: int) -> None:
    """POSTs that must answer 202, each on a new connection so that every API process gets
    some; they also fill the processes' password caches."""
    headers = {"Authorization": authorization(), "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=10)
    ) as session:
        for n in range(3 + 8 * (processes - 1)):
            data = json.dumps({**body, "externalId": f"{run_id}-warmup-{n}"})
            async with session.post(base_url + ENDPOINT, data=data, headers=headers) as response:
                text = await response.text()
                if response.status != 202:
                    raise RuntimeError(f"warm-up POST answered {response.status}: {text[:300]}")


def choose_generator(config: Config) -> str:
    wrk = shutil.which("wrk")
    if config.generator == "wrk" and wrk is None:
        raise SystemExit("bench: BENCH_GENERATOR=wrk but wrk is not installed")
    if config.generator == "python" or wrk is None:
        return "python"
    return "wrk"


def generator_command(
    config: Config, generator: str, url: str, body_file: Path, id_prefix: str
) -> tuple[list[str], str, str]:
    """(argv, version, label) of the load generator; both print the same BENCH_JSON line."""
    if generator == "wrk":
        threads = max(1, min(config.concurrency, (os.cpu_count() or 1) // 4))
        argv = [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(config.concurrency),
            "-d",
            f"{config.seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA_SCRIPT),
            url,
            "--",
            str(body_file),
            authorization(),
            f"{id_prefix}-wrk",
        ]
        version = tool_version(["wrk", "--version"])
        label = f"wrk ({threads} thread{'s' if threads > 1 else ''})"
        return argv, version, label
    argv = [
        sys.executable,
        "-m",
        "bench.loadgen",
        url,
        str(body_file),
        authorization(),
        f"{id_prefix}-py",
        str(config.seconds),
        str(config.concurrency),
    ]
    version = f"python {platform.python_version()} aiohttp {aiohttp.__version__}"
    label = "python aiohttp (wrk not found)" if config.generator == "auto" else "python"
    return argv, version, label


def write_body_file(workdir: Path) -> Path:
    """The seed body with the placeholder both generators replace by a fresh externalId."""
    body_file = workdir / "body.json"
    body_file.write_text(json.dumps({**seed_body(), "externalId": PLACEHOLDER}), encoding="utf-8")
    return body_file


async def closed_loop(
    config: Config, base_url: str, workdir: Path, id_prefix: str, phase: str, tick: Tick
) -> dict[str, Any]:
    """Runs the generator to its end, calling `tick(elapsed)` every PROGRESS_EVERY seconds for
    the phase's progress line; the figures of its BENCH_JSON line, in ms where latency.

    `id_prefix` starts every externalId, so that no phase repeats another's (an identical body
    with the same externalId is a client retry, answered from its claim)."""
    generator = choose_generator(config)
    url = base_url + ENDPOINT
    body_file = write_body_file(workdir)
    argv, version, label = generator_command(config, generator, url, body_file, id_prefix)
    say(f"{phase}: {label}, {config.concurrency} connections, {config.seconds}s against {url}")
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    started = time.monotonic()
    output = asyncio.ensure_future(process.communicate())
    try:
        while not output.done():
            done, _ = await asyncio.wait({output}, timeout=PROGRESS_EVERY)
            if done:
                break
            elapsed = time.monotonic() - started
            if elapsed > config.seconds + OVERRUN_SECONDS:
                raise RuntimeError(f"the load generator ran {OVERRUN_SECONDS} s past its time")
            await tick(elapsed)
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    stdout, stderr = await output
    line = next(
        (ln for ln in stdout.decode(errors="replace").splitlines() if ln.startswith("BENCH_JSON ")),
        None,
    )
    if line is None:
        raise RuntimeError(
            f"{generator} printed no summary (exit {process.returncode}): "
            + (stderr or stdout).decode(errors="replace")[-1000:]
        )
    return {
        "generator": generator,
        "generator_label": label,
        "generator_version": version,
        **load_figures(json.loads(line.removeprefix("BENCH_JSON ")), config.concurrency),
    }


def load_figures(summary: dict[str, Any], concurrency: int) -> dict[str, Any]:
    """The generator's BENCH_JSON line as the figures the table shows (latency in ms)."""
    duration = summary["duration_us"] / 1e6
    accepted = int(summary["statuses"].get("202", 0))
    socket_errors = sum(summary["socket_errors"].values())
    return {
        "concurrency": concurrency,
        "seconds": round(duration, 2),
        "requests": summary["requests"],
        "accepted": accepted,
        "accepted_per_s": round(accepted / duration, 1) if duration else 0.0,
        "errors": summary["non202"] + socket_errors,
        "statuses": summary["statuses"],
        "socket_errors": summary["socket_errors"],
        "latency_ms": {k: round(v / 1000, 2) for k, v in summary["latency_us"].items()},
    }
