"""One order followed by its trace id: the async POST's traceparent reaches the worker's lines,
the outbound call to SOM/TOM (the stub, in this process over real HTTP) and the stub's
callbacks, whose lines in the API carry it again."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import structlog
from aiohttp.test_utils import TestClient, TestServer

from app import logs
from app.domain.trace_context import parse
from app.http.app import create_app
from app.settings import Settings
from app.stub.server import create_stub_app
from tests.helpers.auth import TEST_USERS, auth
from tests.helpers.in_process import app_client, drain, post_async
from tests.helpers.payloads import ORDERS, OUTBOUND_RESPONSE, async_example
from tests.helpers.polling import wait_for_async

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
WAIT = 60.0


@pytest.fixture
def log_lines(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The JSON lines every part writes in this process, as `orderhub` configures them."""
    buffer = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    monkeypatch.setattr("sys.stdout", buffer)
    logs.configure("info", process="test", fmt="json")
    # The modules' loggers must not keep this buffer for the tests that come after.
    structlog.configure(cache_logger_on_first_use=False)
    yield buffer
    root.handlers[:], root.level = handlers, level
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]


async def test_an_async_order_is_followed_by_its_trace_id_to_som_tom_and_back(
    demo_settings: Settings, log_lines: io.StringIO
) -> None:
    async with app_client(create_app(demo_settings)) as client:
        stub_settings = replace(
            demo_settings,
            stub_callback_url=str(client.make_url("")).rstrip("/"),
            stub_callback_user="integrator",
            stub_callback_password=TEST_USERS["integrator"][0],
            stub_callback_delay_seconds=0.05,
        )
        async with TestClient(TestServer(create_stub_app(stub_settings), host="127.0.0.1")) as stub:
            base = str(stub.make_url("")).rstrip("/")
            worker_settings = replace(
                demo_settings,
                som_url=f"{base}/som/serviceOrder",
                tom_url=f"{base}/tom/serviceOrder",
            )
            status, accepted = await post_async(
                client, async_example(), headers={"traceparent": f"00-{TRACE}-{PARENT}-01"}
            )
            assert status == 202, accepted
            order_id = accepted["orderId"]
            await drain(worker_settings)
            # The agent initiates in a request of its own, without a traceparent: the send
            # still continues the order's trace.
            initiated = await client.post(
                f"/api/orderhub/serviceOrder/{order_id}/outboundRequest", headers=auth("agent")
            )
            assert initiated.status == 201, await initiated.text()
            await drain(worker_settings)

            async def completed() -> bool:
                resp = await client.get(f"{ORDERS}/{order_id}", headers=auth("integrator"))
                return (await resp.json()).get("state") == "completed"

            await wait_for_async(completed, WAIT, "order completed by the stub's callbacks")
            received = await (await stub.get("/stub/received")).json()

    assert len(received) == 1
    sent = parse(received[0]["traceparent"])
    assert sent is not None and sent.trace_id == TRACE and sent.span_id != PARENT

    written = lines(log_lines)
    traced = [line for line in written if line.get("trace_id") == TRACE]
    events = [line["event"] for line in traced]
    accept_line = [line for line in traced if line["event"] == "request" and line["path"] == ORDERS]
    assert len(accept_line) == 1 and accept_line[0]["status"] == 202
    assert accept_line[0]["order_id"] == order_id
    processed = [line for line in traced if line["event"] == "inbound_processed"]
    assert [line["order_id"] for line in processed] == [order_id]
    assert processed[0]["request_id"] == accept_line[0]["request_id"]
    sends = [line for line in traced if line["event"] == "outbound_sent"]
    assert [(line["order_id"], line["status"]) for line in sends] == [(order_id, 201)]
    assert "stub_order_received" in events
    assert events.count("stub_callback") == 2  # pending, then fulfilled
    callbacks = [
        line for line in traced if line["event"] == "request" and line["path"] == OUTBOUND_RESPONSE
    ]
    assert [line["status"] for line in callbacks] == [201, 201]
    # The initiating request had no traceparent: a trace of its own.
    initiate = [line for line in written if line.get("path", "").endswith("/outboundRequest")]
    assert len(initiate) == 1 and initiate[0]["trace_id"] != TRACE
