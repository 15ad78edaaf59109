"""Service Order Open API (ServiceNow flavour): /api/sn_tmf_api/order/serviceOrder."""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web

from app.domain import messages as m
from app.domain.claims import Claim, claims_for
from app.domain.errors import ApiError, ErrorKind, error_body
from app.domain.ids import new_sys_id
from app.domain.inbound import NewEntry, Replay, inventory_refs
from app.domain.order_checks import check_request
from app.domain.roles import INTEGRATOR
from app.domain.servicenow_rendering import cancellation_body, echo_order, render_order
from app.domain.stored_order import StoredOrder
from app.http import keys
from app.http.auth import requires
from app.http.middlewares import ok_json, read_json_object
from app.http.schemas.listing import (
    ServiceOrderListQuery,
    field_names,
    load_query,
    next_page,
    page_response,
    project,
)
from app.services.jobs import enqueue_sends
from app.services.orders import cancel_order, create_order_once, revise_order
from app.services.outbound import auto_initiate
from app.store import inbound, order_search, orders
from app.store.order_search import Filter

BASE = "/api/sn_tmf_api/order/serviceOrder"
ALIAS = "/api/sn_tmf_api/serviceorder"
_LIST_QUERY = ServiceOrderListQuery()


def queued_body(order_id: str) -> dict[str, str]:
    """The 202 of `mode=async`: the id the order will have."""
    return {"orderId": order_id}


def queued_status() -> dict[str, Any]:
    """GET of an order still in the inbound queue, answered with 200
    (docs/contract.md#status-codes)."""
    return error_body(ErrorKind.IN_QUEUE, m.QUEUE_STILL_IN_QUEUE, datapath="")


def _not_found(order_id: str) -> ApiError:
    return ApiError(ErrorKind.NOT_FOUND, f"No service order with id {order_id}.", "/id")


async def _created(payload: dict[str, Any], stored: StoredOrder) -> tuple[int, dict[str, Any]]:
    return 201, echo_order(payload, stored, state="new")


@requires([INTEGRATOR])
async def create(request: web.Request) -> web.Response:
    """Sync (201) and `mode=async` (202) share the checks; async stores and answers at once."""
    mode = request.query.get("mode")
    if mode not in (None, "async"):
        raise ApiError(
            ErrorKind.INVALID_QUERY,
            f"Invalid query parameter mode: {mode!r}; the only mode is async.",
            "?mode",
        )
    payload = await read_json_object(request, empty_message=m.POST_REQUEST_BODY_MISSING)
    check_request(payload)
    user = request[keys.USER].name
    claims = claims_for(payload, user=user, idempotency_key=request.headers.get("Idempotency-Key"))
    if mode == "async":
        status, body = await _accept(request, payload, user, claims)
        structlog.contextvars.bind_contextvars(order_id=body["orderId"])
    else:
        status, body = await _create_now(request, payload, user, claims)
    return ok_json(body, status=status)


async def _accept(
    request: web.Request, payload: dict[str, Any], user: str, claims: list[Claim]
) -> tuple[int, Any]:
    """Into the inbound queue: 202 with the id the order will have, or a retry's replay."""
    order_id = new_sys_id()
    entry = NewEntry(
        order_id,
        payload,
        user,
        request[keys.REQUEST_ID],
        inventory_refs(payload),
        claims,
        (202, queued_body(order_id)),
        request[keys.TRACE].traceparent,
    )
    outcome = await request.app[keys.ACCEPT_WRITER].submit(entry)
    if isinstance(outcome, ApiError):
        raise outcome
    return (outcome.status, outcome.body) if isinstance(outcome, Replay) else entry.answer


async def _create_now(
    request: web.Request, payload: dict[str, Any], user: str, claims: list[Claim]
) -> tuple[int, Any]:
    settings = request.app[keys.SETTINGS]
    async with keys.pool(request).acquire() as conn:
        status, body = await create_order_once(
            conn,
            payload,
            claims,
            order_id=new_sys_id(),
            user=user,
            allow_spec_upgrade=settings.orderhub_allow_spec_version_update_in_change_order,
            answer=lambda stored: _created(payload, stored),
            traceparent=request[keys.TRACE].traceparent,
        )
        if settings.outbound_auto and status == 201:
            await enqueue_sends(request.app[keys.REDIS], await auto_initiate(conn, [body["id"]]))
    return status, body


@requires([INTEGRATOR])
async def list_orders(request: web.Request) -> web.Response:
    query = load_query(_LIST_QUERY, request.query)
    limit, offset = query["limit"], query["offset"]
    async with keys.pool(request).acquire() as conn:
        state = [Filter("state", "eq", (query["state"],))] if query["state"] else []
        total, page = await order_search.search(
            conn, state, limit=limit, offset=offset, after=query["after"]
        )
    if total == 0:
        raise ApiError(ErrorKind.NOT_FOUND, "No service orders match the query.", "/")
    wanted = field_names(query["field_list"])
    body = [project(render_order(o), wanted) for o in page]
    first = None if query["after"] else offset
    return page_response(body, total, first, next_page(request, page, limit))


@requires([INTEGRATOR])
async def get_order(request: web.Request) -> web.Response:
    order_id = request.match_info["id"]
    async with keys.pool(request).acquire() as conn:
        stored = await orders.get(conn, order_id)
        queued = None if stored else await inbound.lookup(conn, order_id)
        if queued is not None and queued[0] == "done":  # made between the two reads
            stored = await orders.get(conn, order_id)
    if stored is not None:
        return ok_json(render_order(stored))
    if queued is None or queued[0] == "done":
        raise _not_found(order_id)
    state, error = queued
    return ok_json(queued_status() if state == "queued" else error)


@requires([INTEGRATOR])
async def patch_order(request: web.Request) -> web.Response:
    order_id = request.match_info["id"]
    payload = await read_json_object(request, empty_message=m.PATCH_REQUEST_BODY_MISSING)
    settings = request.app[keys.SETTINGS]
    async with keys.pool(request).acquire() as conn:
        for _ in range(2):  # again when the worker made the order between the two reads
            stored = await revise_order(
                conn,
                order_id,
                payload,
                user=request[keys.USER].name,
                allow_spec_upgrade=settings.orderhub_allow_spec_version_update_in_change_order,
            )
            queued = None if stored else await inbound.lookup(conn, order_id)
            if queued is None or queued[0] != "done":
                break
    if stored is None:
        if queued is not None and queued[0] != "done":
            raise ApiError(ErrorKind.CONFLICT, m.PATCH_ORDER_IN_QUEUE, "/id")
        raise _not_found(order_id)
    return ok_json(echo_order(payload, stored, state=stored.order["state"]))


@requires([INTEGRATOR])
async def cancel(request: web.Request) -> web.Response:
    payload = await read_json_object(request, empty_message=m.CANCEL_EMPTY_PAYLOAD)
    async with keys.pool(request).acquire() as conn:
        stored = await cancel_order(conn, payload, user=request[keys.USER].name)
    return ok_json(cancellation_body(payload, stored.order["sys_id"]))


def setup(app: web.Application) -> None:
    for base in (BASE, ALIAS):
        app.router.add_post(base, create)
        app.router.add_get(base, list_orders)
        app.router.add_post(base + "/cancelserviceorder", cancel)
        app.router.add_get(base + "/{id}", get_order)
        app.router.add_patch(base + "/{id}", patch_order)
    app.router.add_post("/api/sn_tmf_api/cancelserviceorder", cancel)
