"""Work notes and revision history are stored, timestamped, authored and readable."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from app.domain import messages as m
from tests.helpers.auth import auth
from tests.helpers.payloads import example

URL = "/api/sn_tmf_api/order/serviceOrder"


async def test_work_notes_and_revisions_are_readable(demo_client: TestClient) -> None:
    body = example("06_post_add")["body"]
    chars = body["serviceOrderItem"][0]["service"]["serviceCharacteristic"]
    chars.append({"name": "Colour", "value": "Blue"})
    chars[0]["value"] = "Platinum"
    created = await (await demo_client.post(URL, json=body, headers=auth("integrator"))).json()
    order_id = created["id"]

    resp = await demo_client.get(
        f"/api/orderhub/serviceOrder/{order_id}/workNote", headers=auth("agent")
    )
    assert resp.status == 200
    notes = await resp.json()
    texts = {n["text"] for n in notes}
    assert (
        m.WORK_NOTE_CHARACTERISTICS_NOT_EXIST.format(specification_name="Managed Firewall Service")
        in texts
    )
    assert (
        m.WORK_NOTE_CHARACTERISTIC_VALUE_INVALID.format(
            characteristic_name="Firewall Security", characteristic_value="Platinum"
        )
        in texts
    )
    assert all(n["author"] == "integrator" and n["itemId"] == "100" for n in notes)
    assert all(n["createdAt"].endswith("Z") for n in notes)
    assert [n["createdAt"] for n in notes] == sorted((n["createdAt"] for n in notes), reverse=True)

    body["description"] = "revised"
    resp = await demo_client.patch(f"{URL}/{order_id}", json=body, headers=auth("integrator"))
    assert resp.status == 200
    resp = await demo_client.get(
        f"/api/orderhub/serviceOrder/{order_id}/revision", headers=auth("agent")
    )
    revisions = await resp.json()
    assert len(revisions) == 1
    assert revisions[0]["version"] == 2 and revisions[0]["author"] == "integrator"
    assert "description" in revisions[0]["changes"]["fields"]

    missing = await demo_client.get(
        "/api/orderhub/serviceOrder/nope/workNote", headers=auth("agent")
    )
    assert missing.status == 404
    forbidden = await demo_client.get(
        f"/api/orderhub/serviceOrder/{order_id}/revision", headers=auth("integrator")
    )
    assert forbidden.status == 403
