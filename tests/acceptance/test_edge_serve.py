"""`orderhub serve` itself (app.http.protocol.run, not the test server): aiohttp's own refusals
answer the error object and leave no request bytes in the log, an idle keep-alive connection
closes after ORDERHUB_KEEPALIVE_TIMEOUT_SECONDS, and a signal stops it cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from app.cli.embedded import free_port
from app.settings import Settings
from tests.helpers.processes import start, stop, wait_ready

KEEPALIVE = 1.0
SLACK = 5.0  # a process under a busy machine


@pytest.fixture
def serving(settings: Settings, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port = free_port()
    log = tmp_path / "serve.log"
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "PORT": str(port),
        "ORDERHUB_QUEUE_NAME": settings.orderhub_queue_name,
        "ORDERHUB_KEEPALIVE_TIMEOUT_SECONDS": str(KEEPALIVE),
        "ORDERHUB_LOG_LEVEL": "debug",
    }
    process = start("serve", env=env, log=log)
    try:
        wait_ready(f"http://127.0.0.1:{port}", 60, process)
        yield port, log
    finally:
        stop(process)


@contextlib.asynccontextmanager
async def _connection(
    port: int,
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield reader, writer
    finally:
        writer.close()


async def _get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, extra: str = ""
) -> bytes:
    """One HTTP/1.1 request; the answer's head and body."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode())
    with contextlib.suppress(ConnectionError):  # an oversized request may be cut off
        await writer.drain()
    async with asyncio.timeout(SLACK):
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        return head + await reader.readexactly(length)


async def test_oversized_header_answers_the_error_object_and_the_log_keeps_none_of_it(
    serving: tuple[int, Path],
) -> None:
    port, log = serving
    credential = secrets.token_urlsafe(75_000)
    async with _connection(port) as (reader, writer):
        answer = await _get(reader, writer, "/health", f"Authorization: Basic {credential}\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split()[1] == b"431"
    assert b"application/json" in head and b"nosniff" in head
    error = json.loads(body)
    assert (error["code"], error["message"]) == (70, "Request header fields too large")
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    refused = [line for line in lines if line.get("event") == "bad_http_request"]
    assert [(r["level"], r["status"]) for r in refused] == [("warning", 431)]
    text = log.read_text()
    for offset in range(0, 120, 6):
        assert credential[offset : offset + 12] not in text


async def test_idle_keepalive_connection_closes_after_the_setting(
    serving: tuple[int, Path],
) -> None:
    port, _ = serving
    async with _connection(port) as (reader, writer):
        answer = await _get(reader, writer, "/health")
        assert answer.split()[1] == b"200"
        idle_from = time.monotonic()
        async with asyncio.timeout(KEEPALIVE + SLACK):
            assert await reader.read() == b""
        assert time.monotonic() - idle_from >= KEEPALIVE * 0.8


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_serve_cleanly(settings: Settings, tmp_path: Path, sig: int) -> None:
    port = free_port()
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "PORT": str(port),
        "ORDERHUB_QUEUE_NAME": settings.orderhub_queue_name,
    }
    process: subprocess.Popen[bytes] = start("serve", env=env, log=tmp_path / "serve.log")
    try:
        wait_ready(f"http://127.0.0.1:{port}", 60, process)
    finally:
        code = stop(process, sig)
    assert code == 0, (tmp_path / "serve.log").read_text()[-2000:]
    assert "Traceback" not in (tmp_path / "serve.log").read_text()
