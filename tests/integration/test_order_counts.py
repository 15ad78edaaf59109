"""The kept count of orders per state equals a count of the table, through inserts, state
changes, deletes, rollbacks, concurrent writers and compaction."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from app.store import order_counts

INSERT = "INSERT INTO service_order (sys_id, state, created_by) VALUES ($1, $2, 'test')"
SET_STATE = "UPDATE service_order SET state = $2 WHERE sys_id = $1"


async def _truth(conn: asyncpg.Connection) -> dict[str, int]:
    rows = await conn.fetch("SELECT state, count(*) AS n FROM service_order GROUP BY state")
    return {row["state"]: row["n"] for row in rows}


async def _kept(conn: asyncpg.Connection) -> dict[str, int]:
    states = ("new", "in_progress", "completed", "cancelled")
    kept = {state: await order_counts.total(conn, [state]) for state in states}
    return {state: n for state, n in kept.items() if n}


def _ids(count: int) -> list[str]:
    return [uuid.uuid4().hex for _ in range(count)]


async def test_inserts_updates_and_deletes_are_counted(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        ids = _ids(30)
        await conn.executemany(INSERT, [(i, "new") for i in ids])
        await conn.executemany(SET_STATE, [(i, "in_progress") for i in ids[:12]])
        await conn.execute(
            "UPDATE service_order SET state = 'completed' WHERE sys_id = ANY($1)", ids[:5]
        )
        await conn.execute("UPDATE service_order SET updated_at = now()")  # no state changes
        await conn.execute("DELETE FROM service_order WHERE sys_id = ANY($1)", ids[25:])
        assert (
            await _kept(conn) == await _truth(conn) == {"new": 13, "in_progress": 7, "completed": 5}
        )
        assert await order_counts.total(conn) == 25
        assert await order_counts.total(conn, ["new", "completed"]) == 18


async def test_a_rolled_back_change_is_not_counted(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await conn.executemany(INSERT, [(i, "new") for i in _ids(3)])
        try:
            async with conn.transaction():
                await conn.executemany(INSERT, [(i, "new") for i in _ids(4)])
                await conn.execute("UPDATE service_order SET state = 'cancelled'")
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        assert await _kept(conn) == await _truth(conn) == {"new": 3}


async def test_concurrent_writers_neither_wait_on_each_other_nor_lose_a_change(
    pool: asyncpg.Pool,
) -> None:
    async def writer() -> None:
        async with pool.acquire() as conn:
            for _ in range(40):
                async with conn.transaction():
                    ids = _ids(3)
                    await conn.executemany(INSERT, [(i, "new") for i in ids])
                    await conn.execute(SET_STATE, ids[0], "in_progress")
                    await conn.execute(SET_STATE, ids[1], "completed")

    await asyncio.gather(*(writer() for _ in range(min(8, pool.get_max_size()))))
    async with pool.acquire() as conn:
        assert await _kept(conn) == await _truth(conn)


async def test_many_rows_are_folded_into_one_per_state(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        for i in _ids(order_counts.COMPACT_AFTER_ROWS + 10):
            await conn.execute(INSERT, i, "new")
        for i in _ids(20):
            await conn.execute(INSERT, i, "completed")
        assert (
            await conn.fetchval("SELECT count(*) FROM order_count")
            > order_counts.COMPACT_AFTER_ROWS
        )
        expected = await _truth(conn)
        assert await order_counts.total(conn) == sum(expected.values())
        assert await conn.fetchval("SELECT count(*) FROM order_count") == len(expected)
        assert await _kept(conn) == expected


async def test_rebuild_counts_the_table(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await conn.execute("SET session_replication_role = replica")  # triggers off, as a bulk load
        await conn.executemany(INSERT, [(i, "cancelled") for i in _ids(6)])
        await conn.execute("RESET session_replication_role")
        assert await _kept(conn) != await _truth(conn)
        await order_counts.rebuild(conn)
        assert await _kept(conn) == await _truth(conn) == {"cancelled": 6}
