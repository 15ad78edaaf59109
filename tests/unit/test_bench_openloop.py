"""The open-loop schedule: request n is due at start + n / rate, whatever became of the
others, and a generator that falls behind sends the overdue ones at once rather than
skipping them."""

from __future__ import annotations

import pytest

from bench.openloop import Schedule, achieved_rate


def test_sends_are_due_at_fixed_intervals() -> None:
    schedule = Schedule(start=100.0, rate=1000.0, total=5)
    assert [schedule.due(n) for n in range(3)] == pytest.approx([100.0, 100.001, 100.002])


def test_how_many_are_due_by_a_time() -> None:
    schedule = Schedule(start=10.0, rate=4.0, total=10)
    assert schedule.due_by(9.99) == 0
    assert schedule.due_by(10.0) == 1
    assert schedule.due_by(10.25) == 2  # exactly on the second one's time
    assert schedule.due_by(10.6) == 3
    assert schedule.due_by(1000.0) == 10  # never more than the schedule holds


def test_a_late_generator_has_every_overdue_send_due_at_once() -> None:
    schedule = Schedule(start=0.0, rate=100.0, total=1000)
    assert schedule.due_by(0.5) == 51  # none skipped: 0.00, 0.01, ..., 0.50


def test_achieved_rate() -> None:
    # 100 sends on time at 100/s: the last at 0.99 s.
    assert achieved_rate(100, 0.0, 0.99, 100.0) == pytest.approx(100.0)
    # The same sends, the last one a second late.
    assert achieved_rate(100, 0.0, 1.99, 100.0) == pytest.approx(50.0)
    assert achieved_rate(0, 0.0, 0.0, 100.0) == 0.0
