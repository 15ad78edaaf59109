"""The SOM/TOM stub app in this process over real HTTP on 127.0.0.1, with a receiver standing
in for OrderHub (tests/acceptance/test_stub_process.py runs `orderhub stub`)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from app.cli.embedded import free_port
from app.settings import Settings
from app.stub import callbacks
from app.stub.config import CALLBACK_ATTEMPTS
from app.stub.server import TASKS, create_stub_app
from tests.helpers.auth import STUB_AUTH
from tests.helpers.payloads import outbound_order as order
from tests.helpers.polling import wait_for_async
from tests.helpers.receiver import Receiver

DELAY = 0.05


StubFactory = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def make_stub(receiver: Receiver) -> AsyncIterator[StubFactory]:
    clients: list[TestClient] = []

    async def make(**overrides: Any) -> TestClient:
        defaults = {"stub_callback_url": receiver.url, "stub_callback_delay_seconds": DELAY}
        settings = replace(Settings.from_env({}), **{**defaults, **overrides})
        client = TestClient(TestServer(create_stub_app(settings), host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def stub(make_stub: StubFactory) -> TestClient:
    return await make_stub()


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(callbacks, "FIRST_BACKOFF_SECONDS", 0.01)


async def post(
    client: TestClient, system: str, body: Any, authorization: str | None = STUB_AUTH
) -> aiohttp.ClientResponse:
    headers = {} if authorization is None else {"Authorization": authorization}
    return await client.post(f"/{system}/serviceOrder", json=body, headers=headers)


async def configure(client: TestClient, **config: Any) -> dict[str, Any]:
    resp = await client.post("/stub/config", json=config)
    assert resp.status == 200, await resp.text()
    result: dict[str, Any] = await resp.json()
    return result


async def received(client: TestClient) -> list[dict[str, Any]]:
    resp = await client.get("/stub/received")
    assert resp.status == 200
    result: list[dict[str, Any]] = await resp.json()
    return result


async def settled(stub: TestClient, within: float = 10) -> None:
    """Waits until the stub has finished every callback sequence it started (its callback
    tasks are done, their outcomes recorded): after that, nothing more comes for the orders it
    has. A bounded wait, not a guess of how long the callbacks take."""
    tasks = stub.server.app[TASKS]
    await wait_for_async(
        lambda: not tasks, within, f"the stub's {len(tasks)} callback task(s) done", interval=0.01
    )


async def test_health(stub: TestClient) -> None:
    resp = await stub.get("/health")
    assert resp.status == 200
    assert await resp.json() == {"status": "up"}


@pytest.mark.parametrize("system", ["som", "tom"])
async def test_an_order_is_acknowledged_with_201(stub: TestClient, system: str) -> None:
    resp = await post(stub, system, order("req-1"))
    assert resp.status == 201
    body = await resp.json()
    assert set(body) == {"id", "externalId", "state"}
    assert body["externalId"] == "req-1"
    assert body["state"] == "acknowledged"
    assert len(body["id"]) == 32


async def test_callbacks_are_pending_then_fulfilled(stub: TestClient, receiver: Receiver) -> None:
    sent = order("req-2", ("spec-1", "Fiber Access"), ("spec-2", "Managed Router"))
    assert (await post(stub, "som", sent)).status == 201
    calls = await receiver.wait_for(2)
    ids = ["domain-req-2-1", "domain-req-2-2"]
    assert calls[0] == {
        "externalId": "req-2",
        "serviceOrderItem": [{"id": i, "state": "pending"} for i in ids],
    }
    assert calls[1] == {
        "externalId": "req-2",
        "serviceOrderItem": [{"id": i, "state": "fulfilled"} for i in ids],
    }
    assert set(receiver.auth) == {aiohttp.encode_basic_auth("stub-callback", "stub-callback")}


async def test_a_duplicate_is_answered_alike_and_changes_nothing(
    stub: TestClient, receiver: Receiver
) -> None:
    first = await post(stub, "som", order("req-3"))
    again = await post(stub, "som", order("req-3"))
    assert first.status == again.status == 201
    assert await first.json() == await again.json()
    await receiver.wait_for(2)
    await settled(stub)
    assert receiver.states() == [["pending"], ["fulfilled"]]
    [entry] = await received(stub)
    assert entry["duplicates"] == 1
    # The same request id on the other system is another order.
    assert (await post(stub, "tom", order("req-3"))).status == 201
    assert len(await received(stub)) == 2


async def test_error_specifications_from_settings_match_by_name(
    make_stub: StubFactory, receiver: Receiver
) -> None:
    stub = await make_stub(stub_error_specifications="Other, Fiber Access")
    sent = order("req-4", ("spec-1", "Fiber Access"), ("spec-2", "Managed Router"))
    assert (await post(stub, "som", sent)).status == 201
    calls = await receiver.wait_for(2)
    assert calls[1]["serviceOrderItem"] == [
        {"id": "domain-req-4-1", "state": "error"},
        {"id": "domain-req-4-2", "state": "fulfilled"},
    ]
    await settled(stub)
    [entry] = await received(stub)
    assert [c["state"] for c in entry["callbacks"]] == ["pending", "error"]


async def test_error_specifications_from_config_match_by_id(
    stub: TestClient, receiver: Receiver
) -> None:
    config = await configure(stub, errorSpecifications=["spec-2"])
    assert config["errorSpecifications"] == ["spec-2"]
    sent = order("req-5", ("spec-1", "Fiber Access"), ("spec-2", "Managed Router"))
    assert (await post(stub, "tom", sent)).status == 201
    await receiver.wait_for(2)
    assert receiver.states() == [["pending", "pending"], ["fulfilled", "error"]]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        aiohttp.encode_basic_auth("stub", "wrong"),
        aiohttp.encode_basic_auth("other", "stub"),
        "Bearer stub",
        "Basic !!!",
    ],
)
async def test_wrong_or_no_credentials_are_401(stub: TestClient, authorization: str | None) -> None:
    resp = await post(stub, "som", order("req-6"), authorization)
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"].startswith("Basic")
    assert await received(stub) == []


async def test_credentials_come_from_settings(make_stub: StubFactory) -> None:
    stub = await make_stub(stub_user="som-user", stub_password="som-pw")
    assert (await post(stub, "som", order("req-7"))).status == 401
    resp = await post(stub, "som", order("req-7"), aiohttp.encode_basic_auth("som-user", "som-pw"))
    assert resp.status == 201


@pytest.mark.parametrize("body", [[1], {"serviceOrderItem": []}, {"externalId": "x"}])
async def test_an_order_it_cannot_fulfil_is_400(stub: TestClient, body: Any) -> None:
    resp = await post(stub, "som", body)
    assert resp.status == 400
    assert (await resp.json())["message"].startswith("Invalid payload")


async def test_mode_fail_answers_500_and_keeps_nothing_to_fulfil(
    stub: TestClient, receiver: Receiver
) -> None:
    assert (await configure(stub, mode="fail"))["mode"] == "fail"
    resp = await post(stub, "som", order("req-8"))
    assert resp.status == 500
    assert (await resp.json())["code"] == 1
    await settled(stub)
    assert receiver.calls == []
    # Once the system recovers, OrderHub's retry of the same request is accepted.
    await configure(stub, mode="normal")
    assert (await post(stub, "som", order("req-8"))).status == 201
    await receiver.wait_for(2)
    assert [(e["answer"], e["duplicates"]) for e in await received(stub)] == [(500, 0), (201, 0)]


async def test_mode_refuse_answers_400_every_time(stub: TestClient, receiver: Receiver) -> None:
    await configure(stub, mode="refuse")
    for _ in range(2):
        assert (await post(stub, "tom", order("req-9"))).status == 400
    await settled(stub)
    assert receiver.calls == []
    assert [e["answer"] for e in await received(stub)] == [400, 400]


async def test_mode_slow_waits_then_accepts(stub: TestClient, receiver: Receiver) -> None:
    await configure(stub, mode="slow", slowSeconds=0.3)
    started = time.monotonic()
    resp = await post(stub, "som", order("req-10"))
    assert resp.status == 201
    assert time.monotonic() - started >= 0.3
    await receiver.wait_for(2)


async def test_fail_rate_fails_that_share_of_orders_then_a_retry_may_pass(
    stub: TestClient, receiver: Receiver
) -> None:
    await configure(stub, failRate=1)
    assert (await post(stub, "som", order("req-20"))).status == 500
    await configure(stub, mode="slow", slowSeconds=0)
    assert (await post(stub, "som", order("req-20"))).status == 500
    await configure(stub, failRate=0)
    assert (await post(stub, "som", order("req-20"))).status == 201
    await receiver.wait_for(2)
    assert [(e["answer"], e["duplicates"]) for e in await received(stub)] == [
        (500, 0),
        (500, 0),
        (201, 0),
    ]


async def test_mode_comes_from_settings(make_stub: StubFactory) -> None:
    stub = await make_stub(stub_mode="refuse")
    assert (await (await stub.get("/stub/config")).json())["mode"] == "refuse"
    assert (await post(stub, "som", order("req-11"))).status == 400


async def test_config_shows_and_changes_all_or_nothing(stub: TestClient) -> None:
    resp = await stub.get("/stub/config")
    assert await resp.json() == {
        "mode": "normal",
        "errorSpecifications": [],
        "callbackDelaySeconds": DELAY,
        "slowSeconds": 10.0,
        "failRate": 0.0,
        "callbackAttempts": CALLBACK_ATTEMPTS,
    }
    for bad in (
        {"mode": "loud"},
        {"failRate": 1.5},
        {"callbackAttempts": 0},
        {"callbackAttempts": 2.5},
        {"mode": "fail", "callbackDelaySeconds": -1},
        {"errorSpecifications": "spec-1"},
        {"colour": "blue"},
        [],
    ):
        resp = await stub.post("/stub/config", json=bad)
        assert resp.status == 400, bad
    assert (await (await stub.get("/stub/config")).json())["mode"] == "normal"
    config = await configure(stub, callbackDelaySeconds=0)
    assert config["callbackDelaySeconds"] == 0


async def test_received_lists_what_came_oldest_first_and_clears(
    stub: TestClient, receiver: Receiver
) -> None:
    som, tom = order("req-12"), order("req-13", ("spec-9", "IP VPN"))
    await post(stub, "som", som)
    await post(stub, "tom", tom)
    await receiver.wait_for(4)
    await settled(stub)
    entries = await received(stub)
    assert [(e["system"], e["externalId"]) for e in entries] == [
        ("som", "req-12"),
        ("tom", "req-13"),
    ]
    assert entries[0]["order"] == som
    assert entries[1]["order"] == tom
    assert entries[0]["receivedAt"] <= entries[1]["receivedAt"]
    for entry in entries:
        assert entry["duplicates"] == 0
        assert [(c["state"], c["status"]) for c in entry["callbacks"]] == [
            ("pending", 201),
            ("fulfilled", 201),
        ]
        assert all(c["at"] for c in entry["callbacks"])
    assert (await stub.delete("/stub/received")).status == 204
    assert await received(stub) == []


async def test_a_callback_answered_500_is_retried(stub: TestClient, receiver: Receiver) -> None:
    receiver.statuses = [500, 503]
    await post(stub, "som", order("req-14"))
    await receiver.wait_for(4)
    assert receiver.states() == [["pending"]] * 3 + [["fulfilled"]]
    await settled(stub)
    [entry] = await received(stub)
    assert [(c["state"], c["status"], c["attempts"]) for c in entry["callbacks"]] == [
        ("pending", 201, 3),
        ("fulfilled", 201, 1),
    ]


async def test_a_4xx_callback_is_not_retried(stub: TestClient, receiver: Receiver) -> None:
    receiver.statuses = [400]
    await post(stub, "som", order("req-15"))
    await receiver.wait_for(2)
    await settled(stub)
    assert receiver.states() == [["pending"], ["fulfilled"]]


@pytest.mark.usefixtures("quick_retries")
async def test_retries_are_bounded(stub: TestClient, receiver: Receiver) -> None:
    receiver.statuses = [500] * 100
    await post(stub, "som", order("req-16"))
    await receiver.wait_for(2 * CALLBACK_ATTEMPTS)
    await settled(stub)
    assert len(receiver.calls) == 2 * CALLBACK_ATTEMPTS
    [entry] = await received(stub)
    assert [(c["status"], c["attempts"]) for c in entry["callbacks"]] == [
        (500, CALLBACK_ATTEMPTS)
    ] * 2


@pytest.mark.usefixtures("quick_retries")
async def test_callback_attempts_come_from_config(stub: TestClient, receiver: Receiver) -> None:
    await configure(stub, callbackAttempts=8)
    receiver.statuses = [503] * 7
    await post(stub, "som", order("req-21"))
    await receiver.wait_for(9)
    await settled(stub)
    [entry] = await received(stub)
    assert [(c["state"], c["status"], c["attempts"]) for c in entry["callbacks"]] == [
        ("pending", 201, 8),
        ("fulfilled", 201, 1),
    ]


@pytest.mark.usefixtures("quick_retries")
async def test_an_unreachable_orderhub_is_retried_then_given_up(make_stub: StubFactory) -> None:
    stub = await make_stub(stub_callback_url=f"http://127.0.0.1:{free_port()}")
    assert (await post(stub, "som", order("req-17"))).status == 201
    await settled(stub)
    [entry] = await received(stub)
    assert [(c["status"], c["attempts"]) for c in entry["callbacks"]] == [
        (None, CALLBACK_ATTEMPTS)
    ] * 2
