"""The connection level: what aiohttp answers before any middleware runs, and the run loop.

A request aiohttp's parser refuses (a header field or request line over 8,190 bytes, more than
128 header fields, bytes that aren't HTTP) never reaches the application: aiohttp answers it in
RequestHandler.handle_error as text/plain, and logs at error level a traceback whose message
quotes the first 100 bytes of the line it refused (a Basic credential may be among them).
aiohttp has no setting for either (aio-libs/aiohttp#3287), and web.Server builds its
RequestHandler by name; so ApiRunner serves connections with ApiRequestHandler, which answers
the error object and logs one line naming the kind of failure, none of the request's bytes.
web.run_app always builds aiohttp's own runner, hence `run`.

`run` also stops gracefully in its own way. aiohttp's runner, on SIGTERM, closes the listening
socket (connections the kernel had accepted but the process had not yet taken are reset),
closes every connection not handling a request (one whose request is still on its way is
dropped) and then ignores the bytes still arriving on the others (a body half received never
completes). Here the connections waiting in the listening socket are taken before it closes,
every connection is left to finish what it has, each answer says `Connection: close`, and only
then, or after ORDERHUB_SHUTDOWN_SECONDS, does aiohttp's shutdown run.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import uuid

from aiohttp import hdrs, web
from aiohttp.http_exceptions import BadHttpMethod, LineTooLong

from app import logs
from app.domain.errors import ApiError, ErrorKind
from app.http.middlewares import error_response

log = logs.get("orderhub.http.protocol")
_NOSNIFF = {"X-Content-Type-Options": "nosniff"}
BACKLOG = 128  # aiohttp's default
# Seconds a connection made just before the stop has to begin its request.
FIRST_REQUEST_GRACE = 2.0
# Seconds aiohttp's own shutdown gives a request that began after the drain ended.
FINAL_GRACE = 1.0
DRAIN_POLL = 0.05


class ApiRequestHandler(web.RequestHandler):
    """aiohttp's connection handler, answering its own errors with the error object."""

    __slots__ = ("_answered", "_made_at")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._made_at = self._loop.time()
        self._answered = 0

    async def finish_response(
        self, request: web.BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        try:
            return await super().finish_response(request, resp, start_time)
        finally:
            self._answered += 1

    def quiet(self, now: float) -> bool:
        """Nothing left to answer: every request received is answered (aiohttp counts those
        received), and either one was (an idle keep-alive connection) or none began within
        FIRST_REQUEST_GRACE of connecting."""
        received = self._request_count
        if self._answered < received:
            return False
        return received > 0 or now - self._made_at > FIRST_REQUEST_GRACE

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
    shutdown_seconds: float,
    loop: asyncio.AbstractEventLoop,
) -> None:
    """Serves until SIGINT or SIGTERM, then stops as the module's docstring says."""
    asyncio.set_event_loop(loop)
    serving = loop.create_task(
        _serve(app, host, port, reuse_port, keepalive_timeout, shutdown_seconds)
    )
    try:
        loop.run_until_complete(serving)
    except KeyboardInterrupt:
        pass
    finally:
        if not serving.done():
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(serving)
        _cancel_remaining(loop)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


class _Draining:
    """Once stopping, every answer closes its connection: a keep-alive client sends its next
    request to another process rather than down a connection about to close."""

    def __init__(self) -> None:
        self.on = False

    async def close_after(self, _request: web.Request, response: web.StreamResponse) -> None:
        if self.on:
            response.force_close()
            response.headers[hdrs.CONNECTION] = "close"


async def _serve(
    app: web.Application,
    host: str,
    port: int,
    reuse_port: bool | None,
    keepalive_timeout: float,
    shutdown_seconds: float,
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    draining = _Draining()
    app.on_response_prepare.append(draining.close_after)
    runner = ApiRunner(
        app, access_log=None, keepalive_timeout=keepalive_timeout, shutdown_timeout=FINAL_GRACE
    )
    await runner.setup()
    try:
        listener = socket.create_server(
            (host, port),
            family=socket.AF_INET6 if ":" in host else socket.AF_INET,
            backlog=BACKLOG,
            reuse_port=bool(reuse_port),
        )
        # The site's server closes its socket; this copy keeps the queue of connections the
        # kernel accepted meanwhile, to be taken before it closes.
        held = listener.dup()
        try:
            await web.SockSite(runner, listener, backlog=BACKLOG).start()
            await stop.wait()
            log.info("api_stopping", connections=len(_server(runner).connections))
            draining.on = True
            for site in runner.sites:
                await site.stop()
            waiting = _take_waiting(held)
        finally:
            held.close()  # at once: new connections go to another process, or are refused
        for conn in waiting:
            await loop.connect_accepted_socket(_server(runner), conn)
        await _until_quiet(_server(runner), loop.time() + shutdown_seconds)
    finally:
        await runner.cleanup()
        log.info("api_stopped")


def _server(runner: web.BaseRunner) -> web.Server:
    assert runner.server is not None
    return runner.server


def _take_waiting(listener: socket.socket) -> list[socket.socket]:
    """The connections queued on the listening socket, taken without waiting."""
    listener.setblocking(False)
    taken: list[socket.socket] = []
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:  # BlockingIOError: none left
            return taken
        taken.append(conn)


async def _until_quiet(server: web.Server, deadline: float) -> None:
    """Until every connection has nothing left to answer, or the deadline."""
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        now = loop.time()
        busy = [
            conn
            for conn in server.connections
            if not (isinstance(conn, ApiRequestHandler) and conn.quiet(now))
        ]
        if not busy:
            return
        await asyncio.sleep(DRAIN_POLL)
    log.warning("api_stop_deadline", connections=len(server.connections))


def _cancel_remaining(loop: asyncio.AbstractEventLoop) -> None:
    """As run_app: tasks still running after the cleanup are cancelled, not abandoned."""
    remaining = asyncio.all_tasks(loop)
    for task in remaining:
        task.cancel()
    if remaining:
        loop.run_until_complete(asyncio.gather(*remaining, return_exceptions=True))
