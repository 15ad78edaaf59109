"""The drain phase's backlog: sized from the probe so that one worker empties it within its
window, within bounds."""

from __future__ import annotations

from bench.drain import MAX_ENTRIES, MIN_ENTRIES, WINDOW_SHARE, backlog_size


def test_the_drain_backlog_fits_its_window() -> None:
    assert backlog_size(3000.0, 20) == int(3000 * 20 * WINDOW_SHARE)
    assert backlog_size(3000.0, 20) < 3000 * 20  # one worker empties it within the window
    assert backlog_size(10.0, 20) == MIN_ENTRIES
    assert backlog_size(1e6, 20) == MAX_ENTRIES
