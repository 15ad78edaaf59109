"""`orderhub queue` in a terminal: list, show, stats and retry, as real processes."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp.test_utils import TestClient

from app.settings import Settings
from tests.helpers.in_process import one_error_one_done
from tests.helpers.payloads import async_example
from tests.helpers.processes import orderhub


async def test_queue_cli(demo_client: TestClient, demo_settings: Settings, tmp_path: Path) -> None:
    failed, done = await one_error_one_done(demo_client, demo_settings)
    env = {"DATABASE_URL": demo_settings.database_url}
    listed = orderhub("queue", "ls", "--state", "error", env=env)
    assert listed.returncode == 0 and failed in listed.stdout and done not in listed.stdout
    assert "Location does not exist" in listed.stdout
    shown = orderhub("queue", "show", failed, env=env)
    assert json.loads(shown.stdout)["state"] == "error"
    stats = json.loads(orderhub("queue", "stats", env=env).stdout)
    assert stats["error"] == 1 and stats["done"] == 1
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps(async_example()))
    retried = orderhub("queue", "retry", failed, "--payload", str(fixed), env=env)
    assert retried.returncode == 0, retried.stderr
    assert json.loads(orderhub("queue", "show", failed, env=env).stdout)["state"] == "queued"
    again = orderhub("queue", "retry", failed, env=env)
    assert again.returncode == 2 and "Only entries in error" in again.stderr
