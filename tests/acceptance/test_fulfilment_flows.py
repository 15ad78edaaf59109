"""Fulfilment through real processes (API, arq workers, SOM/TOM stub; tests/helpers/system.py):
orders from creation to completion and inventory, and what happens when the fulfilment systems
fail, refuse, call back with errors, or the order is revised while in flight.

What the worker, the stub and the callbacks do happens in other processes: every state a test
expects of them it polls for, within WAIT, never reads once and hopes."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from app.cli.embedded import free_port
from app.domain import messages as m
from app.settings import Settings
from tests.helpers.databases import cloned_database, fetch
from tests.helpers.payloads import (
    CANCEL,
    EDGE_SPEC,
    HQ,
    LINK_SPEC,
    ORDERS,
    OUTBOUND_RESPONSE,
    SDWAN_SPEC,
    TMF_ORDERS,
    add_order,
    item,
    order_of,
    tmf_add_order,
)
from tests.helpers.polling import wait_for
from tests.helpers.processes import answers, request, start, stop
from tests.helpers.settings import isolated_settings
from tests.helpers.system import System, running_system

# Seconds any one thing may take to happen; every wait is bounded by it. Generous for a busy
# machine: a passing test waits only as long as the thing takes.
WAIT = 60.0


# --- helpers -----------------------------------------------------------------------------------


def get_order(system: System, order_id: str) -> dict[str, Any]:
    resp = system.call("GET", f"{ORDERS}/{order_id}")
    assert resp.status == 200, resp.body
    body: dict[str, Any] = resp.json()
    return body


def create(system: System, body: dict[str, Any], mode: str = "sync") -> str:
    """Posts an order and returns its id once it exists (async: once the worker created it)."""
    if mode == "sync":
        resp = system.call("POST", ORDERS, body=body)
        assert resp.status == 201, resp.body
        return str(resp.json()["id"])
    resp = system.call("POST", f"{ORDERS}?mode=async", body=body)
    assert resp.status == 202, resp.body
    order_id = str(resp.json()["orderId"])

    def made() -> bool:
        # Until the worker has made the order, GET by id shows the queue entry (code 102). In
        # the instant the worker commits it, GET may answer 404: an app race, reported, and
        # pinned by tests/integration/test_async_ingest.py (xfail); the next read has it.
        resp = system.call("GET", f"{ORDERS}/{order_id}")
        if resp.status == 404:
            return False
        assert resp.status == 200, resp.body
        return "href" in resp.json()

    wait_for(made, WAIT, f"async order {order_id} made by the worker")
    return order_id


def initiate(system: System, order_id: str) -> list[dict[str, Any]]:
    resp = system.call("POST", f"/api/orderhub/serviceOrder/{order_id}/outboundRequest", "agent")
    assert resp.status == 201, resp.body
    records: list[dict[str, Any]] = resp.json()
    return records


def records_of(system: System, order_id: str) -> list[dict[str, Any]]:
    resp = system.call("GET", f"/api/orderhub/serviceOrder/{order_id}/outboundRequest", "agent")
    assert resp.status == 200, resp.body
    rows: list[dict[str, Any]] = resp.json()
    return rows


def wait_records(
    system: System, order_id: str, ready: Callable[[list[dict[str, Any]]], bool], what: str
) -> list[dict[str, Any]]:
    """The order's outbound request records, once `ready` says they are as expected."""

    def check() -> list[dict[str, Any]] | None:
        records = records_of(system, order_id)
        return records if ready(records) else None

    found: list[dict[str, Any]] = wait_for(check, WAIT, f"order {order_id}: {what}")
    return found


def domain_orders_of(system: System, order_id: str) -> list[dict[str, Any]]:
    resp = system.call("GET", f"/api/orderhub/serviceOrder/{order_id}/domainOrder", "agent")
    assert resp.status == 200, resp.body
    rows: list[dict[str, Any]] = resp.json()
    return rows


