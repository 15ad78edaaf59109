"""What the event workers' dispatcher reads from the NOTIFYs it gets (workers/events.py)."""

from __future__ import annotations

from workers.events import Notified


def test_raised_events_and_named_subscriptions_are_kept_until_taken() -> None:
    notified = Notified()
    assert notified.take() == (False, [])
    notified(None, 1, "orderhub_events", "")  # a change raised events: fan them out
    notified(None, 1, "orderhub_events", "s2,s1")  # a fan-out gave s1 and s2 deliveries
    notified(None, 2, "orderhub_events", "s1")
    assert notified.wake.is_set()
    assert notified.take() == (True, ["s1", "s2"])
    assert not notified.wake.is_set()
    assert notified.take() == (False, [])


def test_only_named_subscriptions_mean_nothing_to_fan_out() -> None:
    notified = Notified()
    notified(None, 1, "orderhub_events", "s3")
    assert notified.take() == (False, ["s3"])
