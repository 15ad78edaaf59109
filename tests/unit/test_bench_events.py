"""The events phase's table: intake with subscribers against none, by medians of runs that
alternate (bench/events.py)."""

from __future__ import annotations

from typing import Any

from bench.events import events_rows


def _run(subscribers: int, accepted: float, processed: float, query: str = "") -> dict[str, Any]:
    return {
        "subscribers": subscribers,
        "query": query,
        "accepted_per_s": accepted,
        "processed_per_s": processed,
        "p99_ms": 50.0,
    }


def test_intake_is_compared_by_the_median_of_each_kind_of_run() -> None:
    result = {
        "rate": [],
        "delay": [],
        "intake": [
            _run(0, 1000, 900),
            _run(10, 700, 600),
            _run(0, 1200, 1100),
            _run(10, 1100, 1000),
            _run(0, 1100, 1000),
            _run(10, 1000, 800),
            _run(10, 1050, 990, query="eventType=ServiceOrderDeleteEvent"),
        ],
    }
    rows = {figure: (value, note) for figure, value, note in events_rows(result)}
    value, note = rows["intake accepted/s: none / 10 subscribers / 10 wanting none (median)"]
    assert value == "1,100 / 1,000 / 1,050"
    assert note == "runs: 1,000, 1,200, 1,100; 700, 1,100, 1,000; 1,050"
    assert rows["intake accepted/s: 10 subscribers / none"][0] == "0.91x"
    assert rows["processed/s: 10 subscribers / none"][0] == "0.80x"
    assert rows["processed/s: 10 wanting none / none"][0] == "0.99x"