def work_notes(system: System, order_id: str) -> list[str]:
    resp = system.call("GET", f"/api/orderhub/serviceOrder/{order_id}/workNote", "agent")
    assert resp.status == 200, resp.body
    return [note["text"] for note in resp.json()]


def wait_state(system: System, order_id: str, state: str, timeout: float = WAIT) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        order = get_order(system, order_id)
        return order if order.get("state") == state else None

    try:
        found: dict[str, Any] = wait_for(reached, timeout, f"order {order_id} {state}")
    except TimeoutError:
        order = get_order(system, order_id)
        raise AssertionError(
            f"order {order_id} is {order.get('state')}, not {state}; records "
            f"{records_of(system, order_id)}; notes {work_notes(system, order_id)}"
        ) from None
    return found


def received(system: System, base: str | None = None) -> list[dict[str, Any]]:
    resp = request("GET", (base or system.stub) + "/stub/received")
    assert resp.status == 200
    entries: list[dict[str, Any]] = resp.json()
    return entries


def accepted_once(entries: list[dict[str, Any]], request_ids: set[str]) -> None:
    """Each Request ID was accepted exactly once by the stub, never as a duplicate."""
    accepted = [e for e in entries if e["answer"] == 201 and e["externalId"] in request_ids]
    assert sorted(e["externalId"] for e in accepted) == sorted(request_ids), entries
    assert all(e["duplicates"] == 0 for e in accepted), accepted


def wait_received(
    system: System, request_ids: set[str], base: str | None = None
) -> list[dict[str, Any]]:
    """What the stub received, once it has accepted every one of `request_ids` and recorded
    both callbacks (pending, then the final state) of each: the stub records a callback after
    OrderHub answered it, so an order can show as completed a moment before."""

    def check() -> list[dict[str, Any]] | None:
        entries = received(system, base)
        done = {e["externalId"] for e in entries if e["answer"] == 201 and len(e["callbacks"]) >= 2}
        return entries if request_ids <= done else None

    found: list[dict[str, Any]] = wait_for(check, WAIT, f"the stub done with {request_ids}")
    return found


def wait_note(system: System, order_id: str, text: str) -> list[str]:
    """The order's work notes once one holds `text` (the worker writes some after the send)."""

    def check() -> list[str] | None:
        notes = work_notes(system, order_id)
        return notes if any(text in n for n in notes) else None

    found: list[str] = wait_for(check, WAIT, f"a work note of order {order_id} with {text!r}")
    return found


def stub_config(system: System, **fields: Any) -> None:
    resp = system.stub_call("POST", "/stub/config", fields)
    assert resp.status == 200, resp.body


def flat_order() -> dict[str, Any]:
    return add_order()


def hierarchical_order() -> dict[str, Any]:
    """SD-WAN Service (policy: hierarchical, SOM) HasChild an edge device and an access link."""
    return order_of(
        item(
            "add",
            "1",
            spec=SDWAN_SPEC,
            characteristics=[{"name": "Bandwidth", "value": "100 Mbps"}],
            orderRelationship=[
                {"id": "2", "relationshipType": "HasChild"},
                {"id": "3", "relationshipType": "HasChild"},
            ],
            place={"id": HQ, "@type": "Place"},
        ),
        item("add", "2", spec=EDGE_SPEC, place={"id": HQ, "@type": "Place"}),
        item(
            "add",
            "3",
            spec=LINK_SPEC,
            characteristics=[{"name": "Access Type", "value": "Fibre"}],
            orderRelationship=[{"id": "1", "relationshipType": "HasParent"}],
            place={"id": HQ, "@type": "Place"},
        ),
    )


def two_system_order() -> dict[str, Any]:
    """A firewall (SOM) and an access link (TOM), unrelated: two Request IDs."""
    body = add_order()
    body["serviceOrderItem"].append(item("add", "200", spec=LINK_SPEC))
    return body


