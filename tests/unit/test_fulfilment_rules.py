"""The pure fulfilment rules: decomposition, policy, initiation, sending, callbacks, completion
and the circuit breaker."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, cast

import pytest

from app.domain import messages as m
from app.domain.breaker import CircuitBreaker
from app.domain.catalog import Policy
from app.domain.decomposition import DomainOrderPlan, decompose, decompose_new_order
from app.domain.errors import ApiError, ErrorKind
from app.domain.new_order import NewOrder
from app.domain.outbound import (
    DomainOrder,
    check_callback,
    check_callback_records,
    choose_policy,
    classify_send,
    item_state_for,
    order_state_for,
    outbound_payload,
    plan_initiation,
    reached_ponr,
)


def counter(prefix: str = "id") -> Callable[[], str]:
    numbers = itertools.count(1)
    return lambda: f"{prefix}{next(numbers)}"


# --- decomposition ---------------------------------------------------------------------------


def test_decompose_makes_one_domain_order_per_item() -> None:
    plans = decompose([("a", None), ("b", None), ("c", None)], counter("d"))
    assert plans == [
        DomainOrderPlan("d1", "a", None),
        DomainOrderPlan("d2", "b", None),
        DomainOrderPlan("d3", "c", None),
    ]
    assert len({p.sys_id for p in plans}) == 3


def test_decompose_links_the_hierarchy_parents_first() -> None:
    # grandchild listed first, then child, then root: rows must come out root first
    plans = decompose([("grand", "child"), ("child", "root"), ("root", None)], counter("d"))
    by_item = {p.line_item: p for p in plans}
    assert [p.line_item for p in plans] == ["root", "child", "grand"]
    assert by_item["root"].parent is None
    assert by_item["child"].parent == by_item["root"].sys_id
    assert by_item["grand"].parent == by_item["child"].sys_id


def test_decompose_new_order_maps_parent_external_ids() -> None:
    items = [
        SimpleNamespace(sys_id="s1", external_id="1", parent_external_id=None),
        SimpleNamespace(sys_id="s2", external_id="2", parent_external_id="1"),
        SimpleNamespace(sys_id="s3", external_id="3", parent_external_id="1"),
    ]
    order = cast(NewOrder, SimpleNamespace(items=items))
    plans = {p.line_item: p for p in decompose_new_order(order, counter("d"))}
    assert set(plans) == {"s1", "s2", "s3"}
    assert plans["s2"].parent == plans["s3"].parent == plans["s1"].sys_id
    assert plans["s1"].parent is None


# --- policy ------------------------------------------------------------------------------------

POLICIES = [
    Policy("spec-a", "", hierarchical=True, target="SOM"),
    Policy("spec-a", "delete", hierarchical=False, target="TOM"),
    Policy("spec-b", "change", hierarchical=True, target="TOM"),
]


def test_choose_policy_prefers_the_exact_action_row() -> None:
    assert choose_policy(POLICIES, "spec-a", "delete") == POLICIES[1]


def test_choose_policy_falls_back_to_the_any_action_row() -> None:
    assert choose_policy(POLICIES, "spec-a", "add") == POLICIES[0]


def test_choose_policy_default_is_som_non_hierarchical() -> None:
    for spec, action in (("spec-b", "add"), ("spec-z", "add"), (None, "add")):
        chosen = choose_policy(POLICIES, spec, action)
        assert (chosen.hierarchical, chosen.target) == (False, "SOM"), (spec, action)
    assert choose_policy([], "spec-a", "add").target == "SOM"


# --- initiation --------------------------------------------------------------------------------


def domain(
    sys_id: str,
    parent: str | None = None,
    spec: str | None = "spec-flat",
    *,
    action: str = "add",
    state: str = "not_started",
    updates: bool = False,
    active: bool = False,
    unsent: bool = False,
    last: str | None = None,
) -> DomainOrder:
    return DomainOrder(
        sys_id=sys_id,
        parent=parent,
        specification=spec,
        action=action,
        fulfillment_state=state,
        updates_available=updates,
        has_active_record=active or unsent,
        last_request_id=last,
        has_unsent_record=unsent,
    )


HIER = [Policy("spec-root", "", hierarchical=True, target="SOM")]


def test_hierarchical_group_is_the_root_and_all_descendants_under_one_request_id() -> None:
    orders = [
        domain("root", None, "spec-root"),
        domain("child1", "root", "spec-rfs"),
        domain("child2", "root", "spec-rfs"),
        domain("grand", "child1", "spec-rfs"),
    ]
    groups = plan_initiation(orders, HIER, counter("req"))
    assert len(groups) == 1
    assert groups[0].request_id == "req1"
    assert groups[0].target == "SOM"
    members = groups[0].domain_orders
    assert members[0] == "root" and sorted(members) == ["child1", "child2", "grand", "root"]
    assert members.index("child1") < members.index("grand"), "parents before children"
    assert groups[0].previous_request_id is None


def test_hierarchy_is_found_whatever_the_listing_order() -> None:
    orders = [
        domain("grand", "child1", "spec-rfs"),
        domain("child1", "root", "spec-rfs"),
        domain("root", None, "spec-root"),
    ]
    groups = plan_initiation(orders, HIER, counter("req"))
    assert [set(g.domain_orders) for g in groups] == [{"root", "child1", "grand"}]


def test_non_hierarchical_sends_one_request_per_domain_order() -> None:
    orders = [
        domain("root", None, "spec-flat"),
        domain("child", "root", "spec-rfs"),
        domain("other", None, "spec-tom"),
    ]
    policies = [Policy("spec-tom", "", hierarchical=False, target="TOM")]
    groups = plan_initiation(orders, policies, counter("req"))
    assert [(g.domain_orders, g.target) for g in groups] == [
        (("root",), "SOM"),
        (("other",), "TOM"),
        (("child",), "SOM"),
    ]
    assert len({g.request_id for g in groups}) == 3


def test_initiation_skips_domain_orders_in_progress_or_fulfilled() -> None:
    orders = [
        domain("sent", active=True, last="r0"),
        domain("done", state="fulfilled", last="r0"),
        domain("failed", state="error", last="r0"),
        domain("fresh"),
    ]
    groups = plan_initiation(orders, [], counter("req"))
    assert sorted(g.domain_orders[0] for g in groups) == ["failed", "fresh"]
    assert all(g.previous_request_id is None for g in groups)


def test_revise_links_the_previous_request_id() -> None:
    orders = [
        domain("root", None, "spec-root", state="pending", updates=True, active=True, last="r1"),
        domain("child", "root", "spec-rfs", state="pending", updates=True, active=True, last="r1"),
        domain("untouched", state="pending", active=True, last="r2"),
    ]
    groups = plan_initiation(orders, HIER, counter("req"))
    assert len(groups) == 1
    assert groups[0].domain_orders == ("root", "child")
    assert groups[0].previous_request_id == "r1"
    assert groups[0].request_id not in ("r1", "r2")


def test_revise_waits_for_an_unsent_request() -> None:
    orders = [domain("root", updates=True, unsent=True, last="r1")]
    with pytest.raises(ApiError) as caught:
        plan_initiation(orders, [], counter("req"))
    assert caught.value.kind is ErrorKind.CONFLICT


@pytest.mark.parametrize(
    "orders",
    [
        [],
        [domain("a", active=True)],
        [domain("a", state="fulfilled"), domain("b", active=True, state="pending")],
        [domain("a", unsent=True)],
    ],
)
def test_nothing_to_send_is_a_conflict(orders: list[DomainOrder]) -> None:
    with pytest.raises(ApiError) as caught:
        plan_initiation(orders, [], counter("req"))
    assert caught.value.kind is ErrorKind.CONFLICT
    assert (caught.value.kind.code, caught.value.kind.status) == (62, 400)


# --- sending -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, "accepted"),
        (201, "accepted"),
        (202, "accepted"),
        (500, "retry"),
        (502, "retry"),
        (503, "retry"),
        (429, "retry"),
        (408, "retry"),
        (None, "retry"),
        (400, "refused"),
        (401, "refused"),
        (404, "refused"),
        (409, "refused"),
        (422, "refused"),
    ],
)
def test_classify_send(status: int | None, outcome: str) -> None:
    assert classify_send(status) == outcome


def rendered_order() -> dict[str, Any]:
    return {
        "id": "order-1",
        "relatedParty": [{"id": "acc", "@referredType": "Customer"}],
        "serviceOrderItem": [
            {
                "id": "1",
                "action": "add",
                "ponr": False,
                "state": "new",
                "version": "1",
                "service": {"serviceSpecification": {"id": "spec-root"}},
                "orderRelationship": [{"id": "2", "relationshipType": "HasChild"}],
            },
            {
                "id": "2",
                "action": "add",
                "ponr": False,
                "state": "new",
                "version": "1",
                "service": {},
                "orderRelationship": [{"id": "1", "relationshipType": "HasParent"}],
            },
            {"id": "3", "action": "add", "ponr": False, "state": "new", "service": {}},
        ],
    }


def test_outbound_payload_names_domain_orders_and_the_request_id() -> None:
    payload = outbound_payload("req-1", rendered_order(), {"1": "dom-1", "2": "dom-2"}, None)
    assert payload["externalId"] == "req-1"
    assert payload["externalReference"] == [
        {"id": "order-1", "externalReferenceType": "ServiceOrder"}
    ]
    assert "previousExternalId" not in payload
    items = payload["serviceOrderItem"]
    assert [i["id"] for i in items] == ["dom-1", "dom-2"]
    assert items[0]["orderRelationship"] == [{"id": "dom-2", "relationshipType": "HasChild"}]
    assert items[1]["orderRelationship"] == [{"id": "dom-1", "relationshipType": "HasParent"}]
    assert all(k not in i for i in items for k in ("ponr", "state", "version"))


def test_outbound_payload_of_a_revision_names_the_previous_request() -> None:
    payload = outbound_payload("req-2", rendered_order(), {"3": "dom-3"}, "req-1")
    assert payload["previousExternalId"] == "req-1"
    assert [i["id"] for i in payload["serviceOrderItem"]] == ["dom-3"]


# --- callbacks ---------------------------------------------------------------------------------


def callback_error(payload: dict[str, Any]) -> ApiError:
    with pytest.raises(ApiError) as caught:
        check_callback(payload)
    return caught.value


def test_check_callback_reads_both_keys() -> None:
    for key in ("serviceOrderItem", "ServiceOrderItem"):
        body = {"externalId": " r1 ", key: [{"id": "d1", "state": "pending"}]}
        assert check_callback(body) == ("r1", [("d1", "pending")])


@pytest.mark.parametrize("external_id", [None, "", "  ", 12])
def test_check_callback_external_id_missing(external_id: Any) -> None:
    body: dict[str, Any] = {"serviceOrderItem": [{"id": "d1", "state": "pending"}]}
    if external_id is not None:
        body["externalId"] = external_id
    error = callback_error(body)
    assert (error.detail, error.datapath) == (m.OUTBOUND_EXTERNAL_ID_MISSING, "/externalId")


@pytest.mark.parametrize("state", [None, "", 3])
def test_check_callback_state_missing(state: Any) -> None:
    second: dict[str, Any] = {"id": "d2"}
    if state is not None:
        second["state"] = state
    error = callback_error(
        {"externalId": "r1", "serviceOrderItem": [{"id": "d1", "state": "pending"}, second]}
    )
    assert error.detail == m.OUTBOUND_ITEM_STATE_MISSING
    assert error.datapath == "/serviceOrderItem/1/state"


@pytest.mark.parametrize("state", ["done", "Fulfilled", "not_applicable", "in_progress"])
def test_check_callback_invalid_state(state: str) -> None:
    error = callback_error(
        {
            "externalId": "r1",
            "ServiceOrderItem": [
                {"id": "d1", "state": "fulfilled"},
                {
                    "id": "d2",
                    "state": state,
                },
            ],
        }
    )
    assert error.detail == m.OUTBOUND_FULFILMENT_STATE_INVALID
    assert error.datapath == "/ServiceOrderItem/1/state"


def test_check_callback_missing_domain_order_id() -> None:
    error = callback_error({"externalId": "r1", "serviceOrderItem": [{"state": "pending"}]})
    assert error.detail == m.OUTBOUND_DOMAIN_ORDER_ID_INVALID


@pytest.mark.parametrize("items", [None, [], "x", [1]])
def test_check_callback_without_items(items: Any) -> None:
    body: dict[str, Any] = {"externalId": "r1"}
    if items is not None:
        body["serviceOrderItem"] = items
    assert callback_error(body).kind is ErrorKind.MISSING_FIELD


def test_check_callback_records_in_the_seed_order() -> None:
    items = [("d1", "pending"), ("d2", "fulfilled")]
    with pytest.raises(ApiError) as caught:
        check_callback_records(items, False, {"d1", "d2"}, {"d1", "d2"})
    assert caught.value.detail == m.OUTBOUND_EXTERNAL_ID_INVALID
    with pytest.raises(ApiError) as caught:
        check_callback_records(items, True, {"d1"}, {"d1"})
    assert caught.value.detail == m.OUTBOUND_DOMAIN_ORDER_ID_INVALID
    assert caught.value.datapath == "/serviceOrderItem/1/id"
    with pytest.raises(ApiError) as caught:
        check_callback_records(items, True, {"d1", "d2"}, {"d1"})
    assert caught.value.detail == m.OUTBOUND_DOMAIN_ORDER_NOT_ASSOCIATED
    check_callback_records(items, True, {"d1", "d2"}, {"d1", "d2"})


# --- completion --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fulfillment", "current", "expected"),
    [
        ("fulfilled", "in_progress", "completed"),
        ("error", "in_progress", "error"),
        ("pending", "new", "in_progress"),
        ("pending", "error", "in_progress"),
        ("not_started", "new", "new"),
        ("not_started", "revision_received", "revision_received"),
        ("pending", "revision_received", "revision_received"),
        ("fulfilled", "revision_received", "completed"),
    ],
)
def test_item_state_for(fulfillment: str, current: str, expected: str) -> None:
    assert item_state_for(fulfillment, current) == expected


@pytest.mark.parametrize(
    ("items", "current", "expected"),
    [
        (["completed", "completed"], "in_progress", "completed"),
        (["completed", "error"], "in_progress", "error"),
        (["in_progress", "error"], "in_progress", "error"),
        (["completed", "in_progress"], "in_progress", "in_progress"),
        (["in_progress"], "new", "in_progress"),
        (["in_progress", "revision_received"], "revision_received", "revision_received"),
        (["completed", "in_progress"], "error", "in_progress"),
    ],
)
def test_order_state_for(items: list[str], current: str, expected: str) -> None:
    assert order_state_for(items, current) == expected


@pytest.mark.parametrize(
    ("fulfillment", "ponr_state", "expected"),
    [
        ("not_started", "pending", False),
        ("pending", "pending", True),
        ("fulfilled", "pending", True),
        ("error", "pending", False),
        ("not_started", "fulfilled", False),
        ("pending", "fulfilled", False),
        ("error", "fulfilled", False),
        ("fulfilled", "fulfilled", True),
    ],
)
def test_reached_ponr(fulfillment: str, ponr_state: str, expected: bool) -> None:
    assert reached_ponr(fulfillment, ponr_state) is expected


# --- circuit breaker ---------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_breaker_stays_closed_below_the_threshold() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=3, cooldown=5, clock=clock)
    breaker.failure()
    breaker.failure()
    assert not breaker.is_open and breaker.wait() == 0
    breaker.success()
    breaker.failure()
    breaker.failure()
    assert not breaker.is_open, "a success resets the count"


def test_breaker_opens_parks_and_lets_one_trial_through() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=2, cooldown=5, clock=clock)
    breaker.failure()
    breaker.failure()
    assert breaker.is_open
    assert breaker.wait() == pytest.approx(5)
    clock.now += 2
    assert breaker.wait() == pytest.approx(3)
    clock.now += 3
    assert breaker.wait() == 0, "half-open: the trial send goes"
    assert breaker.wait() == pytest.approx(5), "the others wait for the trial"
    breaker.success()
    assert not breaker.is_open and breaker.wait() == 0


def test_breaker_reopens_when_the_trial_fails() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=1, cooldown=4, clock=clock)
    breaker.failure()
    clock.now += 4
    assert breaker.wait() == 0
    clock.now += 1
    breaker.failure()
    assert breaker.is_open
    assert breaker.wait() == pytest.approx(4)
    clock.now += 4
    assert breaker.wait() == 0
