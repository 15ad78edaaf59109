"""OrderHub's own operator API, under /api/orderhub/."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from app.domain.dates import format_date
from app.domain.errors import ApiError, ErrorKind
from app.domain.roles import ALL_ROLES, OPERATOR_ROLES
from app.http import keys
from app.http.auth import requires
from app.http.middlewares import ok_json
from app.store import orders


@requires(ALL_ROLES)
async def whoami(request: web.Request) -> web.Response:
    """Lets an integrator check its credentials and roles before sending orders."""
    user = request[keys.USER]
    return ok_json({"name": user.name, "roles": sorted(user.roles)})


async def _order_rows(request: web.Request, read: Any) -> list[dict[str, Any]]:
    order_id = request.match_info["id"]
    async with keys.pool(request).acquire() as conn:
        if not await orders.exists(conn, order_id):
            raise ApiError(ErrorKind.NOT_FOUND, f"No service order with id {order_id}.", "/id")
        rows: list[dict[str, Any]] = await read(conn, order_id)
    return rows


@requires(OPERATOR_ROLES)
async def work_notes(request: web.Request) -> web.Response:
    """Work notes of an order and its items, newest first."""
    rows = await _order_rows(request, orders.work_notes)
    return ok_json(
        [
            {
                "id": r["id"],
                "itemId": r["item_id"],
                "text": r["text"],
                "author": r["author"],
                "createdAt": format_date(r["created_at"]),
            }
            for r in rows
        ]
    )


@requires(OPERATOR_ROLES)
async def revisions(request: web.Request) -> web.Response:
    """What each accepted PATCH changed, by whom and when, oldest first."""
    rows = await _order_rows(request, orders.revisions)
    return ok_json(
        [
            {
                "version": r["version"],
                "changes": r["changes"],
                "author": r["author"],
                "createdAt": format_date(r["created_at"]),
            }
            for r in rows
        ]
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/api/orderhub/whoami", whoami)
    app.router.add_get("/api/orderhub/serviceOrder/{id}/workNote", work_notes)
    app.router.add_get("/api/orderhub/serviceOrder/{id}/revision", revisions)
