"""The fallback load generator when `wrk` is missing: a separate Python process.

    python -m bench.loadgen URL BODY_FILE AUTHORIZATION RUN_ID SECONDS CONCURRENCY

Keeps CONCURRENCY POSTs in flight for SECONDS (and at most MAX_REQUESTS in all), each with the
body in BODY_FILE and @@EXTERNAL_ID@@ replaced by a fresh externalId, then prints one line
"BENCH_JSON {...}" in the same shape as bench/post_async.lua. It costs far more CPU than wrk
per request, which on a small machine lowers the figures it measures.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp

PLACEHOLDER = "@@EXTERNAL_ID@@"
MAX_REQUESTS = 5_000_000
REQUEST_TIMEOUT = 10.0


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


async def run(
    url: str, body: str, authorization: str, run_id: str, seconds: float, concurrency: int
) -> dict[str, object]:
    prefix, _, suffix = body.partition(PLACEHOLDER)
    headers = {"Authorization": authorization, "Content-Type": "application/json"}
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    latencies: list[float] = []
    sent = 0
    started = time.monotonic()
    deadline = started + seconds

    async def client(session: aiohttp.ClientSession, number: int) -> None:
        nonlocal sent
        counter = 0
        while time.monotonic() < deadline and sent < MAX_REQUESTS:
            sent += 1
            counter += 1
            data = f"{prefix}{run_id}-{number}-{counter}{suffix}".encode()
            begun = time.perf_counter()
            try:
                async with session.post(url, data=data, headers=headers) as response:
                    await response.read()
                    statuses[str(response.status)] += 1
            except TimeoutError:
                errors["timeout"] += 1
                continue
            except aiohttp.ClientError:
                errors["read"] += 1
                continue
            latencies.append(time.perf_counter() - begun)

    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(client(session, n) for n in range(1, concurrency + 1)))
    duration = time.monotonic() - started
    latencies.sort()
    us = [value * 1e6 for value in latencies]
    requests = sum(statuses.values())
    return {
        "requests": requests,
        "duration_us": int(duration * 1e6),
        "non202": requests - statuses.get("202", 0),
        "statuses": dict(statuses),
        "socket_errors": {k: errors.get(k, 0) for k in ("connect", "read", "write", "timeout")},
        "latency_us": {
            "p50": percentile(us, 50),
            "p90": percentile(us, 90),
            "p99": percentile(us, 99),
            "p999": percentile(us, 99.9),
            "max": us[-1] if us else 0.0,
            "mean": sum(us) / len(us) if us else 0.0,
        },
    }


def main(argv: list[str]) -> int:
    if len(argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    url, body_file, authorization, run_id, seconds, concurrency = argv
    body = Path(body_file).read_text(encoding="utf-8")
    if PLACEHOLDER not in body:
        print(f"loadgen: no {PLACEHOLDER} in {body_file}", file=sys.stderr)
        return 2
    summary = asyncio.run(run(url, body, authorization, run_id, float(seconds), int(concurrency)))
    print("BENCH_JSON " + json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
