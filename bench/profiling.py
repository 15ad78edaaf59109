"""BENCH_PROFILE=1: where the API's and a worker's CPU goes under the benchmark's own load.

py-spy samples a running process from outside, so nothing in OrderHub has to change to be
profiled; the summary groups self time by library, because the question is usually whether
the time goes to OrderHub's code or to what it calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.config import REPO_ROOT
from bench.progress import say

AREAS = (
    ("asyncpg/", "asyncpg"),
    ("aiohttp/", "aiohttp"),
    ("multidict/", "aiohttp"),
    ("yarl/", "aiohttp"),
    ("arq/", "arq/redis"),
    ("redis/", "arq/redis"),
    ("hiredis/", "arq/redis"),
    ("structlog/", "logging"),
    ("logging/", "logging"),
    ("json/", "json"),
    ("marshmallow/", "marshmallow"),
    ("asyncio/selector_events.py", "socket I/O"),
    ("asyncio/", "asyncio"),
    ("selectors.py", "asyncio"),
    ("app/", "orderhub"),
    ("workers/", "orderhub"),
)


def py_spy() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def _path(frame: str) -> str:
    """py-spy writes a frame as `function (path/of/module.py:line)`, the path as imported."""
    return frame[frame.rfind("(") + 1 :].rstrip(")") if "(" in frame else frame


def _area(frame: str) -> str:
    path = _path(frame)
    return next((area for prefix, area in AREAS if prefix in path), "other")


def _is_orderhub(frame: str) -> bool:
    path = _path(frame)
    return path.startswith(("app/", "workers/")) or "/app/" in path or "/workers/" in path


def summarise_profile(raw: Path, seconds: float, rate: int) -> dict[str, Any]:
    """Self time by library and the costliest OrderHub frames, from py-spy's collapsed stacks.

    Shares are of the samples py-spy took while the main thread was not idle (waiting in the
    event loop's select counts as idle and is not sampled). The command line's frames are on
    every stack, so they are left out of the inclusive shares."""
    areas: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        areas[_area(frames[-1])] += count
        own[frames[-1]] += count
        for frame in set(frames):
            if _is_orderhub(frame) and "app/cli/" not in frame:
                inclusive[frame] += count

    def share(counter: Counter[str], n: int) -> list[tuple[str, float]]:
        return [(k, round(100 * v / total, 1)) for k, v in counter.most_common(n)] if total else []

    return {
        "samples": total,
        "non_idle_sample_fraction": round(total / (seconds * rate), 3) if seconds > 0 else None,
        "self_by_area_pct": dict(share(areas, 12)),
        "top_self_pct": share(own, 15),
        "top_orderhub_inclusive_pct": share(inclusive, 15),
    }


async def profile(pid: int, name: str, seconds: float, out_dir: Path) -> dict[str, Any] | None:
    """py-spy on one process for `seconds` (less if the process stops first)."""
    tool = py_spy()
    if tool is None:
        say("BENCH_PROFILE: py-spy not found (pip install py-spy); no profile")
        return None
    rate = 100
    raw = out_dir / f"{name}.collapsed.txt"
    say(f"profiling {name} (pid {pid}) with py-spy for {seconds:.0f}s")
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        tool,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(int(seconds)),
        "--rate",
        str(rate),
        "--nonblocking",
        "--format",
        "raw",
        "--output",
        str(raw),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await asyncio.wait_for(process.wait(), seconds + 30)
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    elapsed = min(seconds, time.monotonic() - started)
    if not raw.exists():
        say(f"py-spy wrote no profile for {name}")
        return None
    summary = summarise_profile(raw, elapsed, rate)
    summary["file"] = str(raw.relative_to(REPO_ROOT))
    say(
        f"profile {name}: {summary['samples']} samples; self time by area "
        + ", ".join(f"{k} {v}%" for k, v in summary["self_by_area_pct"].items())
    )
    return summary


async def profile_after(
    delay: float, pid: int, name: str, seconds: float, out_dir: Path
) -> dict[str, Any] | None:
    """profile() once `delay` seconds have passed, so that start-up is not what gets sampled."""
    await asyncio.sleep(delay)
    return await profile(pid, name, seconds, out_dir)
