"""A date filter as a range of the column means what comparing the shown millisecond means."""

from __future__ import annotations

import datetime as dt
import operator

from hypothesis import example, given
from hypothesis import strategies as st

from app.domain.dates import millisecond_range

COMPARE = {
    "eq": operator.eq,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}
instants = st.datetimes(
    min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 31), timezones=st.just(dt.UTC)
)


def _shown(instant: dt.datetime) -> dt.datetime:
    return instant.replace(microsecond=instant.microsecond // 1000 * 1000)


def _inside(instant: dt.datetime, name: str, value: dt.datetime) -> bool:
    bounds = millisecond_range(name, value)
    if bounds is None:
        return False
    low, high = bounds
    return (low is None or instant >= low) and (high is None or instant < high)


@given(st.sampled_from(sorted(COMPARE)), instants, instants, st.integers(-1500, 1500))
@example("eq", dt.datetime(2024, 1, 1, tzinfo=dt.UTC), dt.datetime(2024, 1, 1, tzinfo=dt.UTC), 999)
def test_the_range_holds_exactly_the_instants_that_compare(
    name: str, value: dt.datetime, far: dt.datetime, near_us: int
) -> None:
    near = value + dt.timedelta(microseconds=near_us)  # around the value, where it matters
    for instant in (far, near, _shown(value)):
        assert _inside(instant, name, value) == COMPARE[name](_shown(instant), value), instant


def test_the_last_millisecond_of_year_9999() -> None:
    last = dt.datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=dt.UTC)
    assert millisecond_range("gt", last) is None
    assert millisecond_range("lte", last) == (None, None)
    assert millisecond_range("eq", last) == (last, None)
