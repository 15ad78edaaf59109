"""Standard TMF641 v4.1.0 API: /tmf-api/serviceOrdering/v4 (serviceOrder, cancelServiceOrder).

The same tables and the same domain entry points as the Service Order Open API
(create_order, revise_order, cancel_order): only shapes differ (app/domain/tmf_rendering.py,
app/domain/tmf_requests.py). Lists follow TMF630: `fields`, attribute filters, `offset` and
`limit`, `X-Total-Count` and `X-Result-Count`, 200 for a whole result and 206 for a part.
Error objects carry `code` as a string on these paths (the errors middleware).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from app.domain import messages as m
from app.domain.claims import claims_for
from app.domain.errors import ApiError, ErrorKind
from app.domain.ids import new_sys_id
from app.domain.roles import INTEGRATOR
from app.domain.stored_order import StoredOrder
from app.domain.tmf_rendering import (
    CANCELLATION_PATH,
    ORDER_PATH,
    render_cancellation,
    render_tmf_order,
)
from app.domain.tmf_requests import order_request, revision_request
from app.http import keys
from app.http.auth import requires
from app.http.middlewares import ok_json, read_json_object
from app.http.peer import public_base_url
from app.http.schemas.listing import field_names, next_page, page_response, project
from app.http.schemas.tmf_query import load_filters, load_paging
from app.services.jobs import enqueue_sends
from app.services.orders import cancel_order, create_order_once, delete_order, revise_order
from app.services.outbound import auto_initiate
from app.store import cancellations, order_search, orders
from app.store.db import Connection


def _not_found(kind: str, resource_id: str) -> ApiError:
    return ApiError(ErrorKind.NOT_FOUND, f"No {kind} with id {resource_id}.", "/id")


def _fields(request: web.Request) -> set[str] | None:
    return field_names(load_paging(request.query)["field_list"])


async def _render(conn: Connection, page: list[StoredOrder], base_url: str) -> list[dict[str, Any]]:
    """Orders in the standard shape; cancelled ones with their cancellation (one query)."""
    cancelled = [o.order["sys_id"] for o in page if o.order["state"] == "cancelled"]
    found = await cancellations.for_orders(conn, cancelled)
    return [render_tmf_order(o, base_url, found.get(o.order["sys_id"])) for o in page]


def _created(body: dict[str, Any]) -> web.Response:
    """`Location` is the body's own href, so a replayed answer names the same URI."""
    response = ok_json(body, status=201)
    response.headers["Location"] = body["href"]
    return response


# --- serviceOrder ------------------------------------------------------------------------------


@requires([INTEGRATOR])
async def create(request: web.Request) -> web.Response:
    """Under the same client-retry rules as the other flavour, with claims of its own."""
    payload = await read_json_object(request, empty_message=m.POST_REQUEST_BODY_MISSING)
    settings = request.app[keys.SETTINGS]
    user = request[keys.USER].name
    claims = claims_for(
        payload, user=user, idempotency_key=request.headers.get("Idempotency-Key"), scope="tmf"
    )
    base_url = public_base_url(request)
    async with keys.pool(request).acquire() as conn:

        async def answer(stored: StoredOrder) -> tuple[int, dict[str, Any]]:
            return 201, (await _render(conn, [stored], base_url))[0]

        status, body = await create_order_once(
            conn,
            order_request(payload),
            claims,
            order_id=new_sys_id(),
            user=user,
            allow_spec_upgrade=settings.orderhub_allow_spec_version_update_in_change_order,
            answer=answer,
            traceparent=request[keys.TRACE].traceparent,
        )
        if settings.outbound_auto and status == 201:
            await enqueue_sends(request.app[keys.REDIS], await auto_initiate(conn, [body["id"]]))
    return _created(body)


@requires([INTEGRATOR])
async def list_orders(request: web.Request) -> web.Response:
    paging = load_paging(request.query, cursor=True)
    attributes = order_search.TMF_ORDER_ATTRIBUTES
    filters = load_filters(request.query, attributes, cursor=True)
    limit, offset, after = paging["limit"], paging["offset"], paging["after"]
    async with keys.pool(request).acquire() as conn:
        total, page = await order_search.search(
            conn, filters, limit=limit, offset=offset, after=after, attributes=attributes
        )
        rendered = await _render(conn, page, public_base_url(request))
    wanted = field_names(paging["field_list"])
    body = [project(o, wanted) for o in rendered]
    return page_response(body, total, None if after else offset, next_page(request, page, limit))


