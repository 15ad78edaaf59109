"""The reconciliation finds what it must: a lost order, a duplicate, a domain order the stub
accepted twice, a give-up, and a change order that took effect out of arrival order."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.chaos.reconcile import Facts, reconcile
from tests.chaos.traffic import Sent

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _sent(number: int, kind: str = "add", inventory: str | None = None) -> Sent:
    body = {"externalId": f"X-{number}"}
    sent = Sent(number, kind, "s", f"key-{number}", body, inventory)
    sent.order_id, sent.first_sent, sent.accepted_at = f"o{number}", 100.0 + number, 100.5 + number
    return sent


def _processed(order_id: str, external_id: str, at: int, txid: str) -> dict[str, Any]:
    return {
        "id": order_id,
        "state": "done",
        "error": None,
        "order_id": order_id,
        "received_at": T0 + timedelta(seconds=at),
        "processed_at": T0 + timedelta(seconds=10 + at),
        "txid": txid,
        "external_id": external_id,
    }


def _stub_entry(request_id: str, domain_order: str, answer: int = 201) -> dict[str, Any]:
    order = {"serviceOrderItem": [{"id": domain_order}]}
    return {"externalId": request_id, "answer": answer, "duplicates": 0, "order": order}


def _record(order_id: str, request_id: str, state: str = "fulfilled") -> dict[str, Any]:
    return {"number": f"FO-{order_id}", "request_id": request_id, "state": state,
            "domain_order": f"d-{order_id}"}  # fmt: skip


def _facts(sent: list[Sent]) -> Facts:
    processed = {s.order_id: _processed(s.order_id or "", s.external_id, s.number, f"t{s.number}")
                 for s in sent}  # fmt: skip
    orders = {s.order_id: {"state": "completed", "external_id": s.external_id} for s in sent}
    records = {s.order_id: [_record(s.order_id or "", f"r{s.number}")] for s in sent}
    stub = [_stub_entry(f"r{s.number}", f"d-{s.order_id}") for s in sent]
    return Facts(
        queued={},
        processed=processed,  # type: ignore[arg-type]
        orders=orders,  # type: ignore[arg-type]
        orders_per_external=Counter(s.external_id for s in sent),
        entries_per_external=Counter(s.external_id for s in sent),
        records=records,  # type: ignore[arg-type]
        failures={},
        stub=stub,
    )


def test_orders_in_their_final_states_are_neither_lost_nor_duplicated() -> None:
    sent = [_sent(n) for n in range(3)]
    outcome = reconcile(sent, _facts(sent))["s"]
    assert (outcome.sent, outcome.accepted, outcome.lost, outcome.duplicated) == (3, 3, [], [])


def test_each_loss_and_duplicate_is_found_with_its_cause() -> None:
    sent = [_sent(n) for n in range(5)]
    facts = _facts(sent)
    facts.queued["o0"] = facts.processed.pop("o0")  # never processed
    facts.orders["o1"]["state"] = "in_progress"  # never called back
    facts.records["o2"] = []
    facts.failures["o2"] = [{"request_id": "r2", "given_up": True, "attempts": 5,
                             "last_error": "no answer from SOM"}]  # fmt: skip
    facts.orders_per_external["X-3"] = 2  # created twice
    facts.stub.append(_stub_entry("r4-again", "d-o4"))  # one domain order, two Request IDs
    outcome = reconcile(sent, facts)["s"]
    assert [lost.split(":")[0] for lost in outcome.lost] == ["o0 (add)", "o1 (add)", "o2 (add)"]
    assert "still queued" in outcome.lost[0]
    assert "given up" in outcome.lost[2]
    assert [dup.split(":")[0] for dup in outcome.duplicated] == ["X-3", "o4"]


def test_a_change_taking_effect_before_an_earlier_one_breaks_arrival_order() -> None:
    sent = [_sent(n, "change", "inv-1") for n in range(3)]
    facts = _facts(sent)
    facts.processed["o2"]["processed_at"] = facts.processed["o0"]["processed_at"] - timedelta(1)
    outcome = reconcile(sent, facts)["s"]
    assert outcome.out_of_order == ["o2 took effect before o1"]  # one finding per order
