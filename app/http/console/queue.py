"""The inbound queue for operators: its counts and throughput, the live workers, the entries
in error with their error objects and payloads, and retries (one, the selected, or with an
edited payload), each recorded with who did it."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from app import logs
from app.domain.console_listing import Cursor, decode_cursor, encode_cursor
from app.domain.errors import ApiError, ErrorKind
from app.domain.limits import load_object
from app.domain.order_checks import check_request
from app.http import keys
from app.http.console.session import page, read_form
from app.http.console.view import CONSOLE_USER, ConsoleUser, pretty, render, see_other
from app.services import console_actions, console_sessions, console_views, worker_reports
from app.services.console_actions import Retried
from app.services.jobs import PROCESS_INBOUND

log = logs.get("orderhub.http.console")
QUEUE = "/console/queue"


def entry_url(queue_id: str) -> str:
    return f"{QUEUE}/{queue_id}"


def _older(request: web.Request) -> Cursor | None:
    try:
        return decode_cursor(request.query["older"]) if request.query.get("older") else None
    except ValueError:
        raise ApiError(ErrorKind.INVALID_QUERY, "The page link is not valid.") from None


@page
async def queue(request: web.Request) -> web.Response:
    after = _older(request)
    async with keys.pool(request).acquire() as conn:
        view = await console_views.queue_view(conn, after)
    settings = request.app[keys.SETTINGS]
    reports = await worker_reports.read(request.app[keys.REDIS], settings.orderhub_queue_name)
    context = {"view": view, "reports": reports, "cursor": encode_cursor}
    return render(request, "queue.html", context)


@page
async def entry(request: web.Request) -> web.Response:
    queue_id = request.match_info["id"]
    return await _entry_page(request, queue_id, payload_text=None, refusal=None)


async def _entry_page(
    request: web.Request, queue_id: str, *, payload_text: str | None, refusal: str | None
) -> web.Response:
    async with keys.pool(request).acquire() as conn:
        view = await console_views.entry_view(conn, queue_id)
    if view is None:
        raise ApiError(ErrorKind.NOT_FOUND, f"No inbound queue entry with id {queue_id}.")
    if payload_text is None:
        payload_text = pretty(view.entry["payload"])
    context = {"view": view, "payload_text": payload_text, "refusal": refusal}
    return render(request, "entry.html", context, status=400 if refusal else 200)


def _summary(outcomes: list[Retried]) -> tuple[str, str]:
    done = [o.queue_id for o in outcomes if o.refusal is None]
    refused = [f"{o.queue_id}: {o.refusal}" for o in outcomes if o.refusal is not None]
    text = f"Retried {len(done)} entr{'y' if len(done) == 1 else 'ies'}."
    if refused:
        text += " Not retried: " + "; ".join(refused)
    return ("refusal" if refused else "notice"), text


async def _retry(
    request: web.Request, user: ConsoleUser, ids: list[str], payload: dict[str, Any] | None
) -> None:
    """Retries, records, tells the next page, then triggers the workers (after the commit;
    a lost trigger is the sweeper's to find)."""
    async with keys.pool(request).acquire() as conn:
        outcomes = await console_actions.retry_entries(conn, ids, actor=user.name, payload=payload)
        await console_sessions.flash(conn, user.token_digest, *_summary(outcomes))
    for outcome in outcomes:
        if outcome.refusal is None:
            try:
                await request.app[keys.REDIS].enqueue_job(
                    PROCESS_INBOUND, [outcome.queue_id], _job_id=outcome.queue_id
                )
            except Exception as exc:
                log.warning("enqueue_failed", queue_id=outcome.queue_id, error=repr(exc))


@page
async def retry_selected(request: web.Request) -> web.Response:
    """Retry on one row (its button names it) or Retry selected (the ticked rows)."""
    form = await read_form(request)
    only = form.get("only")
    ids = [only] if only else list(dict.fromkeys(form.getall("id", [])))
    if not ids:
        raise ApiError(ErrorKind.INVALID_FIELD, "Select at least one entry to retry.")
    await _retry(request, request[CONSOLE_USER], ids, None)
    return see_other(QUEUE)


def _edited_payload(text: str) -> dict[str, Any]:
    """The operator's payload: a JSON object the order checks accept, or ApiError."""
    payload = load_object(text, "payload")
    check_request(payload)
    return payload


@page
async def retry_entry(request: web.Request) -> web.Response:
    """Retry from the entry's page, as it is or with the payload edited in the form."""
    queue_id, form = request.match_info["id"], await read_form(request)
    text = form.get("payload")
    try:
        payload = _edited_payload(text) if form.get("edited") and text is not None else None
    except ApiError as exc:
        return await _entry_page(request, queue_id, payload_text=text, refusal=exc.detail)
    await _retry(request, request[CONSOLE_USER], [queue_id], payload)
    return see_other(entry_url(queue_id))
