"""The order and line-item state machine (docs/contract.md#states), as plain data and functions.

Every endpoint and, later, fulfilment asks `transition` before it changes a state, so an
illegal move is refused (400, code 62) before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain import messages as m
from app.domain.errors import ApiError, ErrorKind

STATES = ("new", "in_progress", "revision_received", "completed", "cancelled", "error")


@dataclass(frozen=True)
class Event:
    name: str
    verb: str
    sources: frozenset[str]
    target: str
    who: str


EVENTS: dict[str, Event] = {
    e.name: e
    for e in (
        Event(
            "revise",
            "revised",
            frozenset({"new", "in_progress", "revision_received", "error"}),
            "revision_received",
            "PATCH",
        ),
        Event(
            "cancel",
            "cancelled",
            frozenset({"new", "in_progress", "revision_received", "error"}),
            "cancelled",
            "cancel (both flavours)",
        ),
        Event(
            "start",
            "sent for fulfilment",
            frozenset({"new", "revision_received", "error"}),
            "in_progress",
            "outbound request sent",
        ),
        Event(
            "complete",
            "completed",
            frozenset({"in_progress"}),
            "completed",
            "every domain order fulfilled",
        ),
        Event(
            "fail",
            "failed",
            frozenset({"in_progress", "revision_received"}),
            "error",
            "a domain order reports error",
        ),
        Event("delete", "deleted", frozenset({"new"}), "deleted", "DELETE (standard flavour)"),
    )
}


def transition(state: str, event: str) -> str:
    """The state after `event`, or ApiError(62) when the state machine forbids it."""
    rule = EVENTS[event]
    if state not in rule.sources:
        raise ApiError(
            ErrorKind.CONFLICT, f"A service order in state {state} can't be {rule.verb}.", "/state"
        )
    return rule.target


def check_before_ponr(ponr: bool) -> None:
    if ponr:
        raise ApiError(ErrorKind.CONFLICT, m.ORDERHUB_POINT_OF_NO_RETURN, "/ponr")
