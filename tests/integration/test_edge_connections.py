"""What a slow or oversized client gets, over raw sockets: a body that trickles in is cut off
with 408 and the connection closed; credentials are checked before any body is waited for;
a header aiohttp's parser refuses gets the error object, and the log keeps none of its bytes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from aiohttp.test_utils import BaseTestServer, TestClient, TestServer
from aiohttp.web_runner import BaseRunner
from structlog.testing import capture_logs

from app.http.app import create_app
from app.http.protocol import ApiRunner
from app.settings import Settings
from tests.helpers.auth import auth
from tests.helpers.error_objects import assert_error
from tests.helpers.in_process import app_client
from tests.helpers.payloads import ORDERS, OUTBOUND_RESPONSE

BODY_TIMEOUT = 1.0
SLACK = 2.5  # headroom for a busy machine
FORM = "application/x-www-form-urlencoded"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        assert self.headers["content-type"].startswith("application/json"), self.headers
        return json.loads(self.body)


class ApiTestServer(TestServer):
    """The test server on ApiRunner, as `orderhub serve` runs the app."""

    async def _make_runner(self, **kwargs: Any) -> BaseRunner:
        return ApiRunner(self.app, **kwargs)


@pytest.fixture
async def body_limited(settings: Settings) -> AsyncIterator[TestClient]:
    app = create_app(replace(settings, orderhub_body_timeout_seconds=BODY_TIMEOUT))
    async with app_client(app) as client:
        yield client


@pytest.fixture
async def api_server(settings: Settings) -> AsyncIterator[ApiTestServer]:
    server = ApiTestServer(create_app(settings))
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


def _address(server: BaseTestServer) -> tuple[str, int]:
    assert server.port is not None
    return server.host, server.port


def _head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _read_answer(reader: asyncio.StreamReader) -> Answer:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    status_line, *lines = head.rstrip("\r\n").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Answer(int(status_line.split()[1]), headers, body)


async def _read_to_end(reader: asyncio.StreamReader) -> bytes:
    """What comes before the server closes; a reset counts as closed."""
    try:
        return await reader.read()
    except ConnectionResetError:
        return b""


async def _trickle(writer: asyncio.StreamWriter) -> None:
    """A slow client: one byte of body a second, for as long as the connection lasts."""
    with contextlib.suppress(ConnectionError):
        while True:
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(1)


async def _exchange(server: BaseTestServer, data: bytes) -> Answer:
    """Sends `data` and reads one answer; the server may close before all of it is sent."""
    reader, writer = await asyncio.open_connection(*_address(server))
    try:
        writer.write(data)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        async with asyncio.timeout(SLACK):
            return await _read_answer(reader)
    finally:
        writer.close()


async def test_slow_body_is_cut_off_with_408_and_the_connection_closed(
    body_limited: TestClient,
) -> None:
    reader, writer = await asyncio.open_connection(*_address(body_limited.server))
    headers = {**auth("integrator"), "Content-Type": "application/json", "Content-Length": "1000"}
    writer.write(_head("POST", ORDERS, headers) + b"{")
    trickling = asyncio.create_task(_trickle(writer))
    started = time.monotonic()
    try:
        async with asyncio.timeout(BODY_TIMEOUT + SLACK):
            answer = await _read_answer(reader)
        elapsed = time.monotonic() - started
        assert answer.status == 408
        assert_error(answer.json(), 69, "did not arrive within 1 s")
        assert answer.headers["connection"].lower() == "close"
        assert BODY_TIMEOUT * 0.8 <= elapsed < BODY_TIMEOUT + SLACK, elapsed
        # Closed at once, not after aiohttp's 10 s of lingering on what still comes in.
        async with asyncio.timeout(SLACK):
            assert await _read_to_end(reader) == b""
    finally:
        trickling.cancel()
        writer.close()


@pytest.mark.parametrize(
    ("path", "content_type"),
    [(ORDERS, "application/json"), (OUTBOUND_RESPONSE, FORM)],
)
async def test_slow_body_without_credentials_is_refused_before_it_arrives(
    client: TestClient, path: str, content_type: str
) -> None:
    """The default body timeout is 10 s: the 401 comes long before, with the body unread
    (a form type too, which was once read first to see whether it held JSON)."""
    reader, writer = await asyncio.open_connection(*_address(client.server))
    headers = {"Content-Type": content_type, "Content-Length": "1000"}
    writer.write(_head("POST", path, headers) + b"{")
    trickling = asyncio.create_task(_trickle(writer))
    started = time.monotonic()
    try:
        async with asyncio.timeout(SLACK):
            answer = await _read_answer(reader)
        assert answer.status == 401
        assert_error(answer.json(), 40)
        assert "www-authenticate" in answer.headers
        assert time.monotonic() - started < SLACK
    finally:
        trickling.cancel()
        writer.close()


async def test_oversized_header_gets_the_error_object_and_no_log_keeps_its_bytes(
    api_server: ApiTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    credential = secrets.token_urlsafe(75_000)  # 100 KB of base64-like text
    caplog.set_level(logging.DEBUG)
    with capture_logs() as logged:
        answer = await _exchange(
            api_server,
            _head("GET", "/api/orderhub/whoami", {"Authorization": f"Basic {credential}"}),
        )
    assert answer.status == 431
    assert_error(answer.json(), 70, "8190 bytes")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert credential[:12].encode() not in answer.body
    everything = repr(logged) + caplog.text + repr([vars(r) for r in caplog.records])
    for offset in range(0, 120, 6):
        assert credential[offset : offset + 12] not in everything
    refused = [e for e in logged if e["event"] == "bad_http_request"]
    assert [(e["log_level"], e["status"], e["error"]) for e in refused] == [
        ("warning", 431, "LineTooLong")
    ]
    assert refused[0]["limit_bytes"] == 8190
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_oversized_request_line_gets_431(api_server: ApiTestServer) -> None:
    answer = await _exchange(api_server, _head("GET", "/" + "a" * 20_000, {}))
    assert answer.status == 431
    assert_error(answer.json(), 70)


async def test_bytes_that_are_not_http_get_400_code_71(api_server: ApiTestServer) -> None:
    answer = await _exchange(api_server, b"\x16\x03\x01\x02\x00 hello\r\n\r\n")
    assert answer.status == 400
    assert_error(answer.json(), 71, "not valid HTTP")


async def test_api_runner_serves_ordinary_requests(api_server: ApiTestServer) -> None:
    answer = await _exchange(api_server, _head("GET", "/health", {}))
    assert answer.status == 200
    assert answer.json() == {"status": "up"}
    assert answer.headers["x-content-type-options"] == "nosniff"
