"""Event notifications end to end: real API, worker and stub processes, the stub as listener.

Every event type raised by its action, filters, signatures, and delivery that loses nothing:
a listener down for a while, one answering 500 then 200, a worker killed mid-delivery, Redis
losing the jobs, a subscriber dead past the horizon and replayed. Each wait polls with a
deadline; every process is stopped by pid.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from redis import Redis

from app.settings import Settings
from tests.helpers.payloads import (
    ORDERS,
    TMF,
    TMF_CANCELS,
    TMF_ORDERS,
    async_example,
    example,
    sn_add_order,
    tmf_add_order,
)
from tests.helpers.polling import wait_for
from tests.helpers.processes import orderhub, stop
from tests.helpers.system import System, system_on
from tests.helpers.tcp_proxy import TcpProxy
from tests.helpers.tmf_schema import assert_matches_definition

HUB = f"{TMF}/hub"
FAST_RETRIES = {
    "ORDERHUB_HUB_ALLOW_PRIVATE_CALLBACKS": "true",
    "ORDERHUB_EVENT_BACKOFF_CAP_SECONDS": "1",
    "ORDERHUB_EVENT_TIMEOUT_SECONDS": "3",
    "ORDERHUB_BREAKER_THRESHOLD": "3",
}


@pytest.fixture
def system(
    demo_settings: Settings, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[System]:
    extra = getattr(request, "param", {})
    with system_on(demo_settings, tmp_path, **{**FAST_RETRIES, **extra}) as running:
        yield running


def subscribe(system: System, query: str = "", callback: str | None = None) -> dict[str, Any]:
    body = {"callback": callback or f"{system.stub}/listener", "query": query}
    resp = system.call("POST", HUB, body=body)
    assert resp.status == 201, resp.body
    created: dict[str, Any] = resp.json()
    return created


def tell_listener(system: System, **config: Any) -> None:
    resp = system.stub_call("POST", "/stub/listener/config", config)
    assert resp.status == 200, resp.body


def received(system: System) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = system.stub_call("GET", "/stub/events").json()
    return events


def accepted(system: System) -> list[dict[str, Any]]:
    return [e for e in received(system) if e["status"] == 200]


def event_ids(system: System) -> list[str]:
    """Every event OrderHub has raised, oldest first (rows stay an hour after delivery)."""

    async def read() -> list[str]:
        conn = await asyncpg.connect(system.env["DATABASE_URL"])
        try:
            return [
                r["event_id"]
                for r in await conn.fetch("SELECT event_id FROM order_event ORDER BY seq")
            ]
        finally:
            await conn.close()

    return asyncio.run(read())


def check_once_and_in_order(system: System, events: list[dict[str, Any]]) -> None:
    """Every raised event reached the listener, and per order in the order raised."""
    raised = event_ids(system)
    got = [e["eventId"] for e in events]
    assert set(got) == set(raised), (len(got), len(raised))
    position = {event_id: i for i, event_id in enumerate(raised)}
    first_seen: dict[str, list[int]] = defaultdict(list)
    seen: set[str] = set()
    for e in events:
        if e["eventId"] in seen:
            continue  # a duplicate, dropped by eventId as a receiver would
        seen.add(e["eventId"])
        first_seen[e["body"]["correlationId"]].append(position[e["eventId"]])
    for order_id, order in first_seen.items():
        assert order == sorted(order), order_id


def order_state(system: System, order_id: str) -> str:
    return str(system.call("GET", f"{TMF_ORDERS}/{order_id}").json().get("state"))


def test_each_action_raises_its_event_signed_and_filtered(system: System) -> None:
    everything = subscribe(system)
    completed = subscribe(
        system,
        "eventType=ServiceOrderStateChangeEvent&event.serviceOrder.state=completed"
        "&fields=event.serviceOrder.state",
        callback=f"{system.stub}/listener/completed",
    )
    tell_listener(system, secrets=[everything["secret"], completed["secret"]])

    # created, revised, cancelled (standard flavour); created and deleted
    first = system.call("POST", TMF_ORDERS, body=tmf_add_order()).json()
    assert (
        system.call("PATCH", f"{TMF_ORDERS}/{first['id']}", body={"description": "x"}).status == 200
    )
    cancel = system.call("POST", TMF_CANCELS, body={"serviceOrder": {"id": first["id"]}})
    assert cancel.status == 201
    doomed = system.call("POST", TMF_ORDERS, body=tmf_add_order()).json()
    assert system.call("DELETE", f"{TMF_ORDERS}/{doomed['id']}").status == 204
    # sent for fulfilment and completed by the stub's callbacks (ServiceNow flavour)
    sn = system.call("POST", ORDERS, body=example("06_post_add")["body"]).json()
    path = f"/api/orderhub/serviceOrder/{sn['id']}/outboundRequest"
    assert system.call("POST", path, user="agent").status == 201
    wait_for(lambda: order_state(system, sn["id"]) == "completed", 60, "order completed")
    # an async order naming an unknown place needs information
    bad = async_example()
    bad["serviceOrderItem"][0]["place"]["id"] = "no-such-location"
    queued = system.call("POST", f"{ORDERS}?mode=async", body=bad)
    assert queued.status == 202
    # a send SOM refuses is given up: the order is in jeopardy
    assert system.stub_call("POST", "/stub/config", {"mode": "refuse"}).status == 200
    refused = system.call("POST", ORDERS, body=sn_add_order()).json()
    path = f"/api/orderhub/serviceOrder/{refused['id']}/outboundRequest"
    assert system.call("POST", path, user="agent").status == 201

    def all_types() -> bool:
        types = {e["body"]["eventType"] for e in accepted(system)}
        return types >= {
            "ServiceOrderCreateEvent",
            "ServiceOrderAttributeValueChangeEvent",
            "ServiceOrderStateChangeEvent",
            "ServiceOrderDeleteEvent",
            "ServiceOrderInformationRequiredEvent",
            "ServiceOrderMilestoneEvent",
            "ServiceOrderJeopardyEvent",
            "CancelServiceOrderCreateEvent",
            "CancelServiceOrderStateChangeEvent",
        }

    wait_for(all_types, 60, "every event type received")
    wait_for(
        lambda: (
            len(event_ids(system))
            == len({e["eventId"] for e in accepted(system) if e["path"] == "/listener"})
        ),
        30,
        "all delivered",
    )
    events = [e for e in accepted(system) if e["path"] == "/listener"]
    check_once_and_in_order(system, events)
    for e in events:
        assert_matches_definition(e["body"], e["body"]["eventType"])
    assert all(e["signatureValid"] is True for e in received(system))
    assert all(e["headers"]["webhook-id"] == e["eventId"] for e in events)
    by_order: dict[str, list[str]] = defaultdict(list)
    for e in events:
        by_order[e["body"]["correlationId"]].append(e["body"]["eventType"])
    assert by_order[first["id"]] == [
        "ServiceOrderCreateEvent",
        "ServiceOrderAttributeValueChangeEvent",
        "ServiceOrderStateChangeEvent",
        "ServiceOrderStateChangeEvent",
        "CancelServiceOrderCreateEvent",
        "CancelServiceOrderStateChangeEvent",
    ]
    assert by_order[doomed["id"]] == ["ServiceOrderCreateEvent", "ServiceOrderDeleteEvent"]
    assert by_order[sn["id"]][0] == "ServiceOrderCreateEvent"
    assert by_order[sn["id"]][-1] == "ServiceOrderStateChangeEvent"
    assert "ServiceOrderMilestoneEvent" in by_order[sn["id"]]
    assert by_order[queued.json()["orderId"]] == ["ServiceOrderInformationRequiredEvent"]
    assert by_order[refused["id"]][-1] == "ServiceOrderJeopardyEvent"
    # the filtered subscription got the one completion, projected
    (done,) = [e for e in received(system) if e["path"] == "/listener/completed"]
    assert done["body"]["eventType"] == "ServiceOrderStateChangeEvent"
    projected = done["body"]["event"]["serviceOrder"]
    assert projected["id"] == sn["id"] and projected["state"] == "completed"
    assert set(projected) <= {"id", "href", "state", "@type"}
    assert done["body"]["eventId"] and done["body"]["correlationId"] == sn["id"]


def test_a_listener_down_for_a_while_then_failing_gets_everything_once_in_order(
    system: System,
) -> None:
    proxy = TcpProxy("127.0.0.1", int(system.stub.rsplit(":", 1)[1]))
    proxy.start()
    try:
        subscribe(system, callback=f"http://127.0.0.1:{proxy.port}/listener")
        proxy.cut()
        ids = [system.call("POST", TMF_ORDERS, body=tmf_add_order()).json()["id"] for _ in range(5)]
        for order_id in ids[:3]:
            assert (
                system.call("PATCH", f"{TMF_ORDERS}/{order_id}", body={"description": "d"}).status
                == 200
            )
        wait_for(
            lambda: "event_retry" in (system.log_dir / "worker0.log").read_text(), 30, "retries"
        )
        # back, but answering 500 to the next few
        tell_listener(system, failNext=4)
        proxy.restore()
        wait_for(lambda: len({e["eventId"] for e in accepted(system)}) == 11, 60, "11 events")
        check_once_and_in_order(system, accepted(system))
        assert sum(1 for e in received(system) if e["status"] == 500) == 4
        counts = Counter(e["eventId"] for e in accepted(system))
        assert max(counts.values()) == 1  # nothing delivered twice
    finally:
        proxy.close()


@pytest.mark.parametrize("system", [{"ORDERHUB_WORKER_JOBS": "orders"}], indirect=True)
def test_split_workers_order_work_in_one_and_every_delivery_in_the_other(system: System) -> None:
    """`--jobs orders` beside `--jobs events`: the order worker processes orders and raises
    their events but delivers none; the event worker, on its own queue, delivers them all."""
    sub = subscribe(system)
    created = system.call("POST", TMF_ORDERS, body=tmf_add_order()).json()["id"]
    queued = system.call("POST", f"{ORDERS}?mode=async", body=async_example()).json()
    wait_for(lambda: order_state(system, queued["orderId"]) != "None", 60, "async order processed")
    assert accepted(system) == []  # no delivery yet: nobody works the events queue
    listed = orderhub("events", "subscriptions", env={"DATABASE_URL": system.env["DATABASE_URL"]})
    assert listed.returncode == 0, listed.stderr
    (line,) = [row for row in listed.stdout.splitlines() if row.startswith(sub["id"])]
    assert line.split()[3] == "2"  # PENDING: both orders' create events wait for delivery
    system.start_worker(jobs="events")
    wait_for(lambda: len({e["eventId"] for e in accepted(system)}) == 2, 60, "2 events delivered")
    check_once_and_in_order(system, accepted(system))
    assert {e["body"]["correlationId"] for e in accepted(system)} == {created, queued["orderId"]}
    order_log, event_log = (system.log_dir / f"worker{n}.log" for n in (0, 1))
    assert "event_delivered" not in order_log.read_text()
    assert event_log.read_text().count("event_delivered") == 2
    assert "process_inbound" not in event_log.read_text()


def test_a_worker_killed_mid_delivery_and_redis_flushed_lose_nothing(system: System) -> None:
    subscribe(system)
    tell_listener(system, mode="slow", slowSeconds=2)
    for _ in range(6):
        assert system.call("POST", TMF_ORDERS, body=tmf_add_order()).status == 201
    worker = system.workers[0]
    # POSTs are in flight (the listener is slow): kill the worker in the middle of them
    wait_for(lambda: _in_flight(system), 20, "deliveries in flight")
    stop(worker, signal.SIGKILL)
    # and Redis loses every job of this queue
    redis = Redis.from_url(system.env["REDIS_URL"])
    try:
        queue = system.env["ORDERHUB_QUEUE_NAME"]
        jobs = [j.decode() for j in redis.zrange(queue, 0, -1)]
        redis.delete(
            queue, *[f"arq:job:{j}" for j in jobs], *[f"arq:in-progress:{j}" for j in jobs]
        )
    finally:
        redis.close()
    tell_listener(system, mode="normal")
    system.start_worker()
    wait_for(lambda: len({e["eventId"] for e in accepted(system)}) == 6, 90, "6 events delivered")
    check_once_and_in_order(system, accepted(system))


def _in_flight(system: System) -> bool:
    """The worker has leased deliveries whose POST has not been answered."""

    async def read() -> int:
        conn = await asyncpg.connect(system.env["DATABASE_URL"])
        try:
            n: int = await conn.fetchval(
                "SELECT count(*) FROM event_delivery WHERE leased_until > clock_timestamp()"
            )
            return n
        finally:
            await conn.close()

    return asyncio.run(read()) > 0


@pytest.mark.parametrize("system", [{"ORDERHUB_EVENT_GIVE_UP_SECONDS": "3"}], indirect=True)
def test_a_subscriber_dead_past_the_horizon_is_suspended_and_replayed(system: System) -> None:
    sub = subscribe(system)
    tell_listener(system, mode="fail")
    order_id = system.call("POST", TMF_ORDERS, body=tmf_add_order()).json()["id"]

    def dead() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = system.call(
            "GET", "/api/orderhub/eventDelivery", user="agent"
        ).json()
        return found

    wait_for(lambda: dead(), 60, "a dead delivery")
    (parked,) = dead()
    assert parked["subscription"] == sub["id"] and parked["orderId"] == order_id
    assert parked["eventType"] == "ServiceOrderCreateEvent" and parked["attempts"] >= 1
    subscriptions = system.call("GET", "/api/orderhub/hub", user="agent").json()
    assert [s["state"] for s in subscriptions if s["id"] == sub["id"]] == ["suspended"]
    # suspended: later changes are not queued for it
    system.call("PATCH", f"{TMF_ORDERS}/{order_id}", body={"description": "later"})
    listed = orderhub("events", "dead", env={"DATABASE_URL": system.env["DATABASE_URL"]})
    assert listed.returncode == 0 and parked["eventId"] in listed.stdout
    tell_listener(system, mode="normal")
    replayed = orderhub(
        "events",
        "replay",
        "--subscription",
        sub["id"],
        env={"DATABASE_URL": system.env["DATABASE_URL"]},
    )
    assert replayed.returncode == 0, replayed.stderr
    assert "1 deliveries replayed" in replayed.stdout
    wait_for(
        lambda: [e["eventId"] for e in accepted(system)] == [parked["eventId"]], 30, "replayed"
    )
    subscriptions = system.call("GET", "/api/orderhub/hub", user="agent").json()
    assert [s["state"] for s in subscriptions if s["id"] == sub["id"]] == ["active"]
    assert dead() == []
    # and it gets new events again
    system.call("PATCH", f"{TMF_ORDERS}/{order_id}", body={"description": "again"})
    wait_for(lambda: len(accepted(system)) >= 2, 30, "a new event after the replay")
