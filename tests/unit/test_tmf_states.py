"""OrderHub's states as TMF641 v4.1.0 names them, and the filter's way back (docs/states.md)."""

from __future__ import annotations

import json

import pytest

from app.domain.states import STATES
from app.domain.tmf_states import (
    ITEM_STATES,
    ORDER_STATES,
    STATES_OUT,
    StateSelection,
    item_state,
    order_selection,
    order_state,
)
from tests.helpers.paths import TMF641_SWAGGER


def test_the_enumerations_are_the_swaggers() -> None:
    definitions = json.loads(TMF641_SWAGGER.read_text())["definitions"]
    assert ORDER_STATES == tuple(definitions["ServiceOrderStateType"]["enum"])
    assert ITEM_STATES == tuple(definitions["ServiceOrderItemStateType"]["enum"])


def test_every_state_has_a_name_in_both_enumerations() -> None:
    assert set(STATES_OUT) == set(STATES)
    for state in STATES:
        assert item_state(state) in ITEM_STATES
        assert order_state(state, ["completed"]) in ORDER_STATES


@pytest.mark.parametrize(
    ("state", "items", "name"),
    [
        ("new", ["new"], "acknowledged"),
        ("in_progress", ["in_progress", "completed"], "inProgress"),
        ("revision_received", ["revision_received"], "inProgress"),
        ("completed", ["completed"], "completed"),
        ("cancelled", ["cancelled"], "cancelled"),
        ("error", ["error", "in_progress"], "failed"),
        ("error", ["error", "completed"], "partial"),
        ("error", [], "failed"),
    ],
)
def test_order_state(state: str, items: list[str], name: str) -> None:
    assert order_state(state, items) == name


@pytest.mark.parametrize(
    ("names", "selection"),
    [
        (["acknowledged"], StateSelection(frozenset({"new"}))),
        (["inProgress"], StateSelection(frozenset({"in_progress", "revision_received"}))),
        (["failed"], StateSelection(frozenset(), error_with_completed=False)),
        (["partial"], StateSelection(frozenset(), error_with_completed=True)),
        (["failed", "partial"], StateSelection(frozenset({"error"}))),
        (
            ["completed", "partial"],
            StateSelection(frozenset({"completed"}), error_with_completed=True),
        ),
        (["rejected", "held"], StateSelection(frozenset())),
    ],
)
def test_order_selection(names: list[str], selection: StateSelection) -> None:
    assert order_selection(names) == selection


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("items", [["completed", "error"], ["error"]])
def test_a_selection_holds_exactly_the_orders_shown_so(state: str, items: list[str]) -> None:
    """Both ways agree: an order is selected by a name exactly when it is shown with it."""
    for name in ORDER_STATES:
        selection = order_selection([name])
        selected = state in selection.states or (
            state == "error"
            and selection.error_with_completed is not None
            and selection.error_with_completed == ("completed" in items)
        )
        assert selected == (order_state(state, items) == name), (state, items, name)
