"""Waiting for something another process (or a background task) does: poll until it is so,
within a deadline. The only way tests wait: a fixed sleep is either longer than needed or, on
a busy machine, too short."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

INTERVAL = 0.1  # seconds between two checks


def _timed_out(what: str, within: float, last: object) -> TimeoutError:
    return TimeoutError(f"{what}: not so within {within}s (last check gave {last!r:.300})")


def wait_for(check: Callable[[], T], within: float, what: str, interval: float = INTERVAL) -> T:
    """Calls `check` until it returns something truthy, and returns that. Raises TimeoutError
    naming `what` once `within` seconds have passed; an exception `check` raises ends the wait
    at once (a check may assert what must hold while waiting)."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _timed_out(what, within, value)
        time.sleep(interval)


async def wait_for_async(
    check: Callable[[], T | Awaitable[T]],
    within: float,
    what: str,
    interval: float = INTERVAL,
) -> T:
    """wait_for in a coroutine: `check` may be a plain function or a coroutine function."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() >= deadline:
            raise _timed_out(what, within, value)
        await asyncio.sleep(interval)
