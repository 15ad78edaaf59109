"""The little statistics the figures need: percentiles of samples, and the slope of a series.

Kept free of I/O so that the maths behind every printed figure has unit tests of its own
(tests/unit/test_bench_stats.py).
"""

from __future__ import annotations

from collections.abc import Sequence


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile of values sorted ascending (0.0 for none): the smallest
    value with at least pct% of the values at or below it, so p99 of 100 values is the 99th."""
    if not sorted_values:
        return 0.0
    rank = -(-pct * len(sorted_values) // 100)  # ceil without floats' rounding surprises
    index = min(len(sorted_values) - 1, max(0, int(rank) - 1))
    return sorted_values[index]


def summary(values: Sequence[float]) -> dict[str, float]:
    """p50, p90, p99, max and mean of unsorted values, in their unit; zeros for none."""
    ordered = sorted(values)
    return {
        "p50": percentile(ordered, 50),
        "p90": percentile(ordered, 90),
        "p99": percentile(ordered, 99),
        "max": ordered[-1] if ordered else 0.0,
        "mean": sum(ordered) / len(ordered) if ordered else 0.0,
    }


def slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (x, y) points: how fast a sampled backlog grew, in y per x.

    A fit rather than (last - first) / span, so that one sample taken while a batch of jobs
    was half done does not decide whether the backlog grew. 0.0 with fewer than two x's."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def is_flat(growth_per_s: float, arrivals_per_s: float, share: float) -> bool:
    """A backlog is flat when it grows by less than `share` of what arrives: a queue that
    keeps up holds about rate x latency entries, which wobbles but does not climb."""
    return growth_per_s <= share * max(arrivals_per_s, 1.0)