async def inventory(url: str, sys_id: str) -> dict[str, Any]:
    rows = await fetch(
        url,
        "SELECT state, characteristics, location FROM product_inventory WHERE sys_id = $1",
        sys_id,
    )
    assert len(rows) == 1, sys_id
    row = rows[0]
    row["characteristics"] = json.loads(row["characteristics"])
    return row


def assert_completed_with_inventory(order: dict[str, Any]) -> list[str]:
    assert order["state"] == "completed", order["state"]
    assert order.get("completionDate")
    inventories = []
    for line in order["serviceOrderItem"]:
        assert line["state"] == "completed", line
        assert line["service"]["state"] == "active" and line["service"]["id"], line
        inventories.append(line["service"]["id"])
    return inventories


# --- one system for the scenarios that leave the stub as they found it -------------------------


@contextmanager
def system_up(
    database_url: str, redis_url: str, queue: str, log_dir: Path, **extra: str
) -> Iterator[System]:
    """running_system, entered again when its start lost the race against the stub's
    listening socket (its health check doesn't retry a refused connection)."""
    for attempt in range(1, 4):
        with ExitStack() as stack:
            try:
                system = stack.enter_context(
                    running_system(database_url, redis_url, queue, log_dir, **extra)
                )
            except OSError:
                if attempt == 3:
                    raise
                continue
            yield system
            return


@pytest.fixture(scope="module")
async def shared(
    postgres_admin_url: str, demo_template_db: str, redis_url: str, tmp_path_factory: Any
) -> AsyncIterator[tuple[System, str]]:
    async with cloned_database(postgres_admin_url, demo_template_db) as url:
        async with isolated_settings(url, redis_url) as settings:
            log_dir = tmp_path_factory.mktemp("shared-system")
            with system_up(url, redis_url, settings.orderhub_queue_name, log_dir) as system:
                yield system, url


@pytest.fixture
def own_system(demo_settings: Settings, tmp_path: Path) -> Any:
    """A system of its own, for a test that changes settings or the stub's mode."""

    def make(**extra: str) -> Any:
        return system_up(
            demo_settings.database_url,
            demo_settings.redis_url,
            demo_settings.orderhub_queue_name,
            tmp_path,
            **extra,
        )

    return make


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("shape", ["flat", "hierarchical"])
async def test_agent_initiated_order_completes(
    shared: tuple[System, str], shape: str, mode: str
) -> None:
    system, url = shared
    body = flat_order() if shape == "flat" else hierarchical_order()
    order_id = create(system, body, mode)
    records = initiate(system, order_id)
    assert {r["state"] for r in records} == {"not_applicable"}
    request_ids = {r["requestId"] for r in records}
    if shape == "flat":
        assert len(records) == 1
    else:
        assert len(records) == 3 and len(request_ids) == 1, records
        assert {r["target"] for r in records} == {"SOM"}
    order = wait_state(system, order_id, "completed")
    for sys_id in assert_completed_with_inventory(order):
        assert (await inventory(url, sys_id))["state"] == "active"
    assert {r["state"] for r in records_of(system, order_id)} == {"fulfilled"}
    assert {d["fulfillmentState"] for d in domain_orders_of(system, order_id)} == {"fulfilled"}
    entries = wait_received(system, request_ids)
    accepted_once(entries, request_ids)
    sent = next(e for e in entries if e["externalId"] in request_ids)
    assert sent["system"] == "som"
    assert len(sent["order"]["serviceOrderItem"]) == len(records)
    assert {i["id"] for i in sent["order"]["serviceOrderItem"]} == {
        r["domainOrderId"] for r in records
    }
    assert [c["state"] for c in sent["callbacks"]] == ["pending", "fulfilled"]
    assert all(c["status"] == 201 for c in sent["callbacks"])
    # The worker notes the send once it has recorded it: possibly after the callbacks.
    wait_note(system, order_id, "sent to SOM after 1 attempt(s)")


