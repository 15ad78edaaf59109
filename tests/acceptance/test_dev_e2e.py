"""`orderhub dev` as a newcomer runs it: its own embedded servers, over real HTTP."""

from __future__ import annotations

import base64
import json
import signal
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

from app.cli.embedded import free_port
from tests.helpers.auth import basic
from tests.helpers.paths import SEED_EXAMPLES
from tests.helpers.processes import orderhub, request, start, stop, wait_ready

ADMIN = basic("admin", "admin")  # the demo credentials `orderhub dev` creates


def run_every_seed_example(base: str) -> None:
    """Every cURL example of the seed succeeds on a fresh system with the demo credentials."""
    for path in sorted(SEED_EXAMPLES.glob("*.json")):
        example = json.loads(path.read_text())
        url = base + example["path"]
        if example["query"]:
            url += "?" + urlencode(example["query"])
        headers = dict(ADMIN)
        body = None
        if example["body"] is not None:
            body = json.dumps(example["body"]).encode()
            # The outboundresponse example sets no Content-Type: curl sends its form default.
            headers["Content-Type"] = (
                "application/x-www-form-urlencoded"
                if "outboundresponse" in path.name
                else "application/json"
            )
        req = urllib.request.Request(url, data=body, method=example["method"], headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                status = resp.status
        except urllib.error.HTTPError as err:
            status = err.code
        assert status == example["expected_status"], (path.name, status)


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
        run_every_seed_example(base)
    finally:
        assert stop(dev, signal.SIGINT) == 0
    assert not (tmp_path / "data" / "pgdata" / "postmaster.pid").exists()

    dev = start("dev", env=env, log=log)
    try:
        wait_ready(base, 30, dev)
        ops = basic("ops", "ops-secret-pw")
        assert request("GET", f"{base}/api/orderhub/whoami", headers=ops).status == 200
    finally:
        assert stop(dev, signal.SIGTERM) == 0

    text = log.read_text()
    assert "demo credentials: admin / admin" in text
    assert '"request_id": "e2e-req-1"' in text
    assert "ops-secret-pw" not in text
    assert base64.b64encode(b"admin:admin").decode() not in text
