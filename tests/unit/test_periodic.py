"""Cron jobs skip a run while PostgreSQL is away, with one warning and no traceback."""

from __future__ import annotations

from typing import Any

import pytest
from structlog.testing import capture_logs

from workers.periodic import skipped_while_unavailable


async def _refused(ctx: dict[str, Any]) -> int:
    raise ConnectionRefusedError(111, "Connect call failed")


async def _broken(ctx: dict[str, Any]) -> int:
    raise ValueError("a bug, not an outage")


async def _fine(ctx: dict[str, Any]) -> int:
    return 7


async def test_an_unreachable_database_skips_the_run_with_one_warning() -> None:
    with capture_logs() as logged:
        assert await skipped_while_unavailable(_refused)({}) == 0
    assert [(e["event"], e["log_level"], e["job"]) for e in logged] == [
        ("cron_skipped", "warning", "_refused")
    ]


async def test_other_failures_still_fail_the_job() -> None:
    with pytest.raises(ValueError):
        await skipped_while_unavailable(_broken)({})


async def test_the_job_keeps_its_name_and_result() -> None:
    job = skipped_while_unavailable(_fine)
    assert job.__qualname__ == _fine.__qualname__
    assert await job({}) == 7
