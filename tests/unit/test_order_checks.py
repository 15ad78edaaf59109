"""check_request (app/domain/order_checks.py): a request's shape and the contract's "missing"
texts, the POST list or the PATCH list, each with its datapath; and the ids it names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.domain import messages as m
from app.domain.errors import ApiError, ErrorKind
from app.domain.order_checks import check_request
from app.domain.order_texts import PATCH_TEXTS, POST_TEXTS, Texts

Payload = dict[str, Any]
ENDPOINTS = {"POST": POST_TEXTS, "PATCH": PATCH_TEXTS}


def add_item(item_id: str = "1", **extra: Any) -> Payload:
    return {
        "id": item_id,
        "action": "add",
        "service": {"serviceSpecification": {"id": "spec-fw"}},
        **extra,
    }


def change_item(item_id: str = "1", inventory: str = "inv-fw", **extra: Any) -> Payload:
    return {"id": item_id, "action": "change", "service": {"id": inventory}, **extra}


def order(*items: Payload, **fields: Any) -> Payload:
    """A request check_request accepts: a contact, an account and the items (one add)."""
    return {
        "externalId": "EXT-1",
        "relatedParty": [
            {"id": "contact-1", "@referredType": "CustomerContact"},
            {"id": "account-1", "@referredType": "Customer"},
        ],
        "serviceOrderItem": list(items) or [add_item()],
        **fields,
    }


def refused(payload: Payload, texts: Texts = POST_TEXTS, **kwargs: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        check_request(payload, texts, **kwargs)
    return caught.value


def _set(path: tuple[Any, ...], value: Any) -> Callable[[Payload], None]:
    """Sets (or, with `...`, deletes) the value at `path` of a request."""

    def apply(payload: Payload) -> None:
        node: Any = payload
        for key in path[:-1]:
            node = node[key]
        if value is ...:
            del node[path[-1]]
        else:
            node[path[-1]] = value

    return apply


ITEMS = "serviceOrderItem"
# (case, change to a valid two-item request, POST text, PATCH text, datapath, kind)
MISSING: list[tuple[str, Callable[[Payload], None], str, str, str, ErrorKind]] = [
    (
        "no items",
        _set((ITEMS,), ...),
        m.POST_ITEM_MISSING,
        m.PATCH_ITEM_MISSING,
        "/serviceOrderItem",
        ErrorKind.MISSING_FIELD,
    ),
    (
        "empty items",
        _set((ITEMS,), []),
        m.POST_ITEM_MISSING,
        m.PATCH_ITEM_MISSING,
        "/serviceOrderItem",
        ErrorKind.MISSING_FIELD,
    ),
    (
        "no related party",
        _set(("relatedParty",), ...),
        m.POST_CUSTOMER_OR_CONSUMER_MISSING,
        m.PATCH_RELATED_PARTY_MISSING,
        "/relatedParty",
        ErrorKind.MISSING_FIELD,
    ),
    (
        "a contact only",
        _set(("relatedParty",), [{"id": "contact-1", "@referredType": "CustomerContact"}]),
        m.POST_CUSTOMER_OR_CONSUMER_MISSING,
        m.PATCH_CUSTOMER_OR_CONSUMER_MISSING,
        "/relatedParty",
        ErrorKind.MISSING_FIELD,
    ),
    (
        "item id",
        _set((ITEMS, 1, "id"), ...),
        m.POST_ITEM_ID_MISSING,
        m.PATCH_ITEM_ID_MISSING,
        "/serviceOrderItem/1/id",
        ErrorKind.MISSING_FIELD,
    ),
    (
        "blank item id",
        _set((ITEMS, 0, "id"), "  "),
        m.POST_ITEM_ID_MISSING,
        m.PATCH_ITEM_ID_MISSING,
        "/serviceOrderItem/0/id",
        ErrorKind.MISSING_FIELD,
    ),
    (
        "item action",
        _set((ITEMS, 1, "action"), ...),
        m.POST_ITEM_ACTION_MISSING,
        m.PATCH_ITEM_ACTION_MISSING,
        "/serviceOrderItem/1/action",
        ErrorKind.MISSING_FIELD,
    ),
    (
        "item service",
        _set((ITEMS, 0, "service"), ...),
        m.POST_ITEM_SERVICE_MISSING,
        m.PATCH_ITEM_SERVICE_MISSING,
        "/serviceOrderItem/0/service",
        ErrorKind.MISSING_FIELD,
    ),
    (
        "specification of an add",
        _set((ITEMS, 0, "service", "serviceSpecification"), ...),
        m.POST_SPECIFICATION_MISSING,
        m.PATCH_SPECIFICATION_MISSING,
        "/serviceOrderItem/0/service/serviceSpecification",
        ErrorKind.MISSING_FIELD,
    ),
    (
        "specification id",
        _set((ITEMS, 0, "service", "serviceSpecification"), {"name": "Managed Firewall"}),
        m.POST_SPECIFICATION_ID_MISSING,
        m.PATCH_SPECIFICATION_ID_MISSING,
        "/serviceOrderItem/0/service/serviceSpecification/id",
        ErrorKind.MISSING_FIELD,
    ),
    (
        "inventory of a change",
        _set((ITEMS, 1, "service", "id"), ...),
        m.POST_PRODUCT_INVENTORY_ID_MISSING,
        m.PATCH_SERVICE_INVENTORY_ID_MISSING,
        "/serviceOrderItem/1/service/id",
        ErrorKind.MISSING_FIELD,
    ),
    (
        "related service id",
        _set((ITEMS, 0, "service", "serviceRelationship"), [{"relationshipType": "Requires"}]),
        m.POST_PRODUCT_INVENTORY_ID_MISSING,
        m.PATCH_SERVICE_INVENTORY_ID_MISSING,
        "/serviceOrderItem/0/service/serviceRelationship/0/id",
        ErrorKind.MISSING_FIELD,
    ),
    (
        "offering id",
        _set((ITEMS, 1, "serviceOffering"), {"name": "Gold"}),
        m.PATCH_SERVICE_OFFERING_ID_MISSING,
        m.PATCH_SERVICE_OFFERING_ID_MISSING,
        "/serviceOrderItem/1/serviceOffering/id",
        ErrorKind.MISSING_FIELD,
    ),
    (
        "repeated item id",
        _set((ITEMS, 1, "id"), "1"),
        m.POST_ORDER_CREATION_FAILED,
        m.PATCH_ORDER_CREATION_FAILED,
        "/serviceOrderItem/1/id",
        ErrorKind.INVALID_FIELD,
    ),
]
MISSING_CASES = [
    pytest.param(change, ENDPOINTS[endpoint], text, path, kind, id=f"{endpoint} {case}")
    for case, change, post_text, patch_text, path, kind in MISSING
    for endpoint, text in (("POST", post_text), ("PATCH", patch_text))
]


@pytest.mark.parametrize(("change", "texts", "text", "datapath", "kind"), MISSING_CASES)
def test_a_missing_part_has_its_endpoint_text_and_datapath(
    change: Callable[[Payload], None], texts: Texts, text: str, datapath: str, kind: ErrorKind
) -> None:
    payload = order(add_item("1"), change_item("2"))
    check_request(payload, texts)  # valid as it is
    change(payload)
    error = refused(payload, texts)
    assert (error.detail, error.datapath, error.kind) == (text, datapath, kind)


@pytest.mark.parametrize(
    ("texts", "text"),
    [(POST_TEXTS, m.POST_REQUEST_BODY_MISSING), (PATCH_TEXTS, m.PATCH_REQUEST_BODY_MISSING)],
    ids=["POST", "PATCH"],
)
def test_an_empty_body_is_the_body_missing_text(texts: Texts, text: str) -> None:
    error = refused({}, texts)
    assert (error.kind, error.detail, error.datapath) == (ErrorKind.MISSING_BODY, text, "/")
    assert error.body()["code"] == 21


def test_the_first_problem_in_the_contracts_order_is_the_one_reported() -> None:
    # The items before the parties, an item's action before its service, items in order.
    no_parties = order()
    del no_parties["relatedParty"]
    del no_parties["serviceOrderItem"]
    assert refused(no_parties).detail == m.POST_ITEM_MISSING
    broken = order(add_item("1"), {"id": "2"}, {"id": "3", "action": "add"})
    error = refused(broken)
    assert (error.detail, error.datapath) == (
        m.POST_ITEM_ACTION_MISSING,
        "/serviceOrderItem/1/action",
    )


def test_the_ids_to_fetch_are_every_reference_named_once_trimmed() -> None:
    payload = order(
        add_item(
            "1",
            place={"id": " loc-hq "},
            serviceOffering={"id": "off-1"},
            service={
                "serviceSpecification": {"id": "spec-fw"},
                "serviceRelationship": [{"id": "inv-router", "relationshipType": "Requires"}],
            },
        ),
        change_item("2", "inv-fw", place={"id": "loc-hq"}),
        {
            "id": "3",
            "action": "delete",
            "service": {"id": "inv-old", "serviceSpecification": {"id": "spec-old"}},
        },
        relatedParty=[
            {"id": " ACC-1 ", "@referredType": "Customer"},
            {"id": "contact-1", "@referredType": "CustomerContact"},
            {"id": "consumer-1", "@referredType": "Consumer"},
        ],
    )
    ids = check_request(payload)
    assert ids.accounts == {"ACC-1"}
    assert ids.contacts == {"contact-1"}
    assert ids.consumers == {"consumer-1"}
    assert ids.locations == {"loc-hq"}
    assert ids.offerings == {"off-1"}
    assert ids.specifications == {"spec-fw", "spec-old"}
    assert ids.inventories == {"inv-router", "inv-fw", "inv-old"}


def test_order_relationships_name_items_of_the_order_or_of_the_stored_one() -> None:
    linked = order(add_item("1", orderRelationship=[{"id": "9", "relationshipType": "HasChild"}]))
    error = refused(linked)
    assert error.kind is ErrorKind.INVALID_FIELD
    assert error.detail == (
        "Invalid payload: orderRelationship id 9 does not match a serviceOrderItem id."
    )
    assert error.datapath == "/serviceOrderItem/0/orderRelationship/0/id"
    # A PATCH may link to the stored order's items.
    check_request(linked, PATCH_TEXTS, known_items=frozenset({"9"}))

    wrong_type = order(
        add_item("1"),
        add_item("2", orderRelationship=[{"id": "1", "relationshipType": "IsFriendOf"}]),
    )
    error = refused(wrong_type)
    assert error.detail == (
        "Invalid payload: orderRelationship relationshipType must be one of HasChild, HasParent, "
        "Requires."
    )
    assert error.datapath == "/serviceOrderItem/1/orderRelationship/0/relationshipType"


@pytest.mark.parametrize(
    ("relationships", "text"),
    [
        (
            {"3": [("1", "HasParent"), ("2", "HasParent")]},
            "Invalid payload: serviceOrderItem 3 has more than one parent.",
        ),
        (
            {"1": [("2", "HasChild")], "3": [("2", "HasParent")], "2": [("4", "HasParent")]},
            "Invalid payload: serviceOrderItem 2 has more than one parent.",
        ),
        (
            {"1": [("2", "HasParent")], "2": [("3", "HasParent")], "3": [("1", "HasParent")]},
            "Invalid payload: orderRelationship HasParent/HasChild form a cycle.",
        ),
    ],
    ids=["two parents", "a child and a parent link", "cycle"],
)
def test_each_item_has_at_most_one_parent_and_no_cycle(
    relationships: dict[str, list[tuple[str, str]]], text: str
) -> None:
    items = [
        add_item(
            item_id,
            orderRelationship=[
                {"id": other, "relationshipType": kind}
                for other, kind in relationships.get(item_id, [])
            ],
        )
        for item_id in ("1", "2", "3", "4")
    ]
    error = refused(order(*items))
    assert (error.kind, error.detail, error.datapath) == (
        ErrorKind.INVALID_FIELD,
        text,
        "/serviceOrderItem",
    )


@pytest.mark.parametrize(
    ("change", "kind", "text", "datapath"),
    [
        (
            _set(("requestedStartDate",), "next Tuesday"),
            ErrorKind.INVALID_FIELD,
            "Invalid payload: requestedStartDate is not a valid date.",
            "/requestedStartDate",
        ),
        (
            _set((ITEMS, 0, "committedDueDate"), "2024-13-01"),
            ErrorKind.INVALID_FIELD,
            "Invalid payload: committedDueDate is not a valid date.",
            "/serviceOrderItem/0/committedDueDate",
        ),
        (
            _set(("orderCurrency",), "eur"),
            ErrorKind.INVALID_FIELD,
            "Invalid payload: orderCurrency is not an ISO 4217 code.",
            "/orderCurrency",
        ),
        (
            _set((ITEMS, 0, "quantity"), 0),
            ErrorKind.INVALID_FIELD,
            "Invalid payload: quantity must be a whole number from 1 to 2147483647.",
            "/serviceOrderItem/0/quantity",
        ),
        (
            _set((ITEMS, 0, "quantity"), "²"),
            ErrorKind.INVALID_FIELD,
            "Invalid payload: quantity must be a whole number from 1 to 2147483647.",
            "/serviceOrderItem/0/quantity",
        ),
        (
            _set((ITEMS, 0, "quantity"), "9" * 5000),
            ErrorKind.INVALID_FIELD,
            "Invalid payload: quantity must be a whole number from 1 to 2147483647.",
            "/serviceOrderItem/0/quantity",
        ),
        (
            _set(("relatedParty", 1, "@referredType"), {"name": "Customer"}),
            ErrorKind.INVALID_FIELD,
            "Invalid payload: relatedParty @referredType must be one of "
            "Customer, CustomerContact, Consumer.",
            "/relatedParty/1/@referredType",
        ),
        (
            _set((ITEMS,), {"id": "1"}),
            ErrorKind.INVALID_BODY,
            "/serviceOrderItem must be an array of objects.",
            "/serviceOrderItem",
        ),
        (
            _set((ITEMS, 0, "service"), "firewall"),
            ErrorKind.INVALID_BODY,
            "/serviceOrderItem/0/service must be an object.",
            "/serviceOrderItem/0/service",
        ),
    ],
    ids=[
        "date",
        "item date",
        "currency",
        "quantity",
        "quantity not an ASCII number",
        "quantity beyond int()'s digits",
        "party type not a string",
        "items not a list",
        "service not an object",
    ],
)
def test_values_of_the_wrong_shape_are_refused_where_they_are(
    change: Callable[[Payload], None], kind: ErrorKind, text: str, datapath: str
) -> None:
    payload = order()
    change(payload)
    error = refused(payload)
    assert (error.kind, error.detail, error.datapath) == (kind, text, datapath)
