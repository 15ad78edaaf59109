"""Request context, content negotiation and the one error shape, for every route."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from typing import Any

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from app import logs
from app.domain import jsontext
from app.domain.errors import ApiError, ErrorKind, error_body
from app.domain.ids import new_sys_id
from app.domain.limits import load_object
from app.domain.trace_context import HEADER as TRACEPARENT
from app.domain.trace_context import continue_from
from app.http import keys, metrics
from app.http.peer import from_this_site
from app.store.db import is_lock_timeout, is_statement_timeout, is_unavailable

log = logs.get("orderhub.http")
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
_JSON_TYPES = frozenset({"application/json", "application/merge-patch+json"})
_FORM_TYPE = "application/x-www-form-urlencoded"
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_RETRY_AFTER_SECONDS = "5"
# A row lock is held for one transaction, a short one: worth another try soon.
_BUSY_RETRY_AFTER_SECONDS = "1"
_NO_STORE = {"Cache-Control": "no-store"}
# Every answer is JSON: no browser may take one for a script or a page.
_NOSNIFF = {"X-Content-Type-Options": "nosniff"}


def error_response(
    request: web.BaseRequest, error: ApiError, headers: dict[str, str] | None = None
) -> web.Response:
    body = error.body(string_code=request.path.startswith("/tmf-api/"))
    extra = dict(headers or {})
    if error.kind in (ErrorKind.MISSING_CREDENTIALS, ErrorKind.INVALID_CREDENTIALS):
        extra["WWW-Authenticate"] = 'Basic realm="OrderHub", charset="UTF-8"'
    if error.retry_after is not None:
        extra["Retry-After"] = str(error.retry_after)
    elif error.kind is ErrorKind.UNAVAILABLE:
        extra["Retry-After"] = _RETRY_AFTER_SECONDS
    elif error.kind is ErrorKind.BUSY:
        extra["Retry-After"] = _BUSY_RETRY_AFTER_SECONDS
    response = _json_response(body, error.kind.status, extra)
    if error.kind is ErrorKind.REQUEST_TIMEOUT:
        # The rest of a body that came too slowly is not waited for on this connection.
        response.force_close()
    return response


def _json_response(data: Any, status: int, headers: dict[str, str]) -> web.Response:
    """orjson's bytes as the body: json_response would decode them to text and encode it again."""
    body = jsontext.dumps_bytes(data)
    if body is None:
        body = jsontext.dumps(data).encode()
    return web.Response(
        body=body, status=status, content_type="application/json", charset="utf-8", headers=headers
    )


def _from_http_exception(exc: web.HTTPException, request: web.Request) -> ApiError:
    if isinstance(exc, web.HTTPNotFound):
        return ApiError(ErrorKind.NOT_FOUND, f"No resource at {request.path}.")
    if isinstance(exc, web.HTTPMethodNotAllowed):
        return ApiError(
            ErrorKind.METHOD_NOT_ALLOWED,
            f"Method {request.method} is not allowed on {request.path}.",
        )
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return ApiError(
            ErrorKind.TOO_LARGE,
            f"Request body exceeds {request.app[keys.SETTINGS].orderhub_max_body_bytes} bytes.",
        )
    return ApiError(ErrorKind.INVALID_BODY, exc.reason)


def _accepts_json(accept: str) -> bool:
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in {"", "*/*", "application/*", "application/json"} or media.endswith("+json"):
            return True
    return False


def _speaks_json(path: str) -> bool:
    """The console (app/http/console) serves HTML pages and forms, with checks, headers and
    error pages of its own (its middleware, inside this one), and /metrics Prometheus's text
    format to whatever Accept a scraper sends: the JSON rules are not for them."""
    return not (path == "/console" or path.startswith("/console/") or path == metrics.PATH)


def _check_text(request: web.Request) -> None:
    """U+0000 can't be stored or compared by PostgreSQL: an id holding it names nothing, and
    a query parameter holding it is refused."""
    if "\x00" in request.path:
        raise ApiError(ErrorKind.NOT_FOUND, "No resource at this path.")
    if "\x00" in request.query_string or "%00" in request.query_string:
        if any("\x00" in value for value in request.query.values()):
            raise ApiError(ErrorKind.INVALID_QUERY, "Query parameters may not hold U+0000.", "?")


def _check_accept(request: web.Request) -> None:
    """JSON out: 406 for an Accept without JSON."""
    if not _accepts_json(request.headers.get("Accept", "*/*")):
        raise ApiError(ErrorKind.NOT_ACCEPTABLE, "This API only produces application/json.")


def _unsupported_type(request: web.Request) -> ApiError:
    return ApiError(
        ErrorKind.UNSUPPORTED_MEDIA_TYPE,
        f"Content-Type {request.content_type or '(none)'} is not supported; send application/json.",
    )


