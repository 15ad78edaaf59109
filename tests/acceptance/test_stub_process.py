"""`orderhub stub` as a real process: its command line, its settings, and its callbacks to a
receiver standing in for OrderHub."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import aiohttp

from app.cli.embedded import free_port
from tests.helpers.auth import STUB_AUTH
from tests.helpers.payloads import outbound_order as order
from tests.helpers.polling import wait_for_async
from tests.helpers.processes import orderhub, start, stop
from tests.helpers.receiver import Receiver

DELAY = 0.05


def test_stub_command_has_help_and_its_settings_are_checked() -> None:
    result = orderhub("stub", "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: orderhub stub" in result.stdout
    result = orderhub("settings", env={"STUB_MODE": "loud"})
    assert result.returncode == 2
    assert "STUB_MODE" in result.stderr
    listed = orderhub("settings").stdout
    for name in ("STUB_PORT", "STUB_CALLBACK_URL", "STUB_ERROR_SPECIFICATIONS", "STUB_MODE"):
        assert name in listed


async def test_orderhub_stub_runs_as_a_process(tmp_path: Path, receiver: Receiver) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "STUB_PORT": str(port),
        "STUB_CALLBACK_URL": receiver.url,
        "STUB_CALLBACK_DELAY_SECONDS": str(DELAY),
        "STUB_ERROR_SPECIFICATIONS": "IP VPN",
    }
    log = tmp_path / "stub.log"
    process = start("stub", env=env, log=log)
    try:
        async with aiohttp.ClientSession() as session:

            async def up() -> bool:
                assert process.poll() is None, log.read_text()
                try:
                    async with session.get(f"{base}/health") as resp:
                        return resp.status == 200
                except aiohttp.ClientError:
                    return False

            await wait_for_async(up, 20, "stub answering /health")
            sent = order("req-18", ("spec-9", "IP VPN"))
            headers = {"Authorization": STUB_AUTH}
            async with session.post(f"{base}/tom/serviceOrder", json=sent, headers=headers) as resp:
                assert resp.status == 201
                assert (await resp.json())["externalId"] == "req-18"
            await receiver.wait_for(2, within=10)
            assert receiver.states() == [["pending"], ["error"]]

            async def both_recorded() -> bool:
                # The stub logs and records a callback once OrderHub's answer is read, after
                # the receiver saw it: stopped before that, it would cancel the last one.
                async with session.get(f"{base}/stub/received") as resp:
                    entries = await resp.json()
                return len(entries[0]["callbacks"]) == 2

            await wait_for_async(both_recorded, 10, "both callbacks recorded by the stub")
    finally:
        assert stop(process, signal.SIGINT) == 0
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    events = [(line["event"], line.get("process")) for line in lines]
    assert ("stub_listening", "stub") in events
    assert any(
        line["event"] == "stub_order_received" and line.get("external_id") == "req-18"
        for line in lines
    )
    callback_lines = [line for line in lines if line["event"] == "stub_callback"]
    assert [(c["state"], c["status"]) for c in callback_lines] == [
        ("pending", 201),
        ("error", 201),
    ]
    assert all(c["external_id"] == "req-18" for c in callback_lines)
    assert "stub-callback" not in log.read_text()
