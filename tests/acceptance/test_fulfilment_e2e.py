"""From POST to a completed order and an active inventory, through real processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.settings import Settings
from tests.helpers.payloads import ORDERS, example
from tests.helpers.polling import wait_for
from tests.helpers.system import System, system_on


@pytest.fixture
def system(demo_settings: Settings, tmp_path: Path) -> Any:
    with system_on(demo_settings, tmp_path) as running:
        yield running


def order_state(system: System, order_id: str) -> str:
    return str(system.call("GET", f"{ORDERS}/{order_id}").json().get("state"))


def test_flat_order_completes_when_the_agent_initiates(system: System) -> None:
    created = system.call("POST", ORDERS, body=example("06_post_add")["body"])
    assert created.status == 201
    order_id = created.json()["id"]
    initiated = system.call(
        "POST", f"/api/orderhub/serviceOrder/{order_id}/outboundRequest", user="agent"
    )
    assert initiated.status == 201, initiated.body
    records = initiated.json()
    assert len(records) == 1 and records[0]["state"] == "not_applicable"
    assert records[0]["number"].startswith("FO") and len(records[0]["number"]) == 9
    wait_for(lambda: order_state(system, order_id) == "completed", 30, "order completed")
    order = system.call("GET", f"{ORDERS}/{order_id}").json()
    service = order["serviceOrderItem"][0]["service"]
    assert service["state"] == "active" and service["id"]
    number = records[0]["number"]
    record = system.call("GET", f"/api/orderhub/outboundRequest/{number}", user="agent").json()
    assert (
        record["state"] == "fulfilled" and record["response"]["externalId"] == record["requestId"]
    )
    received = system.stub_call("GET", "/stub/received").json()
    assert [r["externalId"] for r in received] == [record["requestId"]]
    assert received[0]["duplicates"] == 0
