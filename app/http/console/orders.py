"""Service Orders > All, an order's page, its outbound action and its Outbound Request records
(the contract's agent procedure, seeds/outbound-requests.txt)."""

from __future__ import annotations

from aiohttp import web

from app import logs
from app.domain.console_listing import CUSTOMER_MATCHES, encode_cursor, parse_listing
from app.domain.errors import ApiError, ErrorKind
from app.domain.states import STATES
from app.http import keys
from app.http.console.session import page
from app.http.console.view import CONSOLE_USER, ConsoleUser, render, see_other
from app.services import console_actions, console_sessions, console_views
from app.services.jobs import enqueue_sends
from app.store.db import Connection

log = logs.get("orderhub.http.console")


def order_url(order_id: str) -> str:
    return f"/console/orders/{order_id}"


async def home(_request: web.Request) -> web.Response:
    return see_other("/console/orders")


@page
async def order_list(request: web.Request) -> web.Response:
    query = parse_listing(request.query)
    async with keys.pool(request).acquire() as conn:
        listing = await console_views.order_list(conn, query)
    return render(
        request,
        "orders.html",
        {
            "listing": listing,
            "query": query,
            "states": STATES,
            "cursor": encode_cursor,
            "customer_matches": CUSTOMER_MATCHES,
        },
    )


def _not_found(order_id: str) -> ApiError:
    return ApiError(ErrorKind.NOT_FOUND, f"No service order with id {order_id}.")


@page
async def order(request: web.Request) -> web.Response:
    order_id = request.match_info["id"]
    async with keys.pool(request).acquire() as conn:
        view = await console_views.order_view(conn, order_id)
    if view is None:
        raise _not_found(order_id)
    return render(request, "order.html", {"view": view})


@page
async def confirm(request: web.Request) -> web.Response:
    """The "Initiate Fulfillment Request" confirmation as a page of its own: what the order
    page's dialog shows, for a browser running no script."""
    order_id = request.match_info["id"]
    async with keys.pool(request).acquire() as conn:
        view = await console_views.order_view(conn, order_id)
    if view is None:
        raise _not_found(order_id)
    return render(request, "confirm.html", {"view": view})


@page
async def initiate(request: web.Request) -> web.Response:
    """OK on the confirmation: the API's operation; a rule's refusal is shown on the order."""
    order_id, user = request.match_info["id"], request[CONSOLE_USER]
    if not user.may_act:
        raise ApiError(ErrorKind.ACCESS_DENIED, "Only agents and managers may do this.")
    async with keys.pool(request).acquire() as conn:
        request_ids = await _initiated(conn, order_id, user)
    try:
        await enqueue_sends(request.app[keys.REDIS], request_ids)
    except Exception as exc:  # the sweeper sends it: the records are written
        log.warning("enqueue_failed", error=repr(exc), outbound_request_ids=request_ids)
    return see_other(order_url(order_id) + ("#outbound-requests" if request_ids else ""))


async def _initiated(conn: Connection, order_id: str, user: ConsoleUser) -> list[str]:
    """The Request IDs created, with a notice for the order page; none, with the rule's
    message instead, when a rule refuses (an unknown order is a 404 page)."""
    try:
        done = await console_actions.initiate_outbound(conn, order_id, actor=user.name)
    except ApiError as exc:
        if exc.kind is not ErrorKind.CONFLICT:
            raise
        await console_sessions.flash(conn, user.token_digest, "refusal", exc.detail)
        return []
    numbers = ", ".join(r["number"] for r in done.records)
    text = f"Outbound request {numbers} created; state Not applicable."
    await console_sessions.flash(conn, user.token_digest, "notice", text)
    return done.request_ids


@page
async def record(request: web.Request) -> web.Response:
    number = request.match_info["number"]
    async with keys.pool(request).acquire() as conn:
        row = await console_views.outbound_record(conn, number)
    if row is None:
        raise ApiError(ErrorKind.NOT_FOUND, f"No outbound request {number}.")
    return render(request, "record.html", {"record": row})
