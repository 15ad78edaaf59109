"""The memory phase's bad bodies: valid JSON of the intended size, refused by the input
limits for the reason intended; and the largest order, which the limits let through."""

from __future__ import annotations

import json

import pytest

from app.domain import limits
from app.domain.errors import ApiError
from bench.bad_bodies import UNDER_BY, bad_bodies, deep, largest_order
from bench.body import seed_body

LIMIT = 1_048_576


def test_ten_bodies_five_under_the_limit_and_five_over() -> None:
    bodies = bad_bodies(seed_body(), LIMIT, "t")
    assert len(bodies) == 10
    under = [b for b in bodies if b.expected == 400]
    over = [b for b in bodies if b.expected == 413]
    assert len(under) == len(over) == 5
    assert all(len(b.data) == LIMIT - UNDER_BY for b in under)
    assert all(len(b.data) > LIMIT for b in over)


def test_the_bodies_under_the_limit_are_refused_by_validation() -> None:
    for body in bad_bodies(seed_body(), LIMIT, "t"):
        if body.kind == "deep nesting":
            continue  # deeper than Python's own parser goes: see the next test
        value = json.loads(body.data)
        assert value["externalId"].startswith("t-")
        with pytest.raises(ApiError):
            limits.check_body(value)


def test_deep_nesting_is_valid_json_of_the_size_asked() -> None:
    data = deep(seed_body(), 600, "t")
    assert len(data) == 600
    value = json.loads(data)  # shallow enough here for the json module
    depth = 0
    inner = value["x"]
    while isinstance(inner, list) and inner:
        inner, depth = inner[0], depth + 1
    assert depth > limits.MAX_DEPTH


def test_the_largest_order_passes_the_limits() -> None:
    value = json.loads(largest_order(seed_body(), "big"))
    items = value["serviceOrderItem"]
    assert len(items) == limits.MAX_ITEMS
    assert len({item["id"] for item in items}) == limits.MAX_ITEMS
    limits.check_body(value)
    limits.check_count(items, limits.MAX_ITEMS, "/serviceOrderItem")
