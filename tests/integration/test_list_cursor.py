"""Order lists page by cursor too: `Link: rel="next"` carries `after`, and following it walks
the same orders as offsets do, in the same order, each once (docs/api.md#total-count)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestClient

from tests.helpers.auth import auth
from tests.helpers.error_objects import error_detail
from tests.helpers.payloads import add_order

INTEGRATOR = auth("integrator")
LISTS = ("/api/sn_tmf_api/order/serviceOrder", "/tmf-api/serviceOrdering/v4/serviceOrder")


async def _seed(client: TestClient, count: int) -> None:
    for _ in range(count):
        resp = await client.post(
            "/api/sn_tmf_api/order/serviceOrder",
            json=add_order(),
            headers=INTEGRATOR,
        )
        assert resp.status == 201, await resp.text()


async def _ids(client: TestClient, path: str) -> list[str]:
    resp = await client.get(path, headers=INTEGRATOR)
    assert resp.status in (200, 206), await resp.text()
    return [order["id"] for order in await resp.json()]


def _next(link: str) -> str:
    assert link.endswith('>; rel="next"'), link
    return link[1 : link.index(">")]


@pytest.mark.parametrize("path", LISTS)
async def test_following_link_walks_every_order_once_in_list_order(
    demo_client: TestClient, path: str
) -> None:
    await _seed(demo_client, 7)
    everything = await _ids(demo_client, f"{path}?limit=100")
    walked: list[str] = []
    page = f"{path}?limit=3"
    for _ in range(10):
        resp = await demo_client.get(page, headers=INTEGRATOR)
        assert resp.status in (200, 206)
        assert int(resp.headers["X-Total-Count"]) == len(everything)
        walked += [order["id"] for order in await resp.json()]
        if "Link" not in resp.headers:
            break
        page = _next(resp.headers["Link"])
        query = parse_qs(urlsplit(page).query)
        assert "offset" not in query and query["limit"] == ["3"]
        assert "Content-Range" not in (await demo_client.get(page, headers=INTEGRATOR)).headers
    assert walked == everything


async def test_a_cursor_keeps_the_filter(demo_client: TestClient) -> None:
    path = "/api/sn_tmf_api/order/serviceOrder"
    await _seed(demo_client, 4)
    new = await _ids(demo_client, f"{path}?limit=100&state=new")
    resp = await demo_client.get(f"{path}?limit=2&state=new", headers=INTEGRATOR)
    rest = await _ids(demo_client, _next(resp.headers["Link"]))
    assert [o["id"] for o in await resp.json()] + rest == new[: 2 + len(rest)]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(
    "query", ["after=bm90LWEtY3Vyc29y", "after=%25%25", "after=x&offset=3", "after="]
)
async def test_a_bad_cursor_is_400_code_28(demo_client: TestClient, path: str, query: str) -> None:
    resp = await demo_client.get(f"{path}?{query}", headers=INTEGRATOR)
    code: int | str = "28" if path.startswith("/tmf-api/") else 28
    detail = await error_detail(resp, 400, code)  # type: ignore[arg-type]
    assert detail["datapath"] == "?after"


async def test_cancellation_lists_take_no_cursor(demo_client: TestClient) -> None:
    resp = await demo_client.get(
        "/tmf-api/serviceOrdering/v4/cancelServiceOrder?after=abc", headers=INTEGRATOR
    )
    assert resp.status == 400