async def test_inventory_lifecycle_change_suspend_resume_delete(
    shared: tuple[System, str],
) -> None:
    system, url = shared
    order_id = create(system, flat_order())
    initiate(system, order_id)
    (inv,) = assert_completed_with_inventory(wait_state(system, order_id, "completed"))
    created = await inventory(url, inv)
    assert created["state"] == "active"
    assert created["characteristics"]["Firewall Security"] == "Standard"

    def run(line: dict[str, Any]) -> dict[str, Any]:
        follow_up = create(system, order_of(line))
        initiate(system, follow_up)
        return wait_state(system, follow_up, "completed")

    changed = [{"name": "Firewall Security", "value": "Premium", "previousValue": "Standard"}]
    order = run(item("change", inventory=inv, characteristics=changed, place={"id": HQ}))
    assert order["serviceOrderItem"][0]["service"]["id"] == inv
    after = await inventory(url, inv)
    assert after["state"] == "active"
    assert after["characteristics"]["Firewall Security"] == "Premium"
    assert after["characteristics"]["Firewall coverage"] == "Premium (Up to 50 sites)"

    order = run(item("suspend", inventory=inv))
    assert order["serviceOrderItem"][0]["service"]["state"] == "suspended"
    assert (await inventory(url, inv))["state"] == "suspended"

    order = run(item("resume", inventory=inv))
    assert order["serviceOrderItem"][0]["service"]["state"] == "active"
    assert (await inventory(url, inv))["state"] == "active"

    order = run(item("delete", inventory=inv))
    assert order["serviceOrderItem"][0]["service"]["state"] == "inactive"
    assert (await inventory(url, inv))["state"] == "inactive"


async def test_revision_in_flight_is_sent_as_a_revised_request(
    shared: tuple[System, str],
) -> None:
    system, _ = shared
    body = flat_order()
    order_id = create(system, body)
    stub_config(system, callbackDelaySeconds=60)  # the first request stays pending
    try:
        (first,) = initiate(system, order_id)
        wait_for(lambda: records_of(system, order_id)[0]["state"] == "pending", WAIT, "first sent")
    finally:
        stub_config(system, callbackDelaySeconds=0.3)
    assert get_order(system, order_id)["state"] == "in_progress"
    revised = copy.deepcopy(body)
    security = next(
        c
        for c in revised["serviceOrderItem"][0]["service"]["serviceCharacteristic"]
        if c["name"] == "Firewall Security"
    )
    security["value"], security["previousValue"] = "Basic", "Standard"
    resp = system.call("PATCH", f"{ORDERS}/{order_id}", body=revised)
    assert resp.status == 200, resp.body
    assert resp.json()["state"] == "revision_received"
    assert [d["updatesAvailable"] for d in domain_orders_of(system, order_id)] == [True]

    (second,) = initiate(system, order_id)
    assert second["previousRequestId"] == first["requestId"]
    assert second["requestId"] != first["requestId"]
    assert second["domainOrderId"] == first["domainOrderId"]
    order = wait_state(system, order_id, "completed")
    assert_completed_with_inventory(order)
    # The worker clears "updates available" when it records the send, which the callbacks
    # completing the order may overtake.
    wait_for(
        lambda: [d["updatesAvailable"] for d in domain_orders_of(system, order_id)] == [False],
        WAIT,
        "the revision recorded as sent",
    )
    entries = wait_received(system, {second["requestId"]})
    accepted_once(entries, {first["requestId"], second["requestId"]})
    sent = next(e for e in entries if e["externalId"] == second["requestId"])["order"]
    assert sent["previousExternalId"] == first["requestId"]
    chars = {
        c["name"]: c["value"]
        for c in sent["serviceOrderItem"][0]["service"]["serviceCharacteristic"]
    }
    assert chars["Firewall Security"] == "Basic"
    assert any(f"revising {first['requestId']}" in n for n in work_notes(system, order_id))

    # the superseded request's late answer is kept on its record, and undoes nothing
    late = {
        "externalId": first["requestId"],
        "serviceOrderItem": [{"id": first["domainOrderId"], "state": "pending"}],
    }
    assert system.call("POST", OUTBOUND_RESPONSE, body=late).status == 201
    assert get_order(system, order_id)["state"] == "completed"
    assert [d["fulfillmentState"] for d in domain_orders_of(system, order_id)] == ["fulfilled"]
    states = {r["requestId"]: r["state"] for r in records_of(system, order_id)}
    assert states == {first["requestId"]: "pending", second["requestId"]: "fulfilled"}


