"""The recovery phase's figures: when every lost entry was handed back, how many times each
was, and the rates and ratio the table prints."""

from __future__ import annotations

from bench.recovery import Sample, handed_back_after, per_second, ratio, repeats


def test_every_entry_is_handed_back_at_the_first_sample_with_none_lost() -> None:
    samples = [Sample(0.5, 900, 1000, 0), Sample(1.0, 0, 950, 40), Sample(1.5, 0, 900, 35)]
    assert handed_back_after(samples) == 1.0
    assert handed_back_after(samples[:1]) is None
    assert handed_back_after([]) is None


def test_repeats_count_entries_handed_back_more_than_once() -> None:
    assert repeats(1000, 1000) == 1.0
    assert repeats(1500, 1000) == 1.5
    assert repeats(0, 0) is None


def test_rates_and_ratio_need_a_time_and_both_figures() -> None:
    assert per_second(1000, 4.0) == 250.0
    assert per_second(1000, 0.0) is None
    assert per_second(1000, None) is None
    assert ratio(2400.0, 3000.0) == 0.8
    assert ratio(None, 3000.0) is None
    assert ratio(2400.0, 0.0) is None
