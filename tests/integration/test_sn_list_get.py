"""GET /api/sn_tmf_api/order/serviceOrder (list) and /{id}: paging, projection, shape."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from tests.helpers.auth import auth
from tests.helpers.databases import execute
from tests.helpers.error_objects import error_detail
from tests.helpers.in_process import shared_demo_client
from tests.helpers.payloads import (
    ALIAS,
    FIREWALL_SPEC,
    INV_ACTIVE,
    LINK_SPEC,
    ORDER_COMPLETED,
    ORDER_IN_PROGRESS,
    ORDER_NEW,
    ORDER_TO_CANCEL,
    ORDERS,
    add_order,
    item,
    order_of,
)

Shared = tuple[TestClient, str]
DEMO_ORDERS = {ORDER_NEW, ORDER_IN_PROGRESS, ORDER_TO_CANCEL, ORDER_COMPLETED}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
INTEGRATOR = auth("integrator")


@pytest.fixture(scope="module")
async def shared(
    postgres_admin_url: str, demo_template_db: str, redis_url: str
) -> AsyncIterator[Shared]:
    """The demo database untouched: its four example orders, for tests that only read."""
    async with shared_demo_client(postgres_admin_url, demo_template_db, redis_url) as pair:
        yield pair


@pytest.fixture(scope="module")
async def scratch(
    postgres_admin_url: str, demo_template_db: str, redis_url: str
) -> AsyncIterator[Shared]:
    """Another demo database, for the GET tests that post the orders they read."""
    async with shared_demo_client(postgres_admin_url, demo_template_db, redis_url) as pair:
        yield pair


async def _create(client: TestClient, count: int, **fields: Any) -> list[str]:
    """Posts `count` small orders, a few at a time; returns their ids."""
    ids: list[str] = []
    semaphore = asyncio.Semaphore(8)

    async def one() -> None:
        async with semaphore:
            body = order_of(item("add", spec=LINK_SPEC), **fields)
            resp = await client.post(ORDERS, json=body, headers=INTEGRATOR)
            assert resp.status == 201, await resp.text()
            ids.append((await resp.json())["id"])

    await asyncio.gather(*(one() for _ in range(count)))
    return ids


async def _list(client: TestClient, query: str = "") -> tuple[int, Any, Any]:
    resp = await client.get(f"{ORDERS}{query}", headers=INTEGRATOR)
    return resp.status, resp.headers, await resp.json()


# --- list ------------------------------------------------------------------------------------


async def test_whole_result_is_200_with_headers(shared: Shared) -> None:
    client, _ = shared
    status, headers, body = await _list(client)
    assert status == 200
    assert isinstance(body, list)
    assert {o["id"] for o in body} == DEMO_ORDERS
    assert headers["X-Total-Count"] == "4"
    assert headers["Content-Range"] == "items 1-4"


async def test_alias_path_lists_the_same(shared: Shared) -> None:
    client, _ = shared
    resp = await client.get(ALIAS, headers=INTEGRATOR)
    assert resp.status == 200
    assert {o["id"] for o in await resp.json()} == DEMO_ORDERS


async def test_paging_offset_and_limit(shared: Shared) -> None:
    client, _ = shared
    _, _, everything = await _list(client)
    status, headers, body = await _list(client, "?offset=1&limit=2")
    assert status == 206
    assert [o["id"] for o in body] == [o["id"] for o in everything[1:3]]
    assert headers["X-Total-Count"] == "4"
    assert headers["Content-Range"] == "items 2-3"
    status, headers, body = await _list(client, "?offset=3&limit=2")
    assert status == 206
    assert [o["id"] for o in body] == [everything[3]["id"]]
    assert headers["Content-Range"] == "items 4-4"


async def test_limit_that_fits_everything_is_200(shared: Shared) -> None:
    client, _ = shared
    status, headers, body = await _list(client, "?limit=4")
    assert status == 200 and len(body) == 4
    status, headers, body = await _list(client, "?limit=3")
    assert status == 206 and len(body) == 3
    assert headers["Content-Range"] == "items 1-3"


async def test_offset_past_the_end(shared: Shared) -> None:
    client, _ = shared
    status, headers, body = await _list(client, "?offset=10")
    assert status == 206, body
    assert body == []
    assert headers["X-Total-Count"] == "4"


async def test_nothing_matching_is_404_error_object(shared: Shared) -> None:
    client, _ = shared
    resp = await client.get(f"{ORDERS}?state=nonexistent", headers=INTEGRATOR)
    await error_detail(resp, 404, 60)


async def test_state_filter(shared: Shared) -> None:
    client, _ = shared
    status, headers, body = await _list(client, "?state=new")
    assert status == 200
    assert {o["id"] for o in body} == {ORDER_NEW, ORDER_TO_CANCEL}
    assert all(o["state"] == "new" for o in body)
    assert headers["X-Total-Count"] == "2"
    status, _, body = await _list(client, "?state=completed")
    assert status == 200
    assert [o["id"] for o in body] == [ORDER_COMPLETED]


async def test_fields_projection_keeps_id_and_href(shared: Shared) -> None:
    client, _ = shared
    status, _, body = await _list(client, "?fields=state,foo")
    assert status == 200 and len(body) == 4
    for order in body:
        assert set(order) == {"id", "href", "state"}
        assert order["href"] == f"{ORDERS}/{order['id']}"


@pytest.mark.parametrize(
    "query",
    ["limit=abc", "limit=-1", "limit=0", "limit=1.5", "offset=abc", "offset=-1", "offset=1e3"],
)
async def test_bad_paging_parameter_is_400_code_28(shared: Shared, query: str) -> None:
    client, _ = shared
    resp = await client.get(f"{ORDERS}?{query}", headers=INTEGRATOR)
    detail = await error_detail(resp, 400, 28)
    assert query.split("=")[0] in detail["message"]


async def test_list_needs_integrator_role(shared: Shared) -> None:
    client, _ = shared
    await error_detail(await client.get(ORDERS, headers=auth("agent")), 403, 50)
    await error_detail(await client.get(ORDERS), 401, 40)


async def test_default_limit_and_cap_at_100(demo_client: TestClient) -> None:
    await _create(demo_client, 97)  # 101 orders with the demo's four
    status, headers, body = await _list(demo_client)
    assert status == 206
    assert len(body) == 20
    assert headers["X-Total-Count"] == "101"
    assert headers["Content-Range"] == "items 1-20"
    for limit in (100, 101, 1000):
        status, headers, body = await _list(demo_client, f"?limit={limit}")
        assert status == 206, limit
        assert len(body) == 100, limit
        assert headers["Content-Range"] == "items 1-100"
    status, headers, body = await _list(demo_client, "?offset=2&limit=3")
    assert status == 206
    assert len(body) == 3
    assert headers["Content-Range"] == "items 3-5"
    status, headers, body = await _list(demo_client, "?offset=100&limit=100")
    assert status == 206
    assert len(body) == 1
    assert headers["Content-Range"] == "items 101-101"


async def test_newest_first_ties_broken_by_id(demo_client: TestClient) -> None:
    tied = await _create(demo_client, 4, orderDate="2031-05-05T10:00:00.000Z")
    newest = await _create(demo_client, 1, orderDate="2032-01-01T00:00:00Z")
    status, _, body = await _list(demo_client, "?fields=orderDate")
    assert status == 200
    ids = [o["id"] for o in body]
    assert ids[:5] == newest + sorted(tied, reverse=True)
    keys = [(o["orderDate"], o["id"]) for o in body]
    assert keys == sorted(keys, reverse=True)
    # Pages put together give the same order, with nothing repeated or skipped.
    paged: list[str] = []
    for offset in range(0, len(ids), 3):
        _, _, page = await _list(demo_client, f"?fields=id&offset={offset}&limit=3")
        paged += [o["id"] for o in page]
    assert paged == ids


# --- get by id -------------------------------------------------------------------------------


def _walk_dates(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk_dates(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _walk_dates(v, key)
    elif key.lower().endswith("date"):
        yield key, value


async def test_get_by_id_shape(scratch: Shared) -> None:
    client, _ = scratch
    body = order_of(
        item(
            "change",
            inventory=INV_ACTIVE,
            spec=FIREWALL_SPEC,
            characteristics=[
                {"name": "Firewall Security", "value": "Premium", "previousValue": "Standard"},
                {"name": "CPE Type", "value": "Physical", "previousValue": "Physical"},
                {"name": "Firewall coverage", "value": "Premium (Up to 50 sites)"},
            ],
            committedDueDate="2030-01-02T03:04:05Z",
        ),
        requestedStartDate="2024-03-01T10:00:00+02:00",
        requestedCompletionDate="2024-03-02 09:30:00",
        note=[
            {"text": "older", "date": "2020-01-01T00:00:00.000Z"},
            {"text": "newest", "date": "2022-01-01T00:00:00.000Z", "author": "Jean"},
            {"text": "middle", "date": "2021-01-01T00:00:00.000Z"},
        ],
    )
    created = await client.post(ORDERS, json=body, headers=INTEGRATOR)
    assert created.status == 201, await created.text()
    order_id = (await created.json())["id"]
    resp = await client.get(f"{ORDERS}/{order_id}", headers=INTEGRATOR)
    assert resp.status == 200
    got = await resp.json()
    assert got["id"] == order_id
    assert got["href"] == f"/api/sn_tmf_api/order/serviceOrder/{order_id}"
    assert got["ponr"] == "false"
    assert got["state"] == "new" and got["version"] == "1"
    assert got["@type"] == "ServiceOrder"
    assert got["externalId"] == body["externalId"]
    assert got["requestedStartDate"] == "2024-03-01T08:00:00.000Z"
    assert got["requestedCompletionDate"] == "2024-03-02T09:30:00.000Z"
    dates = list(_walk_dates(got))
    assert len(dates) >= 6
    assert all(DATE.match(v) for _, v in dates), dates
    assert [n["text"] for n in got["note"]] == ["newest", "middle", "older"]
    assert got["note"][0]["author"] == "Jean"
    assert got["note"][1]["author"] == "integrator"
    (line,) = got["serviceOrderItem"]
    assert line["ponr"] == "false" and line["state"] == "new"
    assert line["@type"] == "ServiceOrderItem"
    assert line["committedDueDate"] == "2030-01-02T03:04:05.000Z"
    assert line["service"]["@type"] == "Service"
    assert line["service"]["id"] == INV_ACTIVE
    assert line["service"]["serviceSpecification"]["@type"] == "ServiceSpecificationRef"
    # CPE Type equals its previousValue; Firewall coverage equals the inventory's current value.
    assert line["service"]["serviceCharacteristic"] == [
        {
            "name": "Firewall Security",
            "valueType": "",
            "value": "Premium",
            "previousValue": "Standard",
        }
    ]
    assert {p["@referredType"] for p in got["relatedParty"]} == {
        "Customer",
        "CustomerContact",
        "Consumer",
    }


async def test_post_answer_leaves_out_unchanged_characteristics(scratch: Shared) -> None:
    client, _ = scratch
    body = order_of(
        item(
            "change",
            inventory=INV_ACTIVE,
            characteristics=[
                {"name": "Firewall Security", "value": "Basic", "previousValue": "Standard"},
                {"name": "CPE Type", "value": "Physical", "previousValue": "Physical"},
            ],
        )
    )
    resp = await client.post(ORDERS, json=body, headers=INTEGRATOR)
    answer = await resp.json()
    assert resp.status == 201, answer
    chars = answer["serviceOrderItem"][0]["service"]["serviceCharacteristic"]
    assert [c["name"] for c in chars] == ["Firewall Security"]


async def test_completed_example_renders_ponr_true(shared: Shared) -> None:
    client, _ = shared
    resp = await client.get(f"{ORDERS}/{ORDER_COMPLETED}", headers=INTEGRATOR)
    got = await resp.json()
    assert resp.status == 200
    assert got["ponr"] == "true"
    assert got["serviceOrderItem"][0]["ponr"] == "true"
    assert DATE.match(got["completionDate"])


async def test_get_unknown_id_is_404(shared: Shared) -> None:
    client, _ = shared
    resp = await client.get(f"{ORDERS}/{'f' * 32}", headers=INTEGRATOR)
    await error_detail(resp, 404, 60)
    resp = await client.get(f"{ALIAS}/{'f' * 32}", headers=INTEGRATOR)
    await error_detail(resp, 404, 60)


async def test_get_needs_integrator_role(shared: Shared) -> None:
    client, _ = shared
    await error_detail(await client.get(f"{ORDERS}/{ORDER_NEW}", headers=auth("agent")), 403, 50)


class _StatementCounter:
    """Counts the statements about orders every asyncpg connection sends, whatever issues
    them; the sign-in's periodic re-read of the user and the pool's reset on release come
    and go with timing, so they are not counted."""

    METHODS = ("fetch", "fetchrow", "fetchval", "execute", "executemany")

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        for name in self.METHODS:
            original = getattr(asyncpg.connection.Connection, name)
            monkeypatch.setattr(asyncpg.connection.Connection, name, self._wrap(original))

    def _wrap(self, original: Any) -> Any:
        async def counted(conn: Any, *args: Any, **kwargs: Any) -> Any:
            if args and "order" in str(args[0]):
                self.count += 1
            return await original(conn, *args, **kwargs)

        return counted


async def test_get_reads_in_a_fixed_number_of_queries(
    scratch: Shared, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = scratch
    small = add_order()
    big = add_order()
    first = big["serviceOrderItem"][0]
    big["serviceOrderItem"] = [
        {**first, "id": str(n), "orderRelationship": [{"id": "0", "relationshipType": "Requires"}]}
        for n in range(1, 8)
    ] + [{**first, "id": "0"}]
    big["note"] = [{"text": f"note {n}"} for n in range(6)]
    ids = []
    for body in (small, big):
        resp = await client.post(ORDERS, json=body, headers=INTEGRATOR)
        assert resp.status == 201, await resp.text()
        ids.append((await resp.json())["id"])
    await client.get(f"{ORDERS}/{ids[0]}", headers=INTEGRATOR)  # credentials now cached

    counter = _StatementCounter(monkeypatch)
    used = []
    for order_id in ids:
        counter.count = 0
        resp = await client.get(f"{ORDERS}/{order_id}", headers=INTEGRATOR)
        assert resp.status == 200
        used.append(counter.count)
    assert len((await resp.json())["serviceOrderItem"]) == 8
    assert used[0] > 0
    assert used[0] == used[1], used

    counter.count = 0
    assert (await _list(client, "?limit=1"))[0] == 206
    one = counter.count
    counter.count = 0
    assert (await _list(client, "?limit=6"))[0] == 206
    assert counter.count == one


async def test_characteristics_equal_to_previous_value_never_shown(shared: Shared) -> None:
    """The list renders characteristics as GET by id does."""
    client, _ = shared
    _, _, body = await _list(client)
    for order in body:
        for line in order["serviceOrderItem"]:
            for char in line["service"].get("serviceCharacteristic", []):
                assert (char.get("value") or "") != (char.get("previousValue") or "")


async def test_offset_out_of_range_is_400_code_28(shared: Shared) -> None:
    client, _ = shared
    resp = await client.get(f"{ORDERS}?offset=99999999999999999999", headers=INTEGRATOR)
    await error_detail(resp, 400, 28)


async def test_huge_limit_is_capped(shared: Shared) -> None:
    client, _ = shared
    status, _, body = await _list(client, "?limit=99999999999999999999")
    assert status == 200
    assert len(body) == 4


async def test_order_ponr_follows_its_items(scratch: Shared) -> None:
    client, url = scratch
    order_id = (
        await (
            await client.post(
                ORDERS,
                json=order_of(item("add", "1", spec=LINK_SPEC), item("add", "2", spec=LINK_SPEC)),
                headers=INTEGRATOR,
            )
        ).json()
    )["id"]
    await execute(
        url,
        "UPDATE order_line_item SET ponr = true WHERE order_id = $1 AND external_id = '2'",
        order_id,
    )
    got = await (await client.get(f"{ORDERS}/{order_id}", headers=INTEGRATOR)).json()
    assert [i["ponr"] for i in got["serviceOrderItem"]] == ["false", "true"]
    assert got["ponr"] == "true"
