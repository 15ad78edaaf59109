"""Callbacks of one order queue in memory, one at a time, and a wait has a limit."""

from __future__ import annotations

import asyncio

import pytest

from app.domain.errors import ApiError, ErrorKind
from app.http.order_locks import OrderLocks


async def test_one_holder_per_order_and_others_proceed() -> None:
    locks = OrderLocks()
    inside: list[str] = []
    release = asyncio.Event()

    async def hold(order_id: str) -> None:
        async with locks.holding([order_id], wait_seconds=5):
            inside.append(order_id)
            await release.wait()

    first = asyncio.create_task(hold("a"))
    second = asyncio.create_task(hold("a"))
    other = asyncio.create_task(hold("b"))
    for _ in range(10):
        await asyncio.sleep(0)
    assert sorted(inside) == ["a", "b"]  # the second callback of "a" waits
    release.set()
    await asyncio.gather(first, second, other)
    assert sorted(inside) == ["a", "a", "b"] and len(locks) == 0


async def test_a_wait_past_its_limit_is_busy() -> None:
    locks = OrderLocks()
    async with locks.holding(["a"], wait_seconds=5):
        with pytest.raises(ApiError) as caught:
            async with locks.holding(["b", "a"], wait_seconds=0.05):
                pass
    assert caught.value.kind is ErrorKind.BUSY
    assert len(locks) == 0
