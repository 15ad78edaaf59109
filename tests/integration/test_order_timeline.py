"""`orderhub order timeline` over orders made in this process: an async order whose processing
failed (its queue entry is all there is), a cancelled order, and ids that name nothing."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp.test_utils import TestClient

from app.cli.main import main
from app.settings import Settings
from app.store import db, timeline
from tests.helpers.auth import auth
from tests.helpers.in_process import drain, one_error_one_done
from tests.helpers.payloads import CANCEL, ORDERS, add_order


async def timeline_of(
    ref: str, settings: Settings, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str, str]:
    """The command as a user runs it (its own event loop, hence a thread of its own)."""
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["order", "timeline", ref, *extra])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _database(demo_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", demo_settings.database_url)


async def test_a_failed_async_order_shows_its_queue_entry_and_error(
    demo_client: TestClient, demo_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    failed, done = await one_error_one_done(demo_client, demo_settings)
    code, out, err = await timeline_of(failed, demo_settings, capsys)
    assert code == 0, err
    header, accepted, processed = out.splitlines()
    assert header == f"queue entry {failed}: no order was created from it"
    assert accepted.split()[2] == "accepted" and "by integrator" in accepted
    assert processed.split()[2] == "processed"
    assert "state error, attempts 1: Invalid body field; " in processed
    assert "(/serviceOrderItem/0/place" in processed

    code, out, _ = await timeline_of(done, demo_settings, capsys, "--json")
    document = json.loads(out)
    assert code == 0 and document["orderId"] == done and document["state"] == "new"
    whats = [e["what"] for e in document["events"]]
    assert whats[:3] == ["accepted", "created", "domain order"] and "processed" in whats


async def test_a_cancelled_order_ends_with_its_cancellation(
    demo_client: TestClient, demo_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    body = add_order()
    created = await demo_client.post(ORDERS, json=body, headers=auth("integrator"))
    order_id = (await created.json())["id"]
    cancel = {"cancellationReason": "Duplicate order", "serviceOrder": {"id": order_id}}
    resp = await demo_client.post(CANCEL, json=cancel, headers=auth("integrator"))
    assert resp.status == 200, await resp.text()
    await drain(demo_settings)

    code, out, err = await timeline_of(body["externalId"], demo_settings, capsys)
    assert code == 0, err
    header, *lines = out.splitlines()
    assert header == f"order {order_id} (externalId {body['externalId']}), state cancelled"
    assert lines[0].split()[2] == "created"  # sync: no queue entry
    assert "cancellation" in lines[-1] and "reason Duplicate order" in lines[-1]
    assert "by integrator" in lines[-1]


async def test_an_id_that_names_nothing_exits_1(
    demo_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = await timeline_of("0" * 32, demo_settings, capsys)
    assert (code, out) == (1, "")
    assert err == f"orderhub: no order or queue entry with id or externalId {'0' * 32}\n"


async def test_an_external_id_shared_by_orders_names_them_all(demo_settings: Settings) -> None:
    conn = await db.connect(demo_settings.database_url)
    try:
        ids = [
            r["sys_id"]
            for r in await conn.fetch(
                "SELECT sys_id FROM service_order ORDER BY order_date, sys_id LIMIT 2"
            )
        ]
        await conn.execute(
            "UPDATE service_order SET external_id = 'SHARED' WHERE sys_id = ANY($1)", ids
        )
        assert await timeline.find_orders(conn, "SHARED") == ids
        assert await timeline.find_orders(conn, ids[1]) == [ids[1]]
    finally:
        await conn.close()
    code = await asyncio.to_thread(main, ["order", "timeline", "SHARED"])
    assert code == 1