def _check_body_type(request: web.Request) -> None:
    """JSON in: 415 for a body that isn't JSON, from the headers alone, so nothing is read
    before the handler has checked the credentials.

    `curl --data '{...}'` labels JSON as a form (the contract's outboundresponse example does):
    only the handlers in FORM_JSON_HANDLERS take it, and only from no site or this one;
    read_body refuses it there too unless it looks like JSON. A form type is checked even
    without a body: an empty cross-site form is a request all the same, and so is a bodiless
    POST, which a page elsewhere can also make a browser send with its remembered Basic
    credentials and no CORS preflight (403). JSON it can't send that way.
    """
    if request.content_type == _FORM_TYPE:
        if request.match_info.handler not in request.app[keys.FORM_JSON_HANDLERS]:
            raise _unsupported_type(request)
        if not from_this_site(request):
            raise ApiError(
                ErrorKind.UNSUPPORTED_MEDIA_TYPE,
                "A form sent from another site is not accepted; send application/json.",
            )
    elif request.content_type in _JSON_TYPES:
        return
    elif request.body_exists:
        raise _unsupported_type(request)
    elif request.method in _UNSAFE_METHODS and not from_this_site(request):
        raise ApiError(
            ErrorKind.ACCESS_DENIED,
            "A request from another site's page is not accepted; send application/json.",
        )


async def read_body(request: web.Request) -> bytes:
    """The whole body, arriving within ORDERHUB_BODY_TIMEOUT_SECONDS: a client trickling a
    byte now and then would otherwise hold the request (and what it holds) for as long as it
    likes. 408 then, and the connection is closed (error_response)."""
    limit = request.app[keys.SETTINGS].orderhub_body_timeout_seconds
    try:
        async with asyncio.timeout(limit):
            raw = await request.read()
    except TimeoutError:
        # The body is given up on: aiohttp then closes the connection after the answer
        # rather than lingering, reading what still trickles in, for up to 10 s more.
        request.content.set_exception(TimeoutError("request body timed out"))
        raise ApiError(
            ErrorKind.REQUEST_TIMEOUT, f"The request body did not arrive within {limit:g} s."
        ) from None
    if request.content_type == _FORM_TYPE and raw.strip() and raw.lstrip()[:1] != b"{":
        raise _unsupported_type(request)
    return raw


def _database_error(exc: Exception) -> ApiError | None:
    """What a database failure tells the client: busy (retry soon), or away (retry later)."""
    if is_lock_timeout(exc):
        log.warning("lock_timeout", error=repr(exc))
        return ApiError(ErrorKind.BUSY, "The order is busy with another change; retry.")
    if is_statement_timeout(exc):
        log.warning("statement_timeout", error=repr(exc))
        return ApiError(ErrorKind.UNAVAILABLE, "The database took too long; retry later.")
    if is_unavailable(exc):
        log.warning("database_unavailable", error=repr(exc))
        return ApiError(
            ErrorKind.UNAVAILABLE, "The service is temporarily unavailable; retry later."
        )
    return None


def _error_for(request: web.Request, exc: Exception) -> web.Response:
    """Every failure leaves as the error object; no traceback ever reaches a client."""
    if isinstance(exc, ApiError):
        return error_response(request, exc)
    if isinstance(exc, web.HTTPException):
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return error_response(request, _from_http_exception(exc, request), headers)
    database_error = _database_error(exc)
    if database_error is not None:
        return error_response(request, database_error)
    reference = uuid.uuid4().hex
    log.exception("unhandled_error", reference=reference)
    return error_response(
        request, ApiError(ErrorKind.INTERNAL, f"Internal error. Reference: {reference}.")
    )


@web.middleware
async def api(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id, trace context, access line and request metrics, content negotiation, and
    the one error shape.

    One middleware rather than three: each level costs a wrapper and a coroutine per request.
    The access line is built only when info lines are written (about 2 µs a request).
    """
    incoming = request.headers.get("X-Request-ID", "")
    request_id = incoming if incoming and _REQUEST_ID_RE.match(incoming) else new_sys_id()
    request[keys.REQUEST_ID] = request_id
    trace = continue_from(request.headers.get(TRACEPARENT))
    request[keys.TRACE] = trace
    structlog.contextvars.bind_contextvars(request_id=request_id, trace_id=trace.trace_id)
    started = time.perf_counter()
    status = 500
    answered = False
    try:
        try:
            if _speaks_json(request.path):
                _check_text(request)
                _check_accept(request)
                _check_body_type(request)
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                status = exc.status
                answered = True
                exc.headers.update(_NOSNIFF)
                raise
            response = _error_for(request, exc)
        except Exception as exc:
            response = _error_for(request, exc)
        status = response.status
        answered = True
        response.headers["X-Request-ID"] = request_id
        response.headers.update(_NOSNIFF)
        return response
    finally:
        elapsed = time.perf_counter() - started
        # A request cancelled before its answer (the client left) is not counted as one.
        if answered:
            metrics.observe_request(request, status, elapsed)
        if log.is_enabled_for(logging.INFO):
            user = request.get(keys.USER)
            log.info(
                "request",
                method=request.method,
                path=request.path,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
                user=user.name if user else None,
            )
        structlog.contextvars.unbind_contextvars("request_id", "trace_id")


async def read_json_object(request: web.Request, *, empty_message: str) -> dict[str, Any]:
    """The body as a JSON object, or 400: code 21 when empty, 22 when not an object."""
    raw = await read_body(request)
    if not raw.strip():
        raise ApiError(ErrorKind.MISSING_BODY, empty_message)
    return load_object(raw, "request body")


def ok_json(data: Any, status: int = 200) -> web.Response:
    return _json_response(data, status, _NO_STORE)


__all__ = ["api", "error_body", "ok_json", "read_body", "read_json_object"]