async def test_point_of_no_return_after_the_pending_callback(shared: tuple[System, str]) -> None:
    system, _ = shared
    body = order_of(item("add", "1", spec=EDGE_SPEC, place={"id": HQ, "@type": "Place"}))
    order_id = create(system, body)
    stub_config(system, callbackDelaySeconds=2)
    try:
        initiate(system, order_id)
        wait_for(lambda: get_order(system, order_id)["ponr"] == "true", WAIT, "point of no return")
    finally:
        stub_config(system, callbackDelaySeconds=0.3)
    patched = copy.deepcopy(body)
    patched["description"] = "too late"
    resp = system.call("PATCH", f"{ORDERS}/{order_id}", body=patched)
    assert resp.status == 400, resp.body
    assert resp.json()["code"] == 62
    assert resp.json()["details"][0]["message"] == m.ORDERHUB_POINT_OF_NO_RETURN
    resp = system.call("POST", CANCEL, body={"serviceOrder": {"id": order_id}})
    assert resp.status == 400, resp.body
    assert resp.json()["code"] == 62
    assert resp.json()["details"][0]["message"] == m.ORDERHUB_POINT_OF_NO_RETURN
    order = wait_state(system, order_id, "completed")
    assert order["ponr"] == "true"
    assert "description" not in order


# --- systems of their own ----------------------------------------------------------------------


async def test_outbound_auto_initiates_every_created_order(own_system: Any) -> None:
    with own_system(OUTBOUND_AUTO="true") as system:
        orders = {
            (shape, mode): create(system, build(), mode)
            for shape, build in (("flat", flat_order), ("hierarchical", hierarchical_order))
            for mode in ("sync", "async")
        }
        standard = system.call("POST", TMF_ORDERS, body=tmf_add_order())
        assert standard.status == 201, standard.body
        orders[("flat", "standard flavour")] = standard.json()["id"]
        request_ids: set[str] = set()
        for (shape, _), order_id in orders.items():
            # Initiated by the API (sync) or by the worker once it made the order (async):
            # one transaction writes all of an order's records, so once there are some, there
            # are all.
            records = wait_records(system, order_id, bool, "initiated automatically")
            assert len(records) == (1 if shape == "flat" else 3), records
            assert len({r["requestId"] for r in records}) == 1
            request_ids |= {r["requestId"] for r in records}
        for (shape, _), order_id in orders.items():
            order = wait_state(system, order_id, "completed")
            assert_completed_with_inventory(order)
            records = wait_records(
                system,
                order_id,
                lambda rows: {r["state"] for r in rows} == {"fulfilled"},
                "every record fulfilled",
            )
            assert len(records) == (1 if shape == "flat" else 3)
            assert {r["requestId"] for r in records} <= request_ids
        entries = wait_received(system, request_ids)
        accepted_once(entries, request_ids)
        assert len(entries) == len(request_ids) == 5
        # nothing is left to send: a manual initiation is refused, changing nothing
        some = orders[("flat", "sync")]
        resp = system.call("POST", f"/api/orderhub/serviceOrder/{some}/outboundRequest", "agent")
        assert resp.status == 400 and resp.json()["code"] == 62


