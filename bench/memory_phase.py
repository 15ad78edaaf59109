"""The memory phase: what bad input costs a running API, and every phase's peak RSS.

A deployment sizes a container by peak RSS, and a body near the limit must not leave the
process it hit larger for good: ten bodies of about ORDERHUB_MAX_BODY_BYTES that the API must
refuse (bench.bad_bodies), then the largest order the input limits allow, which a worker
makes into an order. RSS is read before, at its peak, and after a settle polled with a
deadline, for each API and worker process. The other phases sample their own processes'
RSS while they run (bench.memory.RssSampler); memory_rows puts every phase's peaks in the
table.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from app.settings import Settings
from bench.bad_bodies import bad_bodies, largest_order
from bench.body import authorization, seed_body
from bench.closedloop import ENDPOINT
from bench.config import CAPACITY_WORKERS, PHASES, TARGET_RSS_GROWTH, TARGET_RSS_MB
from bench.memory import RssSampler
from bench.progress import say
from bench.report import Row, met
from bench.stack import Bench, running, wait_empty

SETTLE_SECONDS = 1.0  # before the "before" sample: the warm-up's garbage collected
AFTER_SETTLE = 2.0  # before the first "after" sample: the last answers and the order done
AFTER_DEADLINE = 15.0  # the longest the "after" sample waits for RSS to come back
PROCESS_DEADLINE = 60.0  # the longest the largest order may take to be processed

ORDER_STATE = (
    "SELECT state, error, processed_at - received_at AS took FROM inbound_processed WHERE id = $1"
)


async def post(
    session: aiohttp.ClientSession, url: str, data: bytes
) -> tuple[str, dict[str, Any] | None]:
    """The status (or the client error's name, when the API closed the connection mid-body)
    and the JSON answer when there is one."""
    headers = {"Authorization": authorization(), "Content-Type": "application/json"}
    try:
        async with session.post(url, data=data, headers=headers) as response:
            try:
                answer = await response.json(content_type=None)
            except ValueError:
                answer = None
            return str(response.status), answer if isinstance(answer, dict) else None
    except aiohttp.ClientError as exc:
        return type(exc).__name__, None


def detail(answer: dict[str, Any] | None) -> str | None:
    """The first detail's message of an error answer (docs/api.md), else its reason."""
    if not answer:
        return None
    details = answer.get("details")
    if isinstance(details, list) and details and isinstance(details[0], dict):
        return str(details[0].get("message"))
    return str(answer.get("reason") or answer.get("message") or "")[:300] or None


def growth(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """after / before - 1 for each process sampled both times."""
    return {
        name: round(after[name] / value - 1, 3)
        for name, value in before.items()
        if name in after and value > 0
    }


async def settle(rss: RssSampler, before: dict[str, float]) -> tuple[dict[str, float], float]:
    """RSS polled until every process is back within TARGET_RSS_GROWTH of `before`, or
    AFTER_DEADLINE: (the last sample, seconds waited)."""
    began = time.monotonic()
    await asyncio.sleep(AFTER_SETTLE)
    while True:
        rss.sample()
        changes = growth(before, rss.last)
        if all(v <= TARGET_RSS_GROWTH for v in changes.values()):
            break
        if time.monotonic() - began >= AFTER_DEADLINE:
            break
        await asyncio.sleep(0.5)
    return dict(rss.last), round(time.monotonic() - began, 1)


async def send_bad(bench: Bench, limit: int) -> list[dict[str, Any]]:
    """Each bad body on a connection of its own, so that they reach every API process."""
    url = bench.base_url + ENDPOINT
    answers = []
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=30)
    ) as session:
        for body in bad_bodies(seed_body(), limit, f"{bench.run_id}-bad"):
            status, answer = await post(session, url, body.data)
            answers.append(
                {
                    "kind": body.kind,
                    "bytes": len(body.data),
                    "expected": body.expected,
                    "status": status,
                    "as_expected": status == str(body.expected),
                    "answer": detail(answer),
                }
            )
            say(
                f"memory: {body.kind}, {len(body.data):,} bytes: {status} "
                f"(expected {body.expected})"
            )
    return answers


