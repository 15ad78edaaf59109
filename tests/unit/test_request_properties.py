"""Generated bodies through the request checks: whatever arrives, the checks accept it or refuse
it with a 400 error object; they never raise anything else (no recursion, overflow or type
error can reach a 500)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain import limits
from app.domain.errors import ApiError
from app.domain.order_building import build_order
from app.domain.order_checks import check_request
from app.domain.order_texts import PATCH_TEXTS
from app.domain.references import References
from tests.helpers.payloads import add_order

DATES = st.one_of(
    st.sampled_from(
        [
            "9999-12-31T23:00:00-14:00",
            "0001-01-01T00:00:00+14:00",
            "2021-06-08T05:34:59.000Z",
            "2021-06-08 05:34:59",
            "2021-02-30T00:00:00Z",
            "10000-01-01T00:00:00Z",
            "",
        ]
    ),
    st.text(max_size=40),
)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 2**31 - 1, 2**31, 2**63, True, False]),
)
SCALARS = st.one_of(
    st.none(), st.booleans(), NUMBERS, DATES, st.text(max_size=20), st.text(min_size=250)
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)
FIELDS = [
    "externalId",
    "serviceOrderItem",
    "relatedParty",
    "note",
    "orderDate",
    "requestedStartDate",
    "orderCurrency",
]
ITEM_FIELDS = ["id", "action", "quantity", "service", "place", "orderRelationship"]


def _nested(depth: int, leaf: Any) -> Any:
    for _ in range(depth):
        leaf = {"x": leaf}
    return leaf


def _checked(body: Any) -> None:
    """What a handler does with a body: the limits, then the order checks and building."""
    try:
        limits.check_body(body)
        for texts in (None, PATCH_TEXTS):
            ids = check_request(body) if texts is None else check_request(body, texts)
            assert ids is not None
        build_order(body, References(), order_id="o", user="u", now=_NOW, allow_spec_upgrade=True)
    except ApiError as exc:
        assert exc.kind.status == 400 or exc.kind.status == 404, exc.kind
        error = exc.body()
        assert set(error) == {"code", "reason", "message", "details"}
        assert error["details"][0]["datapath"].startswith("/")


_NOW = datetime(2026, 1, 1, tzinfo=UTC)
_SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=6))
def test_arbitrary_top_level_fields(body: dict[str, Any]) -> None:
    _checked(body)


@_SETTINGS
@given(
    field=st.sampled_from(FIELDS),
    value=JSON,
    item_field=st.sampled_from(ITEM_FIELDS),
    item_value=JSON,
)
def test_a_valid_order_with_one_field_replaced(
    field: str, value: Any, item_field: str, item_value: Any
) -> None:
    body = copy.deepcopy(_VALID)
    body[field] = value
    _checked(body)
    body = copy.deepcopy(_VALID)
    body["serviceOrderItem"][0][item_field] = item_value
    _checked(body)


@_SETTINGS
@given(depth=st.integers(min_value=0, max_value=1_500), where=st.sampled_from(FIELDS))
def test_deep_values_anywhere(depth: int, where: str) -> None:
    body = copy.deepcopy(_VALID)
    body[where] = _nested(depth, "leaf")
    _checked(body)


@_SETTINGS
@given(
    length=st.integers(min_value=0, max_value=20_000),
    where=st.sampled_from(["externalId", "description", "id"]),
)
def test_long_strings(length: int, where: str) -> None:
    body = copy.deepcopy(_VALID)
    if where == "id":
        body["serviceOrderItem"][0]["id"] = "i" * length
    else:
        body[where] = "s" * length
    _checked(body)


_VALID = add_order()


@_SETTINGS
@given(
    field=st.sampled_from(
        ["orderDate", "requestedStartDate", "requestedCompletionDate", "committedDueDate"]
    ),
    value=DATES,
)
def test_odd_dates(field: str, value: str) -> None:
    body = copy.deepcopy(_VALID)
    body[field] = value
    _checked(body)
    body = copy.deepcopy(_VALID)
    body["serviceOrderItem"][0]["committedDueDate"] = value
    _checked(body)