async def test_stub_down_then_up_delivers_exactly_once(own_system: Any, tmp_path: Path) -> None:
    port = free_port()
    dead = f"http://127.0.0.1:{port}/som/serviceOrder"
    # a cool-down longer than the first back-offs, so that the breaker visibly parks sends
    with own_system(SOM_URL=dead, ORDERHUB_BREAKER_COOLDOWN_SECONDS="3") as system:
        order_id = create(system, flat_order())
        (record,) = initiate(system, order_id)

        def retried() -> bool:
            (row,) = records_of(system, order_id)
            assert row["state"] == "not_applicable", row
            return bool(row["attempts"] >= 3)

        wait_for(retried, WAIT, "three failed attempts")
        log = system.log_dir / "worker0.log"
        wait_for(lambda: "outbound_parked" in log.read_text(), WAIT, "breaker parks sends")
        assert get_order(system, order_id)["state"] == "new"
        stub = start("stub", env={**system.env, "STUB_PORT": str(port)}, log=tmp_path / "s2.log")
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(lambda: answers(base + "/health"), WAIT, "second stub up")
            wait_state(system, order_id, "completed")
            entries = received(system, base)
            accepted_once(entries, {record["requestId"]})
            assert len(entries) == 1
        finally:
            stop(stub)
        (row,) = records_of(system, order_id)
        assert row["requestId"] == record["requestId"] and row["attempts"] >= 4


async def test_stub_answering_500_then_201(own_system: Any) -> None:
    with own_system(STUB_MODE="fail") as system:
        order_id = create(system, flat_order())
        cancelled_id = create(system, flat_order())
        (record,) = initiate(system, order_id)
        (dropped,) = initiate(system, cancelled_id)
        request_id = record["requestId"]

        def failed_twice() -> bool:
            (row,) = records_of(system, order_id)
            assert row["state"] == "not_applicable", row
            return bool(row["attempts"] >= 2)

        wait_for(failed_twice, WAIT, "two answers 500")
        assert get_order(system, order_id)["state"] == "new"
        # cancelled while its request waits to go out: it never reaches the system
        resp = system.call("POST", CANCEL, body={"serviceOrder": {"id": cancelled_id}})
        assert resp.status == 200, resp.body
        stub_config(system, mode="normal")
        wait_state(system, order_id, "completed")
        wait_for(lambda: records_of(system, cancelled_id) == [], WAIT, "unsent records dropped")
        assert get_order(system, cancelled_id)["state"] == "cancelled"
        notes = work_notes(system, cancelled_id)
        assert any(dropped["requestId"] in n and "cancelled" in n for n in notes), notes
        assert all(
            e["answer"] != 201 for e in received(system) if e["externalId"] == dropped["requestId"]
        )
        entries = [e for e in received(system) if e["externalId"] == request_id]
        assert [e["answer"] for e in entries][-1] == 201
        assert all(e["answer"] == 500 for e in entries[:-1]) and len(entries) >= 3
        accepted_once(entries, {request_id})
        (row,) = records_of(system, order_id)
        assert row["state"] == "fulfilled" and row["requestId"] == request_id


async def test_failing_past_the_horizon_deletes_the_records_and_initiating_again_works(
    own_system: Any,
) -> None:
    with own_system(
        STUB_MODE="fail",
        ORDERHUB_OUTBOUND_GIVE_UP_SECONDS="2",
        ORDERHUB_OUTBOUND_MAX_ATTEMPTS="1",  # retired: a warning, no effect
    ) as system:
        order_id = create(system, flat_order())
        (record,) = initiate(system, order_id)
        wait_for(lambda: records_of(system, order_id) == [], WAIT, "records deleted")
        notes = work_notes(system, order_id)
        failure = [n for n in notes if record["requestId"] in n and "failed" in n]
        assert len(failure) == 1, notes
        first = [e for e in received(system) if e["externalId"] == record["requestId"]]
        assert len(first) >= 2 and all(e["answer"] == 500 for e in first)
        assert f"after {len(first)} attempt(s)" in failure[0] and "HTTP 500" in failure[0]
        assert record["number"] in failure[0]
        order = get_order(system, order_id)
        assert order["state"] == "new"
        assert [i["state"] for i in order["serviceOrderItem"]] == ["new"]
        log = (system.log_dir / "worker0.log").read_text()
        assert "ORDERHUB_OUTBOUND_MAX_ATTEMPTS is no longer read" in log

        stub_config(system, mode="normal")
        (again,) = initiate(system, order_id)
        assert again["requestId"] != record["requestId"]
        assert again["previousRequestId"] is None
        assert_completed_with_inventory(wait_state(system, order_id, "completed"))
        accepted_once(received(system), {again["requestId"]})


