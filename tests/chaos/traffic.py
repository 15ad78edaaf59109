"""The steady stream of `mode=async` orders the faults happen under, and what each answer was.

One logical order is one body with one Idempotency-Key. Its first POST goes to one API process;
an attempt that got no answer (connection error, timeout), a 503 or a 409 (the same key still
being written) is retried with the same key and body, on the other process, a bounded number of
times. An order counts as accepted only once a 202 arrived for it. Every attempt is bounded by
ATTEMPT_TIMEOUT: a request that outlives it is a hang and is counted as one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.chaos.stack import ERROR_SPECIFICATION
from tests.helpers.auth import auth
from tests.helpers.payloads import (
    HQ,
    INV_ACTIVE,
    INV_ROUTER,
    ORDERS,
    add_order,
    change_order,
)

ATTEMPT_TIMEOUT = 10.0
MAX_ATTEMPTS = 6
MAX_IN_FLIGHT = 400
# Inventories the change orders share, with the characteristic each one sets.
CHAINS = {INV_ACTIVE: "Firewall Security", INV_ROUTER: "Router Size"}
# Kinds of order and their shares of the stream.
MIX = (("add", 0.7), ("error", 0.1), ("change", 0.2))


@dataclass
class Attempt:
    api: int
    status: int | None  # None: no answer
    problem: str  # "", or what was wrong with the answer (or why none came)
    seconds: float


@dataclass
class Sent:
    """One logical order: its body, every attempt, and the 202 if one came."""

    number: int
    kind: str
    scenario: str
    key: str
    body: dict[str, Any]
    inventory: str | None = None
    first_sent: float = 0.0  # time.time(), comparable with the database's clock
    attempts: list[Attempt] = field(default_factory=list)
    order_id: str | None = None
    accepted_at: float | None = None  # time.time() of the 202
    done: bool = False

    @property
    def external_id(self) -> str:
        external_id: str = self.body["externalId"]
        return external_id


def _body(kind: str, external_id: str, rng: random.Random) -> tuple[dict[str, Any], str | None]:
    if kind == "change":
        inventory = rng.choice(sorted(CHAINS))
        value = f"chaos-{external_id}"
        return change_order(external_id, inventory, CHAINS[inventory], value, HQ), inventory
    body = add_order()
    body["externalId"] = external_id
    if kind == "error":
        service = body["serviceOrderItem"][0]["service"]
        service["serviceSpecification"] = {"id": ERROR_SPECIFICATION}
        service["serviceCharacteristic"] = [
            {"name": "Access Type", "valueType": "Choice", "value": "Fibre"}
        ]
        del service["serviceRelationship"]
    return body, None


def check_unavailable(status: int, body: Any, headers: Any) -> str:
    """What is wrong with a 503, "" when it is the designed one: the error object with
    Retry-After."""
    if not isinstance(body, dict) or {"code", "reason", "message"} - set(body):
        return "503 without the error object"
    if not str(headers.get("Retry-After", "")).isdigit():
        return "503 without Retry-After"
    return ""


class Stream:
    """Posts orders at `rate` a second from one asyncio task, each in a task of its own."""

    def __init__(self, api_urls: list[str], rate: float, seed: int = 641) -> None:
        self.api_urls = api_urls
        self.rate = rate
        self.scenario = "warm-up"
        self.sent: list[Sent] = []
        self.skipped = 0  # ticks with MAX_IN_FLIGHT orders unanswered
        self._rng = random.Random(seed)
        self._prefix = f"CHAOS-{uuid.uuid4().hex[:6]}"
        self._tasks: set[asyncio.Task[None]] = set()
        self._running = False
        self._session: aiohttp.ClientSession | None = None

    async def run(self) -> None:
        """Until stop(); then waits for every order's attempts to end."""
        self._running = True
        connector = aiohttp.TCPConnector(limit=MAX_IN_FLIGHT)
        async with aiohttp.ClientSession(
            connector=connector,
            headers=auth("integrator"),
            timeout=aiohttp.ClientTimeout(total=ATTEMPT_TIMEOUT),
        ) as session:
            self._session = session
            interval = 1 / self.rate
            next_at = time.monotonic()
            while self._running:
                if len(self._tasks) >= MAX_IN_FLIGHT:
                    self.skipped += 1
                else:
                    self._launch()
                next_at += interval
                # The stream's own pace, not a wait for another process.
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def stop(self) -> None:
        self._running = False

    def _launch(self) -> None:
        number = len(self.sent)
        kind = self._rng.choices([k for k, _ in MIX], [w for _, w in MIX])[0]
        external_id = f"{self._prefix}-{number:06d}"
        body, inventory = _body(kind, external_id, self._rng)
        sent = Sent(number, kind, self.scenario, uuid.uuid4().hex, body, inventory)
        self.sent.append(sent)
        task = asyncio.create_task(self._post(sent))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, sent: Sent) -> None:
        assert self._session is not None
        sent.first_sent = time.time()
        api = sent.number % len(self.api_urls)
        for _ in range(MAX_ATTEMPTS):
            attempt, retry_in = await self._attempt(sent, api)
            sent.attempts.append(attempt)
            if attempt.status == 202 and not attempt.problem:
                break
            if retry_in is None:
                break
            api = (api + 1) % len(self.api_urls)
            # The client's back-off between two attempts, as an upstream system's.
            await asyncio.sleep(retry_in)
        sent.done = True

    async def _attempt(self, sent: Sent, api: int) -> tuple[Attempt, float | None]:
        """The attempt, and the seconds to wait before another (None: no other)."""
        assert self._session is not None
        url = f"{self.api_urls[api]}{ORDERS}?mode=async"
        started = time.monotonic()
        headers = {"Idempotency-Key": sent.key}
        try:
            async with self._session.post(url, json=sent.body, headers=headers) as resp:
                raw = await resp.read()
                status, response_headers = resp.status, resp.headers
        except TimeoutError:
            return Attempt(api, None, "timeout", time.monotonic() - started), 0.5
        except (aiohttp.ClientError, OSError) as exc:
            problem = f"no answer ({type(exc).__name__})"
            return Attempt(api, None, problem, time.monotonic() - started), 0.5
        seconds = time.monotonic() - started
        body: Any = None
        with contextlib.suppress(ValueError):
            body = json.loads(raw)
        if status == 202:
            if not isinstance(body, dict) or not isinstance(body.get("orderId"), str):
                return Attempt(api, status, "202 without orderId", seconds), None
            if sent.order_id not in (None, body["orderId"]):
                return Attempt(api, status, "202 with another orderId", seconds), None
            sent.order_id, sent.accepted_at = body["orderId"], time.time()
            return Attempt(api, status, "", seconds), None
        if status == 503:
            problem = check_unavailable(status, body, response_headers)
            retry_after = response_headers.get("Retry-After", "1")
            wait = min(float(retry_after), 2.0) if retry_after.isdigit() else 1.0
            return Attempt(api, status, problem, seconds), wait
        if status == 409:
            return Attempt(api, status, "", seconds), 0.5
        detail = raw[:200].decode(errors="replace")
        return Attempt(api, status, f"HTTP {status} {detail}", seconds), None


def statuses(sent: list[Sent]) -> Counter[str]:
    """Every attempt's outcome, by kind: 202, 503, 409, other HTTP codes, timeout, no answer."""
    counts: Counter[str] = Counter()
    for order in sent:
        for attempt in order.attempts:
            if attempt.status is None:
                counts["timeout" if attempt.problem == "timeout" else "no answer"] += 1
            else:
                counts[str(attempt.status)] += 1
    return counts
