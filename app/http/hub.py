"""The event hub (TMF641 v4.1.0 `/hub`), on both flavours, and its operator views.

A subscription belongs to the user who registered it: another user's is answered 404, as one
that does not exist. Events, their delivery and signatures: docs/api.md#event-notifications.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from app.domain.dates import format_date
from app.domain.errors import ApiError, ErrorKind
from app.domain.limits import load_object
from app.domain.roles import INTEGRATOR, OPERATOR_ROLES
from app.domain.tmf_rendering import TMF_BASE
from app.http import keys
from app.http.auth import requires
from app.http.middlewares import ok_json, read_body, read_json_object
from app.http.peer import public_base_url
from app.services import hub as hub_service
from app.store import deliveries, hub

TMF_HUB = f"{TMF_BASE}/hub"
SN_HUB = "/api/sn_tmf_api/order/hub"
DEAD_LIMIT = 100


def _path_of(request: web.Request) -> str:
    return SN_HUB if request.path.startswith(SN_HUB) else TMF_HUB


def render_subscription(row: dict[str, Any]) -> dict[str, Any]:
    """The v4.1.0 EventSubscription; the secret only ever in the answer to registration."""
    body = {"id": row["id"], "callback": row["callback"], "query": row["query"]}
    if "secret" in row:
        body["secret"] = row["secret"]
    return body


@requires([INTEGRATOR])
async def register(request: web.Request) -> web.Response:
    body = await read_json_object(request, empty_message="Empty payload.")
    allow_private = request.app[keys.SETTINGS].orderhub_hub_allow_private_callbacks
    async with keys.pool(request).acquire() as conn:
        row = await hub_service.register(
            conn, body, owner=request[keys.USER].name, allow_private=allow_private
        )
    response = ok_json(render_subscription(row), status=201)
    response.headers["Location"] = f"{public_base_url(request)}{_path_of(request)}/{row['id']}"
    return response


@requires([INTEGRATOR])
async def get_subscription(request: web.Request) -> web.Response:
    async with keys.pool(request).acquire() as conn:
        row = await hub_service.get_own(
            conn, request.match_info["id"], owner=request[keys.USER].name
        )
    return ok_json(render_subscription(row))


@requires([INTEGRATOR])
async def unregister(request: web.Request) -> web.Response:
    async with keys.pool(request).acquire() as conn:
        await hub_service.delete_own(conn, request.match_info["id"], owner=request[keys.USER].name)
    return web.Response(status=204)


def _operator_subscription(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **render_subscription(row),
        "owner": row["owner"],
        "state": row["state"],
        "failingSince": format_date(row["failing_since"]) or None,
        "createdAt": format_date(row["created_at"]),
    }


def _dead(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "subscription": row["subscription"],
        "callback": row["callback"],
        "subscriptionState": row["subscription_state"],
        "eventId": row["event_id"],
        "eventType": row["event_type"],
        "orderId": row["order_id"],
        "attempts": row["attempts"],
        "lastError": row["last_error"],
        "firstAttemptAt": format_date(row["first_attempt_at"]) or None,
        "parkedAt": format_date(row["updated_at"]),
    }


@requires(OPERATOR_ROLES)
async def subscriptions(request: web.Request) -> web.Response:
    """Every user's subscriptions, with their state (active or suspended)."""
    async with keys.pool(request).acquire() as conn:
        rows = await hub.all_subscriptions(conn)
    return ok_json([_operator_subscription(r) for r in rows])


@requires(OPERATOR_ROLES)
async def dead_deliveries(request: web.Request) -> web.Response:
    """Deliveries parked as dead, newest first; `subscription` narrows them to one."""
    subscription = request.query.get("subscription")
    async with keys.pool(request).acquire() as conn:
        rows = await deliveries.dead(conn, subscription=subscription, limit=DEAD_LIMIT)
    return ok_json([_dead(r) for r in rows])


@requires(OPERATOR_ROLES)
async def replay(request: web.Request) -> web.Response:
    """`{"subscription": id}` and/or `{"eventId": id}`; an empty object replays every dead
    delivery."""
    raw = await read_body(request)
    body = load_object(raw, "request body") if raw.strip() else {}
    named = {}
    for field, key in (("subscription", "subscription"), ("eventId", "event_id")):
        value = body.get(field)
        if value is not None and not isinstance(value, str):
            raise ApiError(ErrorKind.INVALID_FIELD, f"{field} must be a string.", f"/{field}")
        named[key] = value
    async with keys.pool(request).acquire() as conn:
        if named["subscription"] and await hub.get(conn, named["subscription"]) is None:
            raise ApiError(
                ErrorKind.NOT_FOUND,
                f"No hub subscription with id {named['subscription']}.",
                "/subscription",
            )
        replayed = await hub_service.replay(conn, **named)
    return ok_json({"replayed": replayed})


def setup(app: web.Application) -> None:
    for base in (TMF_HUB, SN_HUB):
        app.router.add_post(base, register)
        app.router.add_get(base + "/{id}", get_subscription)
        app.router.add_delete(base + "/{id}", unregister)
    app.router.add_get("/api/orderhub/hub", subscriptions)
    app.router.add_get("/api/orderhub/eventDelivery", dead_deliveries)
    app.router.add_post("/api/orderhub/eventDelivery/replay", replay)
