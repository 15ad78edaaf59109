"""The benchmark's knobs: BENCH_PHASES picks phases in run order and refuses unknown ones
before anything starts."""

from __future__ import annotations

import pytest

from bench.config import PHASES, Config, parse_phases, parse_rates


def test_no_phases_means_all_in_run_order() -> None:
    assert parse_phases("") == PHASES
    assert parse_phases(" , ") == PHASES
    assert PHASES == (
        "ingest",
        "capacity",
        "latency",
        "drain",
        "recovery",
        "events",
        "memory",
        "reads",
    )


def test_phases_keep_the_run_order_whatever_the_knob_says() -> None:
    assert parse_phases("memory, Drain,capacity,drain") == ("capacity", "drain", "memory")


def test_an_unknown_phase_stops_the_run_naming_it() -> None:
    with pytest.raises(SystemExit, match=r"unknown phase.*bogus"):
        parse_phases("ingest,bogus")


def test_latency_rates() -> None:
    assert parse_rates("250,500,1000") == (250, 500, 1000)
    for bad in ("", "fast", "0", "20001"):
        with pytest.raises(SystemExit, match="BENCH_LATENCY_RATES"):
            parse_rates(bad)


def test_the_ceiling_runs_with_ingest_or_capacity(monkeypatch: pytest.MonkeyPatch) -> None:
    for phases, needed in (("ingest", True), ("capacity", True), ("latency,drain", False)):
        monkeypatch.setenv("BENCH_PHASES", phases)
        assert Config.from_env().needs_ceiling is needed


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "BENCH_PHASES",
        "BENCH_SECONDS",
        "BENCH_LATENCY_SECONDS",
        "BENCH_DRAIN_SECONDS",
        "BENCH_RECOVERY_ENTRIES",
        "BENCH_RECOVERY_SECONDS",
    ):
        monkeypatch.delenv(name, raising=False)
    config = Config.from_env()
    assert config.phases == PHASES
    assert (config.seconds, config.latency_seconds, config.concurrency) == (30, 30, 64)
    assert config.latency_rates == (250, 500, 1000)
    assert config.drain_seconds == 20
    assert (config.recovery_entries, config.recovery_seconds) == (100_000, 60)
