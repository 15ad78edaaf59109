"""Which jobs a worker runs, by ORDERHUB_WORKER_JOBS or `--jobs`: order work and event delivery
in one worker, or split between workers on two queues (docs/operations.md)."""

from __future__ import annotations

import pytest

from app.settings import Settings, SettingsError
from workers.settings import create_worker

ORDER_WORK = {"process_inbound", "send_outbound"}
DELIVERY = {"deliver_events"}


def _settings(**env: str) -> Settings:
    return Settings.from_env(
        {"ORDERHUB_QUEUE_NAME": "q", "REDIS_URL": "redis://127.0.0.1:1/0", **env}
    )


def _names(worker: object) -> tuple[set[str], set[str]]:
    functions = set(worker.functions)  # type: ignore[attr-defined]
    crons = {c.name for c in worker.cron_jobs}  # type: ignore[attr-defined]
    return functions - crons, crons


@pytest.mark.parametrize(
    ("jobs", "queue", "functions"),
    [
        ("all", "q", ORDER_WORK | DELIVERY),
        ("orders", "q", ORDER_WORK),
        ("events", "q:events", DELIVERY),
    ],
)
async def test_each_kind_of_worker_takes_its_own_jobs_from_its_own_queue(
    jobs: str, queue: str, functions: set[str]
) -> None:
    worker = create_worker(_settings(), jobs=jobs, handle_signals=False)
    found, crons = _names(worker)
    assert worker.queue_name == queue
    assert found == functions
    # The heartbeat is each worker's own task: as a cron job on a shared queue, one worker
    # would run it for all.
    assert not any("heartbeat" in c for c in crons)
    assert any("sweep_outbound" in c for c in crons) == (jobs != "events")


async def test_the_setting_chooses_when_no_jobs_are_given() -> None:
    worker = create_worker(_settings(ORDERHUB_WORKER_JOBS="events"), handle_signals=False)
    assert worker.queue_name == "q:events"


def test_an_unknown_kind_of_jobs_is_refused() -> None:
    with pytest.raises(SettingsError, match="ORDERHUB_WORKER_JOBS"):
        _settings(ORDERHUB_WORKER_JOBS="everything")
