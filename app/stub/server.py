"""The stub's aiohttp application: SOM/TOM order endpoints, callbacks and test controls."""

from __future__ import annotations

import asyncio
import hmac
import json
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any, Protocol

import aiohttp
from aiohttp import web

from app import logs
from app.settings import Settings
from app.stub.callbacks import Caller
from app.stub.config import ConfigError, StubConfig
from app.stub.listener import Listener, ListenerConfigError
from app.stub.records import Received, Registry
from app.stub.tracing import HEADER as TRACEPARENT
from app.stub.tracing import received_trace

SYSTEMS = ("som", "tom")
# Modes that answer every order without accepting it: status, error code, reason.
_REJECTIONS = {"fail": (500, 1, "Internal error"), "refuse": (400, 24, "Invalid body field")}

SETTINGS = web.AppKey("stub_settings", Settings)
CONFIG = web.AppKey("stub_config", StubConfig)
REGISTRY = web.AppKey("stub_registry", Registry)
CALLER = web.AppKey("stub_caller", Caller)
TASKS = web.AppKey("stub_tasks", set[asyncio.Task[None]])
LISTENER = web.AppKey("stub_listener", Listener)


def _error(status: int, code: int, reason: str, message: str) -> web.Response:
    body = {"code": code, "reason": reason, "message": message}
    return web.json_response(body, status=status)


def _authorised(request: web.Request) -> bool:
    settings = request.app[SETTINGS]
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    expected = aiohttp.encode_basic_auth(settings.stub_user, settings.stub_password)
    token_ok = hmac.compare_digest(given.strip().encode(), expected.partition(" ")[2].encode())
    return scheme.lower() == "basic" and token_ok


def _shape_error(order: Any) -> str | None:
    """Why `order` is not a service order the stub can fulfil, or None."""
    if not isinstance(order, dict):
        return "the body must be a JSON object"
    if not isinstance(order.get("externalId"), str) or not order["externalId"]:
        return "externalId is missing"
    items = order.get("serviceOrderItem")
    if not isinstance(items, list) or not items:
        return "serviceOrderItem is missing"
    if not all(isinstance(i, dict) and isinstance(i.get("id"), str) and i["id"] for i in items):
        return "serviceOrderItem id is missing"
    return None


async def _read_order(request: web.Request) -> tuple[Any, str | None]:
    try:
        order = json.loads(await request.read())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, "the body is not valid JSON"
    return order, _shape_error(order)


async def service_order(request: web.Request) -> web.Response:
    system = request.match_info["system"]
    traceparent = request.headers.get(TRACEPARENT)
    trace = received_trace(traceparent)
    log = logs.get().bind(system=system, trace_id=trace[0] if trace else None)
    if not _authorised(request):
        log.warning("stub_order_unauthorised")
        return web.json_response(
            {"code": 41, "reason": "Invalid credentials", "message": "Invalid credentials"},
            status=401,
            headers={"WWW-Authenticate": f'Basic realm="stub {system}"'},
        )
    order, problem = await _read_order(request)
    if problem is not None:
        log.warning("stub_order_invalid", problem=problem)
        return _error(400, 22, "Invalid body", f"Invalid payload: {problem}.")
    external_id: str = order["externalId"]
    log = log.bind(external_id=external_id)
    config = request.app[CONFIG]
    mode = config.mode
    if mode == "slow":
        await asyncio.sleep(config.slow_seconds)
    registry = request.app[REGISTRY]
    if mode not in _REJECTIONS and config.fail_rate and random.random() < config.fail_rate:
        mode = "fail"
    if mode in _REJECTIONS:
        status, code, reason = _REJECTIONS[mode]
        body = {"code": code, "reason": reason, "message": f"Order rejected (stub mode {mode})."}
        registry.add(
            Received(system, external_id, order, status, body, traceparent=traceparent, trace=trace)
        )
        log.info("stub_order_received", mode=mode, status=status)
        return web.json_response(body, status=status)
    existing = registry.accepted(system, external_id)
    if existing is not None:
        existing.duplicates += 1
        log.info("stub_order_received", mode=mode, status=201, duplicate=existing.duplicates)
        return web.json_response(existing.answer_body, status=201)
    body = {"id": uuid.uuid4().hex, "externalId": external_id, "state": "acknowledged"}
    record = Received(system, external_id, order, 201, body, traceparent=traceparent, trace=trace)
    registry.add(record)
    log.info(
        "stub_order_received",
        mode=mode,
        status=201,
        stub_id=body["id"],
        items=len(order["serviceOrderItem"]),
    )
    task = asyncio.create_task(
        request.app[CALLER].fulfil(
            record,
            config.callback_delay_seconds,
            config.error_specifications,
            config.callback_attempts,
        )
    )
    tasks = request.app[TASKS]
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return web.json_response(body, status=201)


