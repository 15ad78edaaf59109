"""The order and line-item state machine (CONTRACT.md "States"), every (state, event) pair."""

from __future__ import annotations

import pytest

from app.domain.errors import ApiError, ErrorKind
from app.domain.states import EVENTS, STATES, check_before_ponr, transition

NO = None  # forbidden
# event -> state -> target, as CONTRACT.md describes the lifecycle.
ALLOWED: dict[str, dict[str, str | None]] = {
    "revise": {
        "new": "revision_received",
        "in_progress": "revision_received",
        "revision_received": "revision_received",
        "completed": NO,
        "cancelled": NO,
        "error": "revision_received",
    },
    "cancel": {
        "new": "cancelled",
        "in_progress": "cancelled",
        "revision_received": "cancelled",
        "completed": NO,
        "cancelled": NO,
        "error": "cancelled",
    },
    "start": {
        "new": "in_progress",
        "in_progress": NO,
        "revision_received": "in_progress",
        "completed": NO,
        "cancelled": NO,
        "error": "in_progress",
    },
    "complete": {
        "new": NO,
        "in_progress": "completed",
        "revision_received": NO,
        "completed": NO,
        "cancelled": NO,
        "error": NO,
    },
    "fail": {
        "new": NO,
        "in_progress": "error",
        "revision_received": "error",
        "completed": NO,
        "cancelled": NO,
        "error": NO,
    },
    "delete": {
        "new": "deleted",
        "in_progress": NO,
        "revision_received": NO,
        "completed": NO,
        "cancelled": NO,
        "error": NO,
    },
}
PAIRS = [(state, event) for event in ALLOWED for state in ALLOWED[event]]


def test_table_covers_the_machine() -> None:
    assert set(STATES) == {
        "new",
        "in_progress",
        "revision_received",
        "completed",
        "cancelled",
        "error",
    }
    assert set(EVENTS) == set(ALLOWED)
    assert all(set(targets) == set(STATES) for targets in ALLOWED.values())


@pytest.mark.parametrize(("state", "event"), PAIRS)
def test_transition(state: str, event: str) -> None:
    target = ALLOWED[event][state]
    if target is not None:
        assert transition(state, event) == target
        return
    with pytest.raises(ApiError) as raised:
        transition(state, event)
    error = raised.value
    assert error.kind is ErrorKind.CONFLICT
    assert error.kind.code == 62 and error.kind.status == 400
    body = error.body()
    assert body["code"] == 62
    assert state in body["details"][0]["message"]
    assert error.body(string_code=True)["code"] == "62"


@pytest.mark.parametrize("state", ["completed", "cancelled"])
def test_closed_states_accept_no_event(state: str) -> None:
    for event in EVENTS:
        with pytest.raises(ApiError):
            transition(state, event)


def test_point_of_no_return() -> None:
    check_before_ponr(False)
    with pytest.raises(ApiError) as raised:
        check_before_ponr(True)
    assert raised.value.kind.code == 62
    assert raised.value.detail == (
        "Point of no return reached: the order can't be modified or canceled."
    )
