"""The connection level: what aiohttp answers before any middleware runs, and the run loop.

A request aiohttp's parser refuses (a header field or request line over 8,190 bytes, more than
128 header fields, bytes that aren't HTTP) never reaches the application: aiohttp answers it in
RequestHandler.handle_error as text/plain, and logs at error level a traceback whose message
quotes the first 100 bytes of the line it refused (a Basic credential may be among them).
aiohttp has no setting for either (aio-libs/aiohttp#3287), and web.Server builds its
RequestHandler by name; so ApiRunner serves connections with ApiRequestHandler, which answers
the error object and logs one line naming the kind of failure, none of the request's bytes.
web.run_app always builds aiohttp's own runner, hence `run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod, LineTooLong

from app import logs
from app.domain.errors import ApiError, ErrorKind
from app.http.middlewares import error_response

log = logs.get("orderhub.http.protocol")
_NOSNIFF = {"X-Content-Type-Options": "nosniff"}


class ApiRequestHandler(web.RequestHandler):
    """aiohttp's connection handler, answering its own errors with the error object."""

    __slots__ = ()

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """`message` is aiohttp's text, which quotes the request: never used or logged."""
        error = self._error_for(request, status, exc)
        if request.writer.output_size > 0:
            # As aiohttp's own: part of a response went out, the connection is beyond repair.
            raise ConnectionError("Response is sent already, cannot send an error object")
        response = error_response(request, error)
        response.headers.update(_NOSNIFF)
        response.force_close()
        return response

    def _error_for(
        self, request: web.BaseRequest, status: int, exc: BaseException | None
    ) -> ApiError:
        if status == 500:
            reference = uuid.uuid4().hex
            log.error("unhandled_error", reference=reference, exc_info=exc)
            return ApiError(ErrorKind.INTERNAL, f"Internal error. Reference: {reference}.")
        if status >= 500:
            log.warning("request_failed", status=status, error=type(exc).__name__)
            return ApiError(ErrorKind.UNAVAILABLE, "The service is temporarily unavailable.")
        error = self._refusal(exc)
        # Bytes that aren't HTTP (TLS, scanners) come from the internet all day: debug only.
        level = "debug" if isinstance(exc, BadHttpMethod) else "warning"
        getattr(log, level)(
            "bad_http_request",
            status=error.kind.status,
            error=type(exc).__name__,
            limit_bytes=self.max_field_size if isinstance(exc, LineTooLong) else None,
            remote=request.remote,
        )
        return error

    def _refusal(self, exc: BaseException | None) -> ApiError:
        if isinstance(exc, LineTooLong):
            return ApiError(
                ErrorKind.HEADERS_TOO_LARGE,
                f"The request line or a header field is over {self.max_field_size} bytes.",
            )
        return ApiError(ErrorKind.MALFORMED_REQUEST, "The request is not valid HTTP/1.1.")


class ApiServer(web.Server):
    """web.Server, with ApiRequestHandler for each connection."""

    def __call__(self) -> web.RequestHandler:
        return ApiRequestHandler(self, loop=self._loop, **self._kwargs)


class ApiRunner(web.AppRunner):
    """web.AppRunner serving through ApiServer: the application's startup, handler and
    request factory are the ones aiohttp's runner prepared."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return ApiServer(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=server._loop,
            **server._kwargs,
        )


def run(
    app: web.Application,
    *,
    host: str,
    port: int,
    reuse_port: bool | None,
    keepalive_timeout: float,
    loop: asyncio.AbstractEventLoop,
) -> None:
    """web.run_app on ApiRunner: serves until SIGINT or SIGTERM, then shuts down gracefully."""
    asyncio.set_event_loop(loop)
    serving = loop.create_task(_serve(app, host, port, reuse_port, keepalive_timeout))
    try:
        loop.run_until_complete(serving)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        if not serving.done():
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(serving)
        _cancel_remaining(loop)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def _serve(
    app: web.Application,
    host: str,
    port: int,
    reuse_port: bool | None,
    keepalive_timeout: float,
) -> None:
    runner = ApiRunner(
        app, handle_signals=True, access_log=None, keepalive_timeout=keepalive_timeout
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, reuse_port=reuse_port).start()
        await asyncio.Event().wait()  # until a signal raises GracefulExit
    finally:
        await runner.cleanup()


def _cancel_remaining(loop: asyncio.AbstractEventLoop) -> None:
    """As run_app: tasks still running after the cleanup are cancelled, not abandoned."""
    remaining = asyncio.all_tasks(loop)
    for task in remaining:
        task.cancel()
    if remaining:
        loop.run_until_complete(asyncio.gather(*remaining, return_exceptions=True))
