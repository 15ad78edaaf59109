"""Outbound for operators: records by state, the sends that failed or were given up with
their last error, and each system's circuit breaker as the workers last reported it."""

from __future__ import annotations

from aiohttp import web

from app.domain.worker_reports import by_target, summary
from app.http import keys
from app.http.console.session import page
from app.http.console.view import render
from app.services import console_views, worker_reports

SYSTEMS = ("SOM", "TOM")


@page
async def outbound(request: web.Request) -> web.Response:
    async with keys.pool(request).acquire() as conn:
        view = await console_views.outbound_view(conn)
    settings = request.app[keys.SETTINGS]
    reports = await worker_reports.read(request.app[keys.REDIS], settings.orderhub_queue_name)
    breakers = by_target(reports.breakers)
    systems = [
        {
            "name": name,
            "url": settings.target(name)[0],
            "summary": summary(breakers.get(name, [])),
            "breakers": breakers.get(name, []),
        }
        for name in SYSTEMS
    ]
    return render(request, "outbound.html", {"view": view, "reports": reports, "systems": systems})
