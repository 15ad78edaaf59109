"""structlog set-up: one JSON object per line on stdout, or, for people at a terminal, aligned
and coloured lines (ORDERHUB_LOG_FORMAT).

Context (request_id, trace_id, queue_id, order_id, job_id) is bound through contextvars, so
every line written while serving a request or running a job carries it without being passed
around.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_KEYS = frozenset({"authorization", "password", "passwd", "secret", "token"})
_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def _drop_secrets(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event):
        if key.lower() in _SECRET_KEYS:
            event[key] = "[redacted]"
    return event


def _renderer(fmt: str) -> Any:
    """`auto` asks this process's own stdout: `orderhub dev`'s children share its terminal,
    while a process whose output goes to a file or a collector writes JSON. Colour only on a
    terminal, so that `console` into a file stays plain text."""
    if fmt == "console" or (fmt == "auto" and sys.stdout.isatty()):
        # A plain traceback: the rich one lists every frame's locals, passwords among them.
        return structlog.dev.ConsoleRenderer(
            colors=sys.stdout.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    return structlog.processors.JSONRenderer()


def configure(level: str = "info", process: str = "api", fmt: str = "json") -> None:
    renderer = _renderer(fmt)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_secrets,
    ]
    structlog.configure(
        processors=[
            *shared,
            *_exceptions(renderer),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(process=process)
    # Libraries that log through the standard module (arq, aiohttp, asyncpg) write the same
    # lines, at warning and above so that they never drown ours.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *_exceptions(renderer),
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)


def _exceptions(renderer: Any) -> list[Any]:
    """JSON carries a traceback as a field; the console renderer prints it itself."""
    if isinstance(renderer, structlog.processors.JSONRenderer):
        return [structlog.processors.format_exc_info]
    return []


def get(name: str = "orderhub") -> Any:
    return structlog.get_logger(name)
