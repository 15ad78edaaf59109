"""`orderhub dev` as a newcomer runs it: its own embedded servers, over real HTTP."""

from __future__ import annotations

import base64
import signal
from pathlib import Path

from app.embedded import free_port
from tests.processes import orderhub, request, start, stop, wait_ready

ADMIN = {"Authorization": "Basic " + base64.b64encode(b"admin:admin").decode()}


def test_dev_runs_the_system_and_survives_a_restart(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "ORDERHUB_DATA_DIR": str(tmp_path / "data"),
        "PORT": str(port),
        "ORDERHUB_PG_PORT": "0",
        "ORDERHUB_REDIS_PORT": "0",
        "STUB_PORT": str(free_port()),
    }
    log = tmp_path / "dev.log"

    dev = start("dev", env=env, log=log)
    try:
        wait_ready(base, 60, dev)
        resp = request("GET", f"{base}/api/orderhub/whoami", headers=ADMIN)
        assert resp.status == 200
        assert len(resp.json()["roles"]) == 5
        assert request("GET", f"{base}/api/orderhub/whoami").status == 401
        resp = request("GET", f"{base}/health", headers={"X-Request-ID": "e2e-req-1"})
        assert resp.headers["X-Request-ID"] == "e2e-req-1"
        # A one-off command adopts the running embedded cluster rather than starting another.
        added = orderhub(
            "user",
            "add",
            "ops",
            "--password",
            "ops-secret-pw",
            "--role",
            "sn_ind_tmt_orm.service_order_manager",
            env=env,
        )
        assert added.returncode == 0, added.stderr
    finally:
        assert stop(dev, signal.SIGINT) == 0
    assert not (tmp_path / "data" / "pgdata" / "postmaster.pid").exists()

    dev = start("dev", env=env, log=log)
    try:
        wait_ready(base, 30, dev)
        ops = {"Authorization": "Basic " + base64.b64encode(b"ops:ops-secret-pw").decode()}
        assert request("GET", f"{base}/api/orderhub/whoami", headers=ops).status == 200
    finally:
        assert stop(dev, signal.SIGTERM) == 0

    text = log.read_text()
    assert "demo credentials: admin / admin" in text
    assert '"request_id": "e2e-req-1"' in text
    assert "ops-secret-pw" not in text
    assert base64.b64encode(b"admin:admin").decode() not in text
