"""OrderHub's order and item states as TMF641 v4.1.0 names them, and back (docs/states.md).

The standard flavour shows these names and filters by them; the ServiceNow flavour keeps
OrderHub's own. One name depends on more than the state: an order in `error` is `partial`
when some of its items completed, else `failed`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# ServiceOrderStateType and ServiceOrderItemStateType, in the swagger's order.
ORDER_STATES = (
    "acknowledged",
    "rejected",
    "pending",
    "held",
    "inProgress",
    "cancelled",
    "completed",
    "failed",
    "partial",
    "assessingCancellation",
    "pendingCancellation",
)
ITEM_STATES = (
    "acknowledged",
    "rejected",
    "pending",
    "held",
    "inProgress",
    "cancelled",
    "completed",
    "failed",
    "assessingCancellation",
    "pendingCancellation",
    "partial",
)
STATES_OUT = {
    "new": "acknowledged",
    "in_progress": "inProgress",
    "revision_received": "inProgress",
    "completed": "completed",
    "cancelled": "cancelled",
    "error": "failed",
}
PARTIAL = "partial"


def item_state(state: str) -> str:
    """An item has one domain order, so it is never partly done: `error` is `failed`."""
    return STATES_OUT[state]


def order_state(state: str, item_states: Iterable[str]) -> str:
    if state == "error" and "completed" in item_states:
        return PARTIAL
    return STATES_OUT[state]


@dataclass(frozen=True)
class StateSelection:
    """The orders a filter on v4.1.0 names selects: those in `states` whatever their items,
    and those in `error` whose items include a completed one (`error_with_completed` True,
    `partial`) or none (False, `failed`); None adds neither."""

    states: frozenset[str]
    error_with_completed: bool | None = None


def order_selection(names: Iterable[str]) -> StateSelection:
    """Names of the enumeration OrderHub never gives (`rejected`, `held`, ...) select nothing."""
    wanted = set(names)
    states = {own for own, tmf in STATES_OUT.items() if tmf in wanted}
    if PARTIAL not in wanted:
        if "error" in states:
            return StateSelection(frozenset(states - {"error"}), error_with_completed=False)
        return StateSelection(frozenset(states))
    if "error" in states:
        return StateSelection(frozenset(states))
    return StateSelection(frozenset(states), error_with_completed=True)
