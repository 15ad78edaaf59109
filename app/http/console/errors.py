"""The console's own middleware: HTML error pages rather than the API's JSON, and the
security headers every console answer carries.

It sits inside app.http.middlewares.api, which leaves /console paths to it: the API's content
negotiation (JSON only) and form refusal would turn every page and form away.
"""

from __future__ import annotations

import uuid

from aiohttp import web
from aiohttp.typedefs import Handler

from app import logs
from app.domain.errors import ApiError, ErrorKind
from app.http.console.view import SECURITY_HEADERS, STATIC_PREFIX, render
from app.store.db import is_lock_timeout, is_statement_timeout, is_unavailable

log = logs.get("orderhub.http.console")
PREFIX = "/console"
_TITLES = {
    400: "Not accepted",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    408: "Too slow",
    409: "Busy",
    413: "Too large",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


def is_console(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def _page(request: web.Request, status: int, message: str) -> web.Response:
    title = _TITLES.get(status, "Error")
    return render(request, "error.html", {"title": title, "message": message}, status=status)


def _from_exception(request: web.Request, exc: Exception) -> web.Response:
    """The page for a failure; a traceback only ever reaches the log, under a reference."""
    if isinstance(exc, ApiError):
        response = _page(request, exc.kind.status, exc.detail)
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        if exc.kind is ErrorKind.REQUEST_TIMEOUT:
            response.force_close()
        return response
    if isinstance(exc, web.HTTPException):
        if isinstance(exc, web.HTTPNotFound):
            message = "There is no console page at this address."
        elif isinstance(exc, web.HTTPRequestEntityTooLarge):
            message = "The form was too large."
        else:
            message = exc.reason
        response = _page(request, exc.status, message)
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    if is_lock_timeout(exc):
        response = _page(request, 409, "The record is busy with another change; try again.")
        response.headers["Retry-After"] = "1"
        return response
    if is_unavailable(exc) or is_statement_timeout(exc):
        log.warning("database_unavailable", error=repr(exc))
        response = _page(request, 503, "The database is not answering; try again shortly.")
        response.headers["Retry-After"] = "5"
        return response
    reference = uuid.uuid4().hex
    log.exception("unhandled_error", reference=reference)
    return _page(request, 500, f"Internal error. Reference: {reference}.")


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_console(request.path):
        return await handler(request)
    try:
        if "\x00" in request.path or any("\x00" in v for v in request.query.values()):
            # PostgreSQL can store or compare no U+0000: such an id or filter names nothing.
            raise ApiError(ErrorKind.NOT_FOUND, "There is no console page at this address.")
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            exc.headers.update(SECURITY_HEADERS)
            raise
        response = _from_exception(request, exc)
    except Exception as exc:
        response = _from_exception(request, exc)
    response.headers.update(SECURITY_HEADERS)
    if request.path.startswith(STATIC_PREFIX + "/"):
        response.headers.setdefault("Cache-Control", "public, max-age=86400")
    return response