async def send_largest(bench: Bench) -> dict[str, Any]:
    """The largest order, and what became of it once a worker took it."""
    data = largest_order(seed_body(), f"{bench.run_id}-largest")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        status, answer = await post(session, bench.base_url + ENDPOINT, data)
    result: dict[str, Any] = {"bytes": len(data), "status": status}
    order_id = (answer or {}).get("orderId")
    if status == "202" and order_id:
        result["processed"] = await wait_empty(bench.conn, PROCESS_DEADLINE)
        row = await bench.conn.fetchrow(ORDER_STATE, order_id)
        if row is not None:
            result["state"] = row["state"]
            result["seconds_to_done"] = round(row["took"].total_seconds(), 2)
            result["error"] = row["error"]
    say(
        f"memory: largest order ({len(data):,} bytes): {status}, "
        f"{result.get('state', 'not processed')}"
    )
    return result


async def memory(bench: Bench) -> dict[str, Any]:
    limit = Settings.from_env(bench.procs.env).orderhub_max_body_bytes
    async with running(bench, "memory", CAPACITY_WORKERS) as stack:
        rss = RssSampler(stack.pids)
        async with rss.running():
            await asyncio.sleep(SETTLE_SECONDS)
            rss.sample()
            before = dict(rss.last)
            say(f"memory: RSS before (MB) {before}")
            answers = await send_bad(bench, limit)
            largest = await send_largest(bench)
            stack.check()
            after, waited = await settle(rss, before)
            say(f"memory: RSS after (MB, {waited}s later) {after}")
    changes = growth(before, after)
    return {
        "limit_bytes": limit,
        "bad_bodies": answers,
        "largest_order": largest,
        "rss_before_mb": before,
        "rss_after_mb": after,
        "settle_seconds": waited,
        "growth": changes,
        "rss_mb": {"peak": rss.peak, "last": rss.last},
    }


def _peaks(peak: dict[str, float], prefix: str) -> tuple[float, int]:
    values = [v for name, v in peak.items() if name.startswith(prefix)]
    return (max(values) if values else 0.0), len(values)


def memory_rows(results: dict[str, Any]) -> list[Row]:
    """Peak RSS of every phase that ran, then the bad input's figures when the memory phase ran."""
    rows: list[Row] = []
    for phase in PHASES:
        peak = (results.get(phase) or {}).get("rss_mb", {}).get("peak")
        if not peak:
            continue
        api, apis = _peaks(peak, "api")
        worker, workers = _peaks(peak, "worker")
        value = " / ".join(
            part
            for part in (
                f"API {api:.0f} ({apis})" if apis else "",
                f"workers {worker:.0f} ({workers})" if workers else "",
            )
            if part
        )
        top = max(api, worker)
        rows.append(
            (
                f"peak RSS MB, {phase}",
                value,
                f"<= {TARGET_RSS_MB:.0f} MB per process ({met(top <= TARGET_RSS_MB)})",
            )
        )
    mem = results.get("memory")
    if not mem:
        return rows
    answers = mem["bad_bodies"]
    got: dict[str, int] = {}
    for a in answers:
        got[a["status"]] = got.get(a["status"], 0) + 1
    rows.append(
        (
            "bad bodies: answers",
            ", ".join(f"{n}x {status}" for status, n in sorted(got.items())),
            f"5x 400, 5x 413 ({met(all(a['as_expected'] for a in answers))})",
        )
    )
    largest = mem["largest_order"]
    rows.append(
        (
            "largest order (500 items)",
            f"{largest['status']}, {largest.get('state', 'not processed')}",
            f"{largest['bytes']:,} bytes; done in {largest.get('seconds_to_done', '-')} s",
        )
    )
    worst = max(mem["growth"].items(), key=lambda kv: kv[1], default=("-", 0.0))
    name = worst[0]
    rows.append(
        (
            "RSS after vs before, worst",
            f"{worst[1]:+.0%} ({name}: {mem['rss_before_mb'].get(name, 0):.0f} -> "
            f"{mem['rss_after_mb'].get(name, 0):.0f} MB)",
            f"<= +{TARGET_RSS_GROWTH:.0%} ({met(worst[1] <= TARGET_RSS_GROWTH)}); "
            f"after {mem['settle_seconds']} s",
        )
    )
    return rows
