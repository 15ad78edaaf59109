"""The console's pages in this process: Service Orders > All (filter, search, keyset pages), an
order with its records and work notes, the outbound action and its refusals, the inbound queue
with retries and the operator log, and Outbound with failed sends and breaker reports."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp.test_utils import TestClient

from app.domain.console_listing import PAGE_SIZE
from app.domain.worker_reports import breakers_key
from app.services import jobs
from app.services.outbound import Send, send_failed
from app.settings import Settings
from app.store import db
from tests.helpers.console import csrf_of, post_form, signed_in, text_of
from tests.helpers.in_process import drain, one_error_one_done, post_async
from tests.helpers.payloads import ORDER_COMPLETED, ORDER_NEW, async_example
from workers.breakers import breaker
from workers.heartbeat import heartbeat, worker_name


def _numbers(page: str) -> list[str]:
    return re.findall(r'href="/console/orders/([0-9a-z-]+)"', page)


async def _execute(url: str, sql: str, *args: Any) -> None:
    conn = await db.connect(url)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def test_the_list_filters_searches_and_pages(
    demo_client: TestClient, demo_database_url: str
) -> None:
    # enough orders of one customer for three pages, newest first
    await _execute(
        demo_database_url,
        """INSERT INTO service_order (sys_id, external_id, state, order_date, account,
                                      created_by)
           SELECT 'page-' || lpad(i::text, 3, '0'), 'PAGE-' || i, 'new',
                  timestamptz '2030-01-01' - i * interval '1 minute',
                  'ffc68911c35420105252716b7d40dd55', 'test'
             FROM generate_series(1, $1) i""",
        PAGE_SIZE * 2 + 3,
    )
    await signed_in(demo_client)
    first = await (await demo_client.get("/console/orders")).text()
    assert _numbers(first)[:3] == ["page-001", "page-002", "page-003"]
    assert len(_numbers(first)) == PAGE_SIZE
    assert "Funco Intl" in text_of(first) and "Newer" not in text_of(first)
    older = re.search(r'href="(/console/orders\?[^"]*before=[^"]+)"', first)
    assert older
    second = await (await demo_client.get(older.group(1).replace("&amp;", "&"))).text()
    assert _numbers(second)[0] == f"page-{PAGE_SIZE + 1:03d}"
    newer = re.search(r'href="(/console/orders\?[^"]*after=[^"]+)"', second)
    assert newer
    back = await (await demo_client.get(newer.group(1).replace("&amp;", "&"))).text()
    assert _numbers(back) == _numbers(first)

    by_external = await demo_client.get("/console/orders", params={"q": "PAGE-7"})
    assert _numbers(await by_external.text()) == ["page-007"]
    by_number = await demo_client.get("/console/orders", params={"q": ORDER_NEW})
    assert _numbers(await by_number.text()) == [ORDER_NEW]
    by_customer = await demo_client.get("/console/orders", params={"q": "funco"})
    assert len(_numbers(await by_customer.text())) == PAGE_SIZE
    by_state = await demo_client.get("/console/orders", params={"state": "completed"})
    assert _numbers(await by_state.text()) == [ORDER_COMPLETED]
    nothing = await demo_client.get("/console/orders", params={"q": "no such thing"})
    assert "No service order matches." in text_of(await nothing.text())


async def test_an_order_shows_its_fields_items_and_records(demo_client: TestClient) -> None:
    await signed_in(demo_client)
    page = text_of(await (await demo_client.get(f"/console/orders/{ORDER_COMPLETED}")).text())
    for expected in (
        "Line items",
        "Firewall coverage",
        "Related parties",
        "Funco Intl",
        "Work notes",
        "Domain orders",
        "Updates available",
        "Outbound Requests",
        "Completed",
    ):
        assert expected in page, expected
    in_progress = await demo_client.get("/console/orders/a831e56e77602110c8b3a4d54b5a9954")
    shown = text_of(await in_progress.text())
    # the demo's recorded outbound request, in the seed's form fields
    assert "Number State Source record Table Request ID" in shown
    assert (
        "FO0001000 Pending a831e56e77602110c8b3a4d54b5a9954 sn_ind_tmt_orm_order "
        "607017d243322110461f99612bb8f25c" in shown
    )


async def test_create_outbound_request_then_the_rules_refuse_a_second(
    demo_client: TestClient, demo_settings: Settings
) -> None:
    token = await signed_in(demo_client)
    order = f"/console/orders/{ORDER_NEW}"
    page = await (await demo_client.get(order)).text()
    assert "Create Outbound Fulfillment Request" in page
    confirm = text_of(await (await demo_client.get(order + "/outbound-request")).text())
    assert "Initiate Fulfillment Request" in confirm and "OK" in confirm and "Cancel" in confirm

    resp = await post_form(demo_client, order + "/outbound-request", {"csrf": token})
    assert resp.status == 303 and resp.headers["Location"] == order + "#outbound-requests"
    shown = await (await demo_client.get(order)).text()
    text = text_of(shown)
    number = re.search(r"Outbound request (FO\d{7}) created; state Not applicable\.", text)
    assert number, text
    assert "Not applicable" in text
    assert f"Outbound request {number.group(1)} created for SOM with Request ID" in text
    record = text_of(
        await (await demo_client.get(f"/console/outbound-requests/{number.group(1)}")).text()
    )
    for label in (
        "Number",
        "State",
        "Source record",
        "Table",
        "Request ID",
        "sn_ind_tmt_orm_order",
    ):
        assert label in record
    # the notice shows once
    assert "created; state Not applicable." not in text_of(
        await (await demo_client.get(order)).text()
    )

    again = await post_form(demo_client, order + "/outbound-request", {"csrf": token})
    assert again.status == 303
    refused = text_of(await (await demo_client.get(order)).text())
    assert "Nothing to send: every domain order of this order has an outbound request" in refused
    assert "Traceback" not in refused

    closed = f"/console/orders/{ORDER_COMPLETED}/outbound-request"
    await post_form(demo_client, closed, {"csrf": token})
    page = text_of(await (await demo_client.get(f"/console/orders/{ORDER_COMPLETED}")).text())
    assert "A service order in state completed can't be sent for fulfilment." in page


async def test_queue_retry_edit_payload_and_the_operator_log(
    demo_client: TestClient, demo_settings: Settings, demo_database_url: str
) -> None:
    failed, _ = await one_error_one_done(demo_client, demo_settings)
    token = await signed_in(demo_client)
    page = text_of(await (await demo_client.get("/console/queue")).text())
    assert "Invalid payload: Location does not exist." in page
    assert "Processed, last hour 2" in page and "Workers alive" in page

    entry = f"/console/queue/{failed}"
    bad = await post_form(
        demo_client, f"{entry}/retry", {"csrf": token, "edited": "1", "payload": "{not json"}
    )
    assert bad.status == 400
    bad_page = await bad.text()
    assert "Malformed JSON" in text_of(bad_page) and "{not json" in bad_page
    missing = await post_form(
        demo_client, f"{entry}/retry", {"csrf": token, "edited": "1", "payload": '{"a": 1}'}
    )
    assert missing.status == 400
    assert "Invalid payload: serviceOrderItem missing." in text_of(await missing.text())

    fixed = json.dumps(async_example())
    resp = await post_form(
        demo_client, f"{entry}/retry", {"csrf": token, "edited": "1", "payload": fixed}
    )
    assert resp.status == 303
    shown = text_of(await (await demo_client.get(entry)).text())
    assert "Retried 1 entry." in shown and "Queued" in shown
    assert re.search(r"agent Retry edited", shown), shown
    await drain(demo_settings)
    done = text_of(await (await demo_client.get(entry)).text())
    assert "Done" in done

    # not in error any more: the rule's message, nothing else
    resp = await post_form(demo_client, "/console/queue/retry", {"csrf": token, "only": failed})
    assert resp.status == 303
    after = text_of(await (await demo_client.get("/console/queue")).text())
    assert (
        f"Not retried: {failed}: Only entries in error can be retried; this one is done." in after
    )


async def _two_errors(client: TestClient, settings: Settings) -> tuple[str, str]:
    ids = []
    for n in (1, 2):
        bad = async_example()
        bad["externalId"] = f"BAD-{n}"
        bad["serviceOrderItem"][0]["place"]["id"] = "no-such-location"
        ids.append((await post_async(client, bad))[1]["orderId"])
    await drain(settings)
    return ids[0], ids[1]


async def test_retry_selected_retries_each_and_records_who(
    demo_client: TestClient, demo_settings: Settings, demo_database_url: str
) -> None:
    first, second = await _two_errors(demo_client, demo_settings)
    token = await signed_in(demo_client, "admin")
    resp = await post_form(
        demo_client, "/console/queue/retry", [("csrf", token), ("id", first), ("id", second)]
    )
    assert resp.status == 303
    assert "Retried 2 entries." in text_of(await (await demo_client.get("/console/queue")).text())
    conn = await db.connect(demo_database_url)
    try:
        rows = await conn.fetch("SELECT subject, action, actor FROM operator_action ORDER BY id")
    finally:
        await conn.close()
    assert [tuple(r) for r in rows] == [(first, "retry", "admin"), (second, "retry", "admin")]


async def test_outbound_page_shows_states_failures_and_breakers(
    demo_client: TestClient, demo_settings: Settings, demo_database_url: str
) -> None:
    token = await signed_in(demo_client)
    await post_form(demo_client, f"/console/orders/{ORDER_NEW}/outbound-request", {"csrf": token})
    conn = await db.connect(demo_database_url)
    try:
        record = await conn.fetchrow(
            "SELECT number, request_id FROM outbound_request WHERE source_record = $1",
            ORDER_NEW,
        )
        assert record is not None
        send = Send(record["request_id"], "SOM", ORDER_NEW, [record["number"]], {})
        await send_failed(conn, send, 2, "HTTP 503 down for maintenance", retry_in=60)
    finally:
        await conn.close()
    redis = jobs.connect(demo_settings.redis_url, demo_settings.orderhub_queue_name)
    ctx: dict[str, Any] = {
        "settings": demo_settings,
        "redis": redis,
        "queue_name": demo_settings.orderhub_queue_name,
    }
    try:
        circuit = breaker(ctx, "SOM")
        for _ in range(demo_settings.orderhub_breaker_threshold):
            circuit.failure()
        await heartbeat(ctx)
        page = text_of(await (await demo_client.get("/console/outbound")).text())
        queue = text_of(await (await demo_client.get("/console/queue")).text())
    finally:
        circuit.success()
        await redis.delete(breakers_key(demo_settings.orderhub_queue_name, worker_name()))
        await redis.aclose(close_connection_pool=True)
    assert "Not applicable 1" in page
    assert "HTTP 503 down for maintenance" in page and "Retrying" in page
    assert re.search(r"SOM .*Open " + re.escape(worker_name()), page), page
    assert "Workers alive 1" in queue


async def test_only_console_roles_see_pages_and_the_csrf_form_reloads(
    demo_client: TestClient,
) -> None:
    token = await signed_in(demo_client, "agent")
    page = await (await demo_client.get(f"/console/orders/{ORDER_NEW}")).text()
    assert csrf_of(page) == token


async def test_the_outbound_page_keeps_its_title_and_shows_events_once(
    demo_client: TestClient,
) -> None:
    await signed_in(demo_client)
    html = await (await demo_client.get("/console/outbound")).text()
    assert "<title>Outbound · OrderHub</title>" in html
    assert html.count('id="events-title"') == 1
