"""Fulfilment over HTTP: the outboundresponse callback and the agent's outbound actions."""

from __future__ import annotations

from aiohttp import web

from app import logs, metrics
from app.domain import messages as m
from app.domain.errors import ApiError, ErrorKind
from app.domain.outbound import render_domain_order, render_record
from app.domain.roles import INTEGRATOR, OPERATOR_ROLES
from app.http import keys
from app.http.auth import requires
from app.http.middlewares import ok_json, read_json_object
from app.services import outbound as outbound_service
from app.services.jobs import enqueue_sends
from app.store import orders
from app.store import outbound as outbound_store
from app.store.db import Connection

log = logs.get("orderhub.http.outbound")
ORDER = "/api/orderhub/serviceOrder/{id}"


@requires([INTEGRATOR])
async def outbound_response(request: web.Request) -> web.Response:
    """Counted by outcome (orderhub_callbacks_total): accepted, refused (an error answer to
    the caller) or failed (anything else, a 5xx)."""
    try:
        response = await _outbound_response(request)
    except ApiError:
        metrics.CALLBACKS.labels("refused").inc()
        raise
    except Exception:
        metrics.CALLBACKS.labels("failed").inc()
        raise
    metrics.CALLBACKS.labels("accepted").inc()
    return response


async def _outbound_response(request: web.Request) -> web.Response:
    payload = await read_json_object(request, empty_message=m.OUTBOUND_EXTERNAL_ID_MISSING)
    async with keys.pool(request).acquire() as conn:
        order_ids = await outbound_service.orders_called_back(conn, payload)
    settings = request.app[keys.SETTINGS]
    locks = request.app[keys.ORDER_LOCKS]  # why: app/http/order_locks.py
    async with locks.holding(order_ids, wait_seconds=settings.orderhub_lock_timeout_seconds):
        async with keys.pool(request).acquire() as conn:
            done = await outbound_service.callback(conn, payload)
    log.info(
        "outbound_response",
        outbound_request_id=done.request_id,
        order_id=done.order_ids,
        fo_numbers=done.numbers,
    )
    return ok_json(payload, status=201)


@requires(OPERATOR_ROLES)
async def initiate(request: web.Request) -> web.Response:
    """ "Create Outbound Fulfillment Request", or "Revise" when updates are available."""
    async with keys.pool(request).acquire() as conn:
        initiated = await outbound_service.initiate(
            conn, request.match_info["id"], user=request[keys.USER].name
        )
    log.info(
        "outbound_initiated",
        order_id=request.match_info["id"],
        outbound_request_ids=initiated.request_ids,
        fo_numbers=[r["number"] for r in initiated.records],
    )
    try:
        await enqueue_sends(request.app[keys.REDIS], initiated.request_ids)
    except Exception as exc:
        log.warning("enqueue_failed", error=repr(exc), outbound_request_ids=initiated.request_ids)
    return ok_json([render_record(r) for r in initiated.records], status=201)


async def _existing_order(conn: Connection, order_id: str) -> None:
    if not await orders.exists(conn, order_id):
        raise ApiError(ErrorKind.NOT_FOUND, f"No service order with id {order_id}.", "/id")


@requires(OPERATOR_ROLES)
async def records(request: web.Request) -> web.Response:
    order_id = request.match_info["id"]
    async with keys.pool(request).acquire() as conn:
        await _existing_order(conn, order_id)
        rows = await outbound_store.records_of_order(conn, order_id)
    return ok_json([render_record(r) for r in rows])


@requires(OPERATOR_ROLES)
async def record(request: web.Request) -> web.Response:
    number = request.match_info["number"]
    async with keys.pool(request).acquire() as conn:
        row = await outbound_store.record(conn, number)
    if row is None:
        raise ApiError(ErrorKind.NOT_FOUND, f"No outbound request {number}.", "/number")
    return ok_json(render_record(row))


@requires(OPERATOR_ROLES)
async def domain_orders(request: web.Request) -> web.Response:
    order_id = request.match_info["id"]
    async with keys.pool(request).acquire() as conn:
        await _existing_order(conn, order_id)
        rows = await outbound_store.domain_orders_of_order(conn, order_id)
    return ok_json([render_domain_order(r) for r in rows])


def setup(app: web.Application) -> None:
    for path in (
        "/api/sn_tmf_api/order/serviceOrder/outboundresponse",
        "/api/sn_tmf_api/serviceorder/outboundresponse",
    ):
        app.router.add_post(path, outbound_response)
    app.router.add_post(ORDER + "/outboundRequest", initiate)
    app.router.add_get(ORDER + "/outboundRequest", records)
    app.router.add_get(ORDER + "/domainOrder", domain_orders)
    app.router.add_get("/api/orderhub/outboundRequest/{number}", record)
