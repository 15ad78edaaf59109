"""One order through real processes (API, worker, SOM/TOM stub): its trace id in each
process's log lines and in the header SOM/TOM received, then its life as `orderhub order
timeline` prints it from the database."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from app.domain.trace_context import parse
from app.settings import Settings
from tests.helpers.auth import auth
from tests.helpers.payloads import ORDERS, OUTBOUND_RESPONSE, async_example, unique_external_id
from tests.helpers.polling import wait_for
from tests.helpers.processes import orderhub, request
from tests.helpers.system import System, system_on

TRACE = "0af7651916cd43dd8448eb211c80319c"
PARENT = "b7ad6b7169203331"
WAIT = 60.0


@pytest.fixture
def system(demo_settings: Settings, tmp_path: Path) -> Any:
    with system_on(demo_settings, tmp_path) as running:
        yield running


def traced(log: Path) -> list[dict[str, Any]]:
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    return [line for line in lines if line.get("trace_id") == TRACE]


def order_state(system: System, order_id: str) -> str | None:
    resp = system.call("GET", f"{ORDERS}/{order_id}")
    return resp.json().get("state") if resp.status == 200 else None


def test_an_order_is_followed_across_processes_and_told_by_its_timeline(
    system: System, demo_settings: Settings
) -> None:
    body = async_example()
    body["externalId"] = external_id = unique_external_id()
    accepted = request(
        "POST",
        f"{system.api}{ORDERS}?mode=async",
        json_body=body,
        headers={**auth("integrator"), "traceparent": f"00-{TRACE}-{PARENT}-01"},
    )
    assert accepted.status == 202, accepted.body
    order_id = accepted.json()["orderId"]
    wait_for(lambda: order_state(system, order_id) is not None, WAIT, "order made by the worker")
    initiated = system.call(
        "POST", f"/api/orderhub/serviceOrder/{order_id}/outboundRequest", user="agent"
    )
    assert initiated.status == 201, initiated.body
    wait_for(lambda: order_state(system, order_id) == "completed", WAIT, "order completed")

    received = system.stub_call("GET", "/stub/received").json()
    sent = parse(received[0]["traceparent"])
    assert sent is not None and sent.trace_id == TRACE and sent.span_id != PARENT

    api = traced(system.log_dir / "api.log")
    assert [(x["path"], x["status"]) for x in api if x["event"] == "request"] == [
        (ORDERS, 202),
        (OUTBOUND_RESPONSE, 201),
        (OUTBOUND_RESPONSE, 201),
    ]
    worker = traced(system.log_dir / "worker0.log")
    assert [(x["event"], x["order_id"]) for x in worker] == [
        ("inbound_processed", order_id),
        ("outbound_sent", order_id),
    ]
    assert all(x["process"] == "worker" for x in worker)
    stub = traced(system.log_dir / "stub.log")
    assert [x["event"] for x in stub] == ["stub_order_received", "stub_callback", "stub_callback"]

    env = {"DATABASE_URL": demo_settings.database_url}
    shown = orderhub("order", "timeline", order_id, env=env)
    assert shown.returncode == 0, shown.stderr
    header, *lines = shown.stdout.splitlines()
    assert header == f"order {order_id} (externalId {external_id}), state completed"
    times = [datetime.fromisoformat(line.split("  ")[0].replace("Z", "+00:00")) for line in lines]
    assert times == sorted(times)
    whats = [line.split("  ")[1].strip() for line in lines]
    assert whats[:3] == ["accepted", "created", "domain order"]
    assert {"processed", "outbound", "callback", "work note"} <= set(whats)
    assert whats.index("processed") < whats.index("outbound") < whats.index("callback")
    assert f"trace id {TRACE}" in lines[0] and f"trace id {TRACE}" in lines[1]
    number = initiated.json()[0]["number"]
    assert any(f"record {number} to " in x and "state fulfilled" in x for x in lines)
    assert any("sent to" in x and number in x for x in lines)  # the send's work note

    assert orderhub("order", "timeline", external_id, env=env).stdout == shown.stdout
    as_json = orderhub("order", "timeline", order_id, "--json", env=env)
    document = json.loads(as_json.stdout)
    assert document["orderId"] == order_id and document["state"] == "completed"
    assert [e["what"] for e in document["events"]] == whats

    unknown = orderhub("order", "timeline", "no-such-order", env=env)
    assert unknown.returncode == 1 and unknown.stdout == ""
    assert unknown.stderr.strip() == (
        "orderhub: no order or queue entry with id or externalId no-such-order"
    )
