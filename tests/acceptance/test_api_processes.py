"""`orderhub serve` with ORDERHUB_API_PROCESSES > 1: children on one port, stopped together."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from app.cli.embedded import free_port
from app.settings import Settings
from tests.helpers.auth import auth
from tests.helpers.payloads import async_example
from tests.helpers.polling import wait_for
from tests.helpers.processes import request, start, stop, wait_ready

INTEGRATOR = auth("integrator")


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_gone(pids: list[int], timeout: float = 20) -> None:
    wait_for(lambda: not any(_alive(p) for p in pids), timeout, f"{pids} all gone")


def _serve(settings: Settings, tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    """On the settings' queue, whose keys the fixture deletes afterwards."""
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "PORT": str(port),
        "ORDERHUB_API_PROCESSES": "2",
        "ORDERHUB_QUEUE_NAME": settings.orderhub_queue_name,
    }
    process = start("serve", env=env, log=tmp_path / "serve.log")
    wait_ready(f"http://127.0.0.1:{port}", 60, process)
    wait_for(lambda: len(_children(process.pid)) >= 2, 30, "two API children started")
    return process


def test_two_processes_serve_one_port_and_stop_together(
    demo_settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    process = _serve(demo_settings, tmp_path, port)
    try:
        children = _children(process.pid)
        assert len(children) == 2
        base = f"http://127.0.0.1:{port}"
        for _ in range(20):  # a new connection each: the kernel picks the process
            assert request("GET", f"{base}/api/orderhub/whoami", headers=INTEGRATOR).status == 200
        body = {**async_example(), "externalId": "two-processes"}
        answer = request(
            "POST",
            f"{base}/api/sn_tmf_api/order/serviceOrder?mode=async",
            json_body=body,
            headers=INTEGRATOR,
        )
        assert answer.status == 202
    finally:
        assert stop(process, signal.SIGTERM) == 0
    _wait_gone(children)


def test_one_process_dying_stops_the_other(demo_settings: Settings, tmp_path: Path) -> None:
    process = _serve(demo_settings, tmp_path, free_port())
    children = _children(process.pid)
    try:
        os.kill(children[0], signal.SIGKILL)
        process.wait(30)
        assert process.returncode == 1
    finally:
        stop(process, signal.SIGTERM)
    _wait_gone(children)
