"""`orderhub serve` with two API processes: a scrape of either counts the requests of both."""

from __future__ import annotations

import signal
from pathlib import Path

from prometheus_client.multiprocess import MultiProcessCollector

from app.cli.embedded import free_port
from app.settings import Settings
from tests.acceptance.test_api_processes import _children, _serve, _wait_gone
from tests.helpers.auth import auth
from tests.helpers.metrics import Samples, parse, value
from tests.helpers.polling import wait_for
from tests.helpers.processes import request, stop

MIN_REQUESTS = 20
COUNT = "http_server_request_duration_seconds_count"
WHOAMI = {
    "http_request_method": "GET",
    "http_route": "/api/orderhub/whoami",
    "http_response_status_code": "200",
}


def _metrics_dir(pid: int) -> Path:
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    found = [e.split(b"=", 1)[1] for e in environ if e.startswith(b"PROMETHEUS_MULTIPROC_DIR=")]
    assert len(found) == 1, "an API child runs without PROMETHEUS_MULTIPROC_DIR"
    return Path(found[0].decode())


def _whoami_count(path: Path) -> float:
    """The requests to whoami one process has counted, from its file alone."""
    for family in MultiProcessCollector.merge([str(path)], accumulate=True):
        for sample in family.samples:
            if sample.name == COUNT and sample.labels == WHOAMI:
                return float(sample.value)
    return 0.0


def test_the_counts_of_both_processes_add_up(demo_settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    process = _serve(demo_settings, tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    try:
        children = _children(process.pid)
        folder = _metrics_dir(children[0])
        assert _metrics_dir(children[1]) == folder
        made = 0

        def both_served() -> bool:
            """One more request (a new connection each: the kernel picks the process),
            until each process has counted some."""
            nonlocal made
            answer = request("GET", f"{base}/api/orderhub/whoami", headers=auth("integrator"))
            assert answer.status == 200
            made += 1
            shares = [_whoami_count(folder / f"histogram_{pid}.db") for pid in children]
            return made >= MIN_REQUESTS and all(share > 0 for share in shares)

        wait_for(both_served, 60, "requests answered by both processes", interval=0.01)
        shares = [_whoami_count(folder / f"histogram_{pid}.db") for pid in children]
        assert sum(shares) == made, shares

        def scraped() -> Samples | None:
            answer = request("GET", f"{base}/metrics")
            assert answer.status == 200
            samples = parse(answer.body.decode())
            connections = sum(
                value(samples, "orderhub_db_pool_connections", state=state)
                for state in ("in_use", "idle")
            )
            # Both pools opened a connection to read the user; each is sampled every second.
            counted = value(samples, COUNT, **WHOAMI) >= made and connections >= 2
            return samples if counted else None

        # Every scrape, whichever process answers, sums both: the count is exact each time.
        for _ in range(6):
            samples = wait_for(scraped, 30, f"{made} requests and both pools counted")
            assert value(samples, COUNT, **WHOAMI) == made
    finally:
        assert stop(process, signal.SIGTERM) == 0
    _wait_gone(children)
    assert not folder.exists(), "serve left its metrics folder behind"