async def get_config(request: web.Request) -> web.Response:
    return web.json_response(request.app[CONFIG].to_json())


class _Configurable(Protocol):
    def update(self, body: Any) -> None: ...

    def to_json(self) -> dict[str, Any]: ...


async def _reconfigure(
    request: web.Request, target: _Configurable, refused: type[Exception], event: str
) -> web.Response:
    """The SOM/TOM side's and the listener's settings change alike: a JSON object of the
    fields to change, 400 with nothing changed when one is wrong."""
    try:
        target.update(json.loads(await request.read()))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _error(400, 22, "Invalid body", "the body is not valid JSON")
    except refused as exc:
        return _error(400, 24, "Invalid body field", str(exc))
    logs.get().info(event, **target.to_json())
    return web.json_response(target.to_json())


async def post_config(request: web.Request) -> web.Response:
    return await _reconfigure(request, request.app[CONFIG], ConfigError, "stub_config_changed")


async def get_received(request: web.Request) -> web.Response:
    return web.json_response(request.app[REGISTRY].to_json())


async def delete_received(request: web.Request) -> web.Response:
    request.app[REGISTRY].clear()
    return web.Response(status=204)


async def listen(request: web.Request) -> web.Response:
    return await request.app[LISTENER].handle(request)


async def get_events(request: web.Request) -> web.Response:
    """What the listener received, oldest first."""
    return web.json_response(request.app[LISTENER].received)


async def delete_events(request: web.Request) -> web.Response:
    request.app[LISTENER].received.clear()
    return web.Response(status=204)


async def get_listener_config(request: web.Request) -> web.Response:
    return web.json_response(request.app[LISTENER].to_json())


async def post_listener_config(request: web.Request) -> web.Response:
    return await _reconfigure(
        request, request.app[LISTENER], ListenerConfigError, "stub_listener_config_changed"
    )


async def health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "up"})


async def _callbacks(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        app[CALLER] = Caller(
            session,
            settings.stub_callback_url,
            aiohttp.encode_basic_auth(settings.stub_callback_user, settings.stub_callback_password),
        )
        yield
        tasks = app[TASKS]
        pending = list(tasks)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def create_stub_app(settings: Settings) -> web.Application:
    app = web.Application()
    app[SETTINGS] = settings
    app[CONFIG] = StubConfig.from_settings(settings)
    app[REGISTRY] = Registry()
    app[TASKS] = set()
    app[LISTENER] = Listener()
    app.cleanup_ctx.append(_callbacks)
    app.router.add_post(f"/{{system:{'|'.join(SYSTEMS)}}}/serviceOrder", service_order)
    app.router.add_get("/stub/config", get_config)
    app.router.add_post("/stub/config", post_config)
    app.router.add_get("/stub/received", get_received)
    app.router.add_delete("/stub/received", delete_received)
    app.router.add_post("/listener", listen)
    app.router.add_post("/listener/{tail:.*}", listen)
    app.router.add_get("/stub/events", get_events)
    app.router.add_delete("/stub/events", delete_events)
    app.router.add_get("/stub/listener/config", get_listener_config)
    app.router.add_post("/stub/listener/config", post_listener_config)
    app.router.add_get("/health", health)
    return app
