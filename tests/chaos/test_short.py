"""The fault suite's short version (`make chaos` runs the whole, docs/operations.md): a worker
and an API process killed, Redis emptied, PostgreSQL restarted and cut off, under a stream of
async orders; no accepted order lost or created twice, change orders in arrival order."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from tests.chaos.suite import SHORT, Runner, print_report


async def test_faults_lose_no_accepted_order_and_double_none() -> None:
    # Outside pytest's own temporary folders, which a concurrent pytest run may prune.
    workdir = Path(tempfile.mkdtemp(prefix="orderhub-chaos-"))
    report = await Runner(SHORT, workdir).run()
    print_report(report)
    rows = {row.scenario: row for row in report.rows}
    assert sum(row.outcome.accepted for row in rows.values()) > 0
    for row in rows.values():
        assert row.outcome.lost == [], row.scenario
        assert row.outcome.duplicated == [], row.scenario
        assert row.outcome.out_of_order == [], row.scenario
        assert row.bad_503 == 0, row.scenario
        assert report.other_5xx(row) == 0, row.scenario
    assert report.exits == []  # no process exited unbidden, workers through Redis's loss too
    shutil.rmtree(workdir, ignore_errors=True)