@requires([INTEGRATOR])
async def get_order(request: web.Request) -> web.Response:
    order_id = request.match_info["id"]
    wanted = _fields(request)
    async with keys.pool(request).acquire() as conn:
        stored = await orders.get(conn, order_id)
        if stored is None:
            raise _not_found("service order", order_id)
        (body,) = await _render(conn, [stored], public_base_url(request))
    return ok_json(project(body, wanted))


@requires([INTEGRATOR])
async def patch_order(request: web.Request) -> web.Response:
    order_id = request.match_info["id"]
    patch = await read_json_object(request, empty_message=m.PATCH_REQUEST_BODY_MISSING)
    settings = request.app[keys.SETTINGS]
    async with keys.pool(request).acquire() as conn:
        # The lock holds from reading what the PATCH leaves out until the revision is written.
        async with conn.transaction():
            stored = await orders.lock(conn, order_id)
            if stored is None:
                raise _not_found("service order", order_id)
            revised = await revise_order(
                conn,
                order_id,
                revision_request(stored, patch),
                user=request[keys.USER].name,
                allow_spec_upgrade=settings.orderhub_allow_spec_version_update_in_change_order,
            )
        if revised is None:
            raise _not_found("service order", order_id)
        (body,) = await _render(conn, [revised], public_base_url(request))
    return ok_json(body)


@requires([INTEGRATOR])
async def delete(request: web.Request) -> web.Response:
    order_id = request.match_info["id"]
    async with keys.pool(request).acquire() as conn:
        if not await delete_order(conn, order_id):
            raise _not_found("service order", order_id)
    return web.Response(status=204)


# --- cancelServiceOrder ------------------------------------------------------------------------


@requires([INTEGRATOR])
async def create_cancellation(request: web.Request) -> web.Response:
    payload = await read_json_object(request, empty_message=m.CANCEL_EMPTY_PAYLOAD)
    async with keys.pool(request).acquire() as conn:
        stored = await cancel_order(conn, payload, user=request[keys.USER].name)
        found = await cancellations.for_orders(conn, [stored.order["sys_id"]])
    row = found[stored.order["sys_id"]]
    return _created(render_cancellation(row, public_base_url(request)))


@requires([INTEGRATOR])
async def list_cancellations(request: web.Request) -> web.Response:
    paging = load_paging(request.query)
    filters = load_filters(request.query, cancellations.CANCELLATION_ATTRIBUTES)
    limit, offset = paging["limit"], paging["offset"]
    async with keys.pool(request).acquire() as conn:
        total, rows = await cancellations.search(conn, filters, limit=limit, offset=offset)
    wanted = field_names(paging["field_list"])
    base_url = public_base_url(request)
    body = [project(render_cancellation(r, base_url), wanted) for r in rows]
    return page_response(body, total, offset)


@requires([INTEGRATOR])
async def get_cancellation(request: web.Request) -> web.Response:
    cancellation_id = request.match_info["id"]
    wanted = _fields(request)
    async with keys.pool(request).acquire() as conn:
        row = await cancellations.get(conn, cancellation_id)
    if row is None:
        raise _not_found("cancelServiceOrder", cancellation_id)
    return ok_json(project(render_cancellation(row, public_base_url(request)), wanted))


def setup(app: web.Application) -> None:
    app.router.add_post(ORDER_PATH, create)
    app.router.add_get(ORDER_PATH, list_orders)
    app.router.add_get(ORDER_PATH + "/{id}", get_order)
    app.router.add_patch(ORDER_PATH + "/{id}", patch_order)
    app.router.add_delete(ORDER_PATH + "/{id}", delete)
    app.router.add_post(CANCELLATION_PATH, create_cancellation)
    app.router.add_get(CANCELLATION_PATH, list_cancellations)
    app.router.add_get(CANCELLATION_PATH + "/{id}", get_cancellation)
