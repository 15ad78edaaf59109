"""Change orders on one product inventory take their turns: an entry behind an earlier one
waits, and the pass that processes the earlier one names it as next in line, so that the
worker enqueues its turn at once instead of waiting for its own job to look again."""

from __future__ import annotations

from typing import Any

import asyncpg

from app.domain.ids import new_sys_id
from app.services import inbound as inbound_service
from app.store import db
from tests.helpers.payloads import add_order, change_order

FIREWALL_INVENTORY = "4b5072aec3a83010abc8b5183c40dd42"
ROUTER_INVENTORY = "326d13f45b5620102dff5e92dc81c785"
HEADQUARTERS = "920cf6ac73d423002728660c4cf6a799"


async def _queued(conn: asyncpg.Connection[Any], payload: dict[str, Any], keys: list[str]) -> str:
    queue_id = new_sys_id()
    await conn.execute(
        "INSERT INTO inbound_queue (id, payload, created_by, inventory_keys, enqueued_at)"
        " VALUES ($1, $2, 'integrator', $3, '-infinity')",
        queue_id,
        payload,
        keys,
    )
    return queue_id


async def _process(conn: asyncpg.Connection[Any], ids: list[str]) -> inbound_service.Processed:
    return await inbound_service.process(conn, ids, attempt=1, allow_spec_upgrade=False)


async def test_the_pass_that_processes_an_entry_names_the_next_on_its_inventory(
    demo_database_url: str,
) -> None:
    conn = await db.connect(demo_database_url)
    try:
        chain = [
            await _queued(
                conn,
                change_order(
                    f"TURN-{n}", FIREWALL_INVENTORY, "Firewall Security", f"v{n}", HEADQUARTERS
                ),
                [FIREWALL_INVENTORY],
            )
            for n in range(3)
        ]
        other = await _queued(
            conn,
            change_order("TURN-R", ROUTER_INVENTORY, "Router Size", "v", HEADQUARTERS),
            [ROUTER_INVENTORY],
        )
        unrelated = await _queued(conn, add_order(), [])

        early = await _process(conn, [chain[1]])
        assert early.outcomes == [] and early.waiting == [chain[1]]

        first = await _process(conn, [chain[0], unrelated])
        assert {o.queue_id: o.state for o in first.outcomes} == {
            chain[0]: "done",
            unrelated: "done",
        }
        assert first.next_in_line == [chain[1]]  # not the router's entry, not the third

        second = await _process(conn, [chain[1]])
        assert [o.state for o in second.outcomes] == ["done"]
        assert second.next_in_line == [chain[2]]

        last = await _process(conn, [chain[2], other])
        assert len(last.outcomes) == 2 and last.next_in_line == []
    finally:
        await conn.close()
