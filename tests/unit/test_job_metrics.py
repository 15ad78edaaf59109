"""Worker jobs counted by outcome and timed, whatever way they end."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from arq import Retry
from prometheus_client import REGISTRY

from workers.metrics import counted


def _count(function: str, outcome: str) -> float:
    labels = {"function": function, "outcome": outcome}
    return REGISTRY.get_sample_value("orderhub_jobs_total", labels) or 0.0


def _runs(function: str) -> float:
    labels = {"function": function}
    return REGISTRY.get_sample_value("orderhub_job_duration_seconds_count", labels) or 0.0


async def _succeeds(_ctx: dict[str, Any]) -> str:
    return "done"


async def _asks_for_retry(_ctx: dict[str, Any]) -> None:
    raise Retry(defer=1)


async def _fails(_ctx: dict[str, Any]) -> None:
    raise ValueError("broken")


async def _is_cancelled(_ctx: dict[str, Any]) -> None:
    raise asyncio.CancelledError


@pytest.mark.parametrize(
    ("job", "outcome", "raises"),
    [
        (_succeeds, "success", None),
        (_asks_for_retry, "retry", Retry),
        (_fails, "failure", ValueError),
        (_is_cancelled, "cancelled", asyncio.CancelledError),
    ],
)
async def test_each_run_is_counted_once_by_its_outcome(
    job: Any, outcome: str, raises: type[BaseException] | None
) -> None:
    name = f"unit_{job.__name__}"
    before, runs_before = _count(name, outcome), _runs(name)
    wrapped = counted(job, name)
    if raises is None:
        assert await wrapped({}) == "done"
    else:
        with pytest.raises(raises):
            await wrapped({})
    assert _count(name, outcome) == before + 1
    assert _runs(name) == runs_before + 1
    others = {"success", "retry", "failure", "cancelled"} - {outcome}
    assert all(_count(name, other) == 0 for other in others)


async def test_the_function_label_defaults_to_the_function_name() -> None:
    wrapped = counted(_succeeds)
    await wrapped({})
    assert _count("_succeeds", "success") >= 1
    assert wrapped.__name__ == "_succeeds"  # arq names cron jobs after it
