"""OUTBOUND_AUTO in the worker: the order and its outbound request commit together, so a worker
killed right after processing leaves no order that is never sent."""

from __future__ import annotations

import asyncpg
import pytest

from app.domain.ids import new_sys_id
from app.services import inbound as inbound_service
from app.store import db
from app.store import outbound as outbound_store
from tests.helpers.payloads import add_order


async def _queued(conn: asyncpg.Connection) -> str:  # type: ignore[type-arg]
    queue_id = new_sys_id()
    await conn.execute(
        "INSERT INTO inbound_queue (id, payload, created_by, enqueued_at)"
        " VALUES ($1, $2, 'integrator', '-infinity')",
        queue_id,
        add_order(),
    )
    return queue_id


@pytest.mark.parametrize("auto", [True, False])
async def test_processing_initiates_the_outbound_request_in_its_transaction(
    demo_database_url: str, auto: bool
) -> None:
    conn = await db.connect(demo_database_url)
    try:
        queue_id = await _queued(conn)
        result = await inbound_service.process(
            conn, [queue_id], attempt=1, allow_spec_upgrade=False, auto_outbound=auto
        )
        # Nothing more runs: this is what a worker killed after the commit leaves behind.
        assert [(o.queue_id, o.state) for o in result.outcomes] == [(queue_id, "done")]
        records = await conn.fetch(
            "SELECT request_id, state FROM outbound_request WHERE source_record = $1", queue_id
        )
        if not auto:
            assert records == [] and result.request_ids == []  # an agent initiates
            return
        assert [r["state"] for r in records] == ["not_applicable"]
        assert result.request_ids == [records[0]["request_id"]]
        # The trigger of its send was never enqueued: the outbound sweeper finds it.
        await conn.execute("UPDATE outbound_request SET enqueued_at = '-infinity'")
        due = await outbound_store.unsent_for_sweep(conn, older_than=0, limit=100)
        assert result.request_ids[0] in (due or [])
    finally:
        await conn.close()