async def test_refusal_gives_up_without_retry(own_system: Any) -> None:
    with own_system(STUB_MODE="refuse") as system:
        order_id = create(system, flat_order())
        (record,) = initiate(system, order_id)
        wait_for(lambda: records_of(system, order_id) == [], WAIT, "records deleted")
        notes = [n for n in work_notes(system, order_id) if record["requestId"] in n]
        assert any("after 1 attempt(s)" in n and "HTTP 400" in n for n in notes), notes
        entries = [e for e in received(system) if e["externalId"] == record["requestId"]]
        assert [e["answer"] for e in entries] == [400]
        assert get_order(system, order_id)["state"] == "new"


async def test_two_workers_send_each_request_exactly_once(own_system: Any) -> None:
    with own_system() as system:
        system.start_worker()
        stub_config(system, mode="slow", slowSeconds=0.2)
        order_ids = [create(system, two_system_order()) for _ in range(12)]
        request_ids: set[str] = set()
        for order_id in order_ids:
            records = initiate(system, order_id)
            assert len(records) == 2 and {r["target"] for r in records} == {"SOM", "TOM"}
            request_ids |= {r["requestId"] for r in records}
        assert len(request_ids) == 24
        for order_id in order_ids:
            assert_completed_with_inventory(wait_state(system, order_id, "completed", 60))
        entries = wait_received(system, request_ids)
        accepted_once(entries, request_ids)
        assert len(entries) == 24

        def sends_logged() -> int:
            logs = [(system.log_dir / f"worker{n}.log").read_text() for n in (0, 1)]
            return sum(log.count("outbound_sent") for log in logs)

        # Each worker logs a send after the stub answered it, which the callbacks may overtake.
        wait_for(lambda: sends_logged() >= 24, WAIT, "24 sends logged")
        assert sends_logged() == 24


async def test_error_callbacks_put_item_and_order_in_error(own_system: Any) -> None:
    with own_system(STUB_ERROR_SPECIFICATIONS="Internet Access Link") as system:
        order_id = create(system, two_system_order())
        records = initiate(system, order_id)
        order = wait_state(system, order_id, "error")
        wait_for(
            lambda: {r["state"] for r in records_of(system, order_id)} == {"fulfilled", "error"},
            WAIT,
            "both answered",
        )
        order = wait_state(system, order_id, "error")
        states = {i["id"]: i["state"] for i in order["serviceOrderItem"]}
        assert states == {"100": "completed", "200": "error"}
        notes = work_notes(system, order_id)
        assert any("line item 200 reported error" in n for n in notes), notes
        link = next(r for r in records if r["target"] == "TOM")
        shown = system.call("GET", f"/api/orderhub/outboundRequest/{link['number']}", "agent")
        assert shown.json()["state"] == "error"
        assert shown.json()["response"]["serviceOrderItem"] == [
            {"id": link["domainOrderId"], "state": "error"}
        ]

        # a new outbound request may be initiated for what failed
        stub_config(system, errorSpecifications=[])
        (again,) = initiate(system, order_id)
        assert again["domainOrderId"] == link["domainOrderId"]
        assert again["requestId"] != link["requestId"]
        assert_completed_with_inventory(wait_state(system, order_id, "completed"))
