"""OrderHub's own operator API, under /api/orderhub/."""

from __future__ import annotations

from aiohttp import web

from app.domain.roles import ALL_ROLES
from app.http import keys
from app.http.auth import requires
from app.http.middlewares import ok_json


@requires(ALL_ROLES)
async def whoami(request: web.Request) -> web.Response:
    """Lets an integrator check its credentials and roles before sending orders."""
    user = request[keys.USER]
    return ok_json({"name": user.name, "roles": sorted(user.roles)})


def setup(app: web.Application) -> None:
    app.router.add_get("/api/orderhub/whoami", whoami)
