"""The whole system as real processes (API, worker, SOM/TOM stub) on one test database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen
from typing import Any

from app.cli.embedded import free_port
from app.settings import Settings
from tests.helpers.auth import TEST_USERS, auth
from tests.helpers.polling import wait_for
from tests.helpers.processes import Response, answers, request, start, stop, wait_ready


@dataclass
class System:
    api: str
    stub: str
    env: dict[str, str]
    log_dir: Path
    workers: list[Popen[bytes]] = field(default_factory=list)

    def call(self, method: str, path: str, user: str = "integrator", body: Any = None) -> Response:
        return request(method, self.api + path, json_body=body, headers=auth(user))

    def stub_call(self, method: str, path: str, body: Any = None) -> Response:
        return request(method, self.stub + path, json_body=body)

    def start_worker(self, timeout: float = 60, jobs: str | None = None) -> Popen[bytes]:
        """Starts one more worker (`orderhub worker --jobs`, when given) and returns once it
        has started (its log says so), so that a test's own waits don't begin while the worker
        is still importing. Its log is worker<n>.log, n counting from 0."""
        log = self.log_dir / f"worker{len(self.workers)}.log"
        worker = start("worker", *(["--jobs", jobs] if jobs else []), env=self.env, log=log)
        self.workers.append(worker)

        def started() -> bool:
            assert worker.poll() is None, f"worker exited with {worker.returncode}"
            return "worker_started" in log.read_text(errors="replace")

        wait_for(started, timeout, f"worker {worker.pid} started")
        return worker


@contextmanager
def running_system(
    database_url: str, redis_url: str, queue: str, log_dir: Path, **extra: str
) -> Iterator[System]:
    api_port, stub_port = free_port(), free_port()
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ORDERHUB_QUEUE_NAME": queue,
        "PORT": str(api_port),
        "STUB_PORT": str(stub_port),
        "STUB_CALLBACK_URL": f"http://127.0.0.1:{api_port}",
        "STUB_CALLBACK_USER": "integrator",
        "STUB_CALLBACK_PASSWORD": TEST_USERS["integrator"][0],
        "STUB_CALLBACK_DELAY_SECONDS": "0.3",
        "SOM_URL": f"http://127.0.0.1:{stub_port}/som/serviceOrder",
        "TOM_URL": f"http://127.0.0.1:{stub_port}/tom/serviceOrder",
        "ORDERHUB_SWEEP_AFTER_SECONDS": "2",
        "ORDERHUB_BREAKER_COOLDOWN_SECONDS": "1",
        **extra,
    }
    processes = [
        start("serve", env=env, log=log_dir / "api.log"),
        start("stub", env=env, log=log_dir / "stub.log"),
    ]
    system = System(f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{stub_port}", env, log_dir)
    try:
        wait_ready(system.api, 30, processes[0])
        wait_for(lambda: answers(system.stub + "/health"), 30, "stub up")
        system.start_worker()
        yield system
    finally:
        for process in [*system.workers, *processes]:
            stop(process)


def system_on(settings: Settings, log_dir: Path, **extra: str) -> AbstractContextManager[System]:
    """running_system on a test's own database, Redis and queue name."""
    return running_system(
        settings.database_url, settings.redis_url, settings.orderhub_queue_name, log_dir, **extra
    )
