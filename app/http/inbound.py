"""Operators' view of the inbound queue, under /api/orderhub/queue."""

from __future__ import annotations

from aiohttp import web
from marshmallow import Schema, fields, validate

from app import logs
from app.domain.errors import ApiError, ErrorKind
from app.domain.inbound import QUEUE_STATES, render_entry
from app.domain.order_checks import check_request
from app.domain.roles import OPERATOR_ROLES
from app.http import keys
from app.http.auth import requires
from app.http.middlewares import ok_json, read_json_object
from app.http.schemas.listing import MAX_OFFSET, load_query, page_response
from app.services.inbound import retry_entry
from app.services.jobs import PROCESS_INBOUND
from app.store import inbound

BASE = "/api/orderhub/queue"
log = logs.get("orderhub.http.queue")


class QueueListQuery(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1), strict=False)
    offset = fields.Integer(
        load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET), strict=False
    )
    state = fields.String(load_default=None, validate=validate.OneOf(QUEUE_STATES))


_LIST_QUERY = QueueListQuery()


def _not_found(queue_id: str) -> ApiError:
    return ApiError(ErrorKind.NOT_FOUND, f"No inbound queue entry with id {queue_id}.", "/id")


@requires(OPERATOR_ROLES)
async def list_entries(request: web.Request) -> web.Response:
    query = load_query(_LIST_QUERY, request.query)
    async with keys.pool(request).acquire() as conn:
        total, rows = await inbound.entries(
            conn, state=query["state"], limit=query["limit"], offset=query["offset"]
        )
    return page_response(
        [render_entry(r, with_payload=False) for r in rows], total, query["offset"]
    )


@requires(OPERATOR_ROLES)
async def show(request: web.Request) -> web.Response:
    queue_id = request.match_info["id"]
    async with keys.pool(request).acquire() as conn:
        row = await inbound.entry(conn, queue_id)
    if row is None:
        raise _not_found(queue_id)
    return ok_json(render_entry(row, with_payload=True))


@requires(OPERATOR_ROLES)
async def retry(request: web.Request) -> web.Response:
    """error -> queued, optionally with a corrected payload: {"payload": {...}}."""
    queue_id = request.match_info["id"]
    payload = None
    if request.body_exists:
        body = await read_json_object(request, empty_message="Empty payload.")
        payload = body.get("payload")
        if not isinstance(payload, dict):
            raise ApiError(ErrorKind.INVALID_FIELD, "payload must be a JSON object.", "/payload")
        check_request(payload)
    async with keys.pool(request).acquire() as conn:
        row = await retry_entry(conn, queue_id, payload, enqueue_now=True)
    try:
        await request.app[keys.REDIS].enqueue_job(PROCESS_INBOUND, [queue_id], _job_id=queue_id)
    except Exception as exc:
        log.warning("enqueue_failed", queue_id=queue_id, error=repr(exc))
    return ok_json(render_entry(row, with_payload=True))


@requires(OPERATOR_ROLES)
async def stats(request: web.Request) -> web.Response:
    async with keys.pool(request).acquire() as conn:
        return ok_json(await inbound.stats(conn))


def setup(app: web.Application) -> None:
    app.router.add_get(BASE, list_entries)
    app.router.add_get(BASE + "/stats", stats)
    app.router.add_get(BASE + "/{id}", show)
    app.router.add_post(BASE + "/{id}/retry", retry)
