"""The agent and operator console: server-rendered pages under /console, in the API process.

Pages: sign-in, Service Orders > All, an order (with its Outbound Requests and the
"Create Outbound Fulfillment Request" / "Revise Outbound Request" action), an Outbound Request
record, the inbound queue and one entry, and Outbound. docs/console.md describes them.
"""

from __future__ import annotations

from aiohttp import web

from app.http.console import orders, outbound, queue, session
from app.http.console.errors import middleware
from app.http.console.view import STATIC_DIR, STATIC_PREFIX, setup_templates

__all__ = ["middleware", "setup"]


def setup(app: web.Application) -> None:
    setup_templates(app)
    routes = app.router
    routes.add_get("/console", orders.home)
    routes.add_get("/console/", orders.home)
    routes.add_get(session.SIGN_IN, session.sign_in_form)
    routes.add_post(session.SIGN_IN, session.sign_in)
    routes.add_post("/console/sign-out", session.sign_out)
    routes.add_get("/console/orders", orders.order_list)
    routes.add_get("/console/orders/{id}", orders.order)
    routes.add_get("/console/orders/{id}/outbound-request", orders.confirm)
    routes.add_post("/console/orders/{id}/outbound-request", orders.initiate)
    routes.add_get("/console/outbound-requests/{number}", orders.record)
    routes.add_get(queue.QUEUE, queue.queue)
    routes.add_post(queue.QUEUE + "/retry", queue.retry_selected)
    routes.add_get(queue.QUEUE + "/{id}", queue.entry)
    routes.add_post(queue.QUEUE + "/{id}/retry", queue.retry_entry)
    routes.add_get("/console/outbound", outbound.outbound)
    routes.add_static(STATIC_PREFIX, STATIC_DIR, name="console_static")
