"""Two API processes, each remembering a user's credentials: a role change made with
`orderhub user add` applies in both within about a second, not at the cache's expiry."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli.embedded import free_port
from app.domain.roles import INTEGRATOR, SERVICE_ORDER_AGENT
from app.settings import Settings
from tests.helpers.auth import basic
from tests.helpers.polling import wait_for
from tests.helpers.processes import orderhub, request, start, stop, wait_ready

CRM = basic("crm", "crm-pw")
APPLIES_WITHIN = 1.0  # what the change promises
DEADLINE = 10.0  # how long the test waits before calling it broken (a busy machine)


@pytest.fixture
def api_urls(settings: Settings, tmp_path: Path) -> Iterator[list[str]]:
    """Two `orderhub serve` processes, on ports of their own so a test can ask each."""
    processes: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for n in range(2):
            port = free_port()
            env = {
                "DATABASE_URL": settings.database_url,
                "REDIS_URL": settings.redis_url,
                "PORT": str(port),
                "ORDERHUB_QUEUE_NAME": settings.orderhub_queue_name,
            }
            processes.append(start("serve", env=env, log=tmp_path / f"api-{n}.log"))
            urls.append(f"http://127.0.0.1:{port}")
        for url, process in zip(urls, processes, strict=True):
            wait_ready(url, 60, process)
        yield urls
    finally:
        for process in processes:
            stop(process, signal.SIGTERM)


def _add_crm(settings: Settings, role: str) -> None:
    result = orderhub(
        "user", "add", "crm", "--password", "crm-pw", "--role", role,
        env={"DATABASE_URL": settings.database_url},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def _roles(url: str) -> list[str]:
    answer = request("GET", f"{url}/api/orderhub/whoami", headers=CRM)
    assert answer.status == 200, answer.body
    roles: list[str] = answer.json()["roles"]
    return roles


def test_a_role_change_applies_in_every_process_within_a_second(
    settings: Settings, api_urls: list[str]
) -> None:
    _add_crm(settings, INTEGRATOR)
    assert [_roles(url) for url in api_urls] == [[INTEGRATOR], [INTEGRATOR]]  # remembered
    _add_crm(settings, SERVICE_ORDER_AGENT)
    changed = time.monotonic()
    wait_for(
        lambda: all(_roles(url) == [SERVICE_ORDER_AGENT] for url in api_urls),
        DEADLINE,
        "both API processes showing the new role",
        interval=0.05,
    )
    assert time.monotonic() - changed < APPLIES_WITHIN
    # The old role is gone too, not only shown differently: the integrator API refuses.
    for url in api_urls:
        listing = request("GET", f"{url}/api/sn_tmf_api/order/serviceOrder", headers=CRM)
        assert listing.status == 403
