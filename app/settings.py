"""Every setting is an environment variable, read once at start.

A bad value stops the process with one line naming the variable, rather than failing later
in a handler where the cause is hard to see.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app.redis_address import SENTINEL_SCHEME, is_sentinel, parse_sentinel


class SettingsError(ValueError):
    """A setting has a value the process cannot start with."""


def _int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError("must be a whole number") from None


def _port(raw: str) -> int:
    value = _int(raw)
    if not 0 <= value <= 65535:
        raise ValueError("must be a port number from 0 to 65535")
    return value


def _positive_int(raw: str) -> int:
    value = _int(raw)
    if value < 1:
        raise ValueError("must be a whole number of at least 1")
    return value


def _positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("must be a number") from None
    if value <= 0:
        raise ValueError("must be a number above 0")
    return value


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("must be true or false")


def _url(*schemes: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw == "":
            return raw
        if urlsplit(raw).scheme not in schemes:
            raise ValueError(
                f"must be a URL starting with {' or '.join(s + '://' for s in schemes)}"
            )
        return raw

    return parse


def _public_url(raw: str) -> str:
    """The URL clients reach the API by, with no trailing `/`: hrefs are this plus a path."""
    url = _url("http", "https")(raw.strip())
    parts = urlsplit(url)
    if url and not parts.netloc:
        raise ValueError("must name a host, as in https://orders.example.com")
    if parts.query or parts.fragment:
        raise ValueError("must have no query or fragment")
    return url.rstrip("/")


LOG_FORMATS = ("auto", "json", "console")


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    """A word from a fixed list, in any case."""

    def parse(raw: str) -> str:
        lowered = raw.strip().lower()
        if lowered not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return lowered

    return parse


def _redis_url(raw: str) -> str:
    """One server, or a Sentinel service whose address list is checked here, at start."""
    if is_sentinel(raw):
        parse_sentinel(raw)
        return raw
    return _url("redis", "rediss", "unix", SENTINEL_SCHEME)(raw)


LOG_LEVELS = ("debug", "info", "warning", "error")


STUB_MODES = ("normal", "fail", "slow", "refuse")


WORKER_JOBS = ("all", "orders", "events")


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    parse: Callable[[str], Any]
    doc: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        "",
        _url("postgres", "postgresql"),
        "PostgreSQL to use. Empty: `orderhub dev` starts an embedded server.",
    ),
    Setting(
        "REDIS_URL",
        "",
        _redis_url,
        "Redis to use, or a Redis Sentinel service (redis+sentinel://[:PASSWORD@]HOST:PORT"
        "[,HOST:PORT...]/SERVICE[/DB]). Empty: `orderhub dev` starts an embedded server.",
    ),
    Setting("HOST", "127.0.0.1", str, "Address the API listens on."),
    Setting("PORT", "8080", _port, "Port the API listens on."),
    Setting(
        "ORDERHUB_DATA_DIR",
        ".orderhub",
        str,
        "Folder for the embedded servers' data and logs (kept across restarts).",
    ),
    Setting(
        "ORDERHUB_PG_PORT", "54329", _port, "Port of the embedded PostgreSQL (0 picks a free one)."
    ),
    Setting(
        "ORDERHUB_REDIS_PORT", "63799", _port, "Port of the embedded Redis (0 picks a free one)."
    ),
    Setting("ORDERHUB_LOG_LEVEL", "info", _one_of(LOG_LEVELS), "Lowest log level written."),
    Setting(
        "ORDERHUB_LOG_FORMAT",
        "auto",
        _one_of(LOG_FORMATS),
        "How log lines look: json, console (aligned and coloured, for people), or auto "
        "(console when the process's stdout is a terminal, else json).",
    ),
    Setting(
        "ORDERHUB_API_PROCESSES",
        "1",
        _positive_int,
        "API processes `orderhub serve` runs on its one port (SO_REUSEPORT), each with its own "
        "event loop and pools; up to one per core.",
    ),
    Setting(
        "ORDERHUB_SHUTDOWN_SECONDS",
        "20",
        _positive_float,
        "On SIGTERM or SIGINT, how long an API process keeps answering the requests it has "
        "(it takes no new connection) and a worker lets its running jobs finish before handing "
        "the rest back to the queue; a supervisor waits this plus 10 s for its children.",
    ),
    Setting(
        "ORDERHUB_DB_POOL_SIZE",
        "10",
        _positive_int,
        "Most PostgreSQL connections one process holds.",
    ),
    Setting(
        "ORDERHUB_DB_TIMEOUT",
        "5",
        _positive_float,
        "Seconds to wait for a PostgreSQL connection before answering 503.",
    ),
    Setting(
        "ORDERHUB_AUTH_CACHE_SECONDS",
        "60",
        _positive_float,
        "How long a verified password is remembered in memory.",
    ),
    Setting(
        "ORDERHUB_AUTH_RECHECK_SECONDS",
        "0.5",
        _positive_float,
        "How stale a remembered user row may be before it is read again: a password or role "
        "change applies in every API process within this plus one query.",
    ),
    Setting(
        "ORDERHUB_MAX_BODY_BYTES",
        "1048576",
        _positive_int,
        "Largest request body accepted; a larger one is answered 413.",
    ),
    Setting(
        "ORDERHUB_ALLOW_SPEC_VERSION_UPDATE_IN_CHANGE_ORDER",
        "true",
        _bool,
        "A change order naming another specification version upgrades the service (true) "
        "or is refused with a version mismatch (false).",
    ),
    Setting(
        "ORDERHUB_SWEEP_AFTER_SECONDS",
        "10",
        _positive_float,
        "A queued entry not processed this long after its last enqueue is enqueued again, "
        "unless a job enqueued more than half this long ago has not started yet.",
    ),
    Setting(
        "ORDERHUB_PROCESSED_RETENTION_DAYS",
        "7",
        _positive_int,
        "Days a done inbound entry stays readable in the queue history "
        "(errors stay until retried), and a send given up on the console's Outbound page.",
    ),
    Setting(
        "ORDERHUB_QUEUE_NAME",
        "orderhub:queue",
        str,
        "Redis key of the job queue (lets several installations share one Redis).",
    ),
    Setting(
        "ORDERHUB_WORKER_JOBS",
        "all",
        _one_of(WORKER_JOBS),
        "What `orderhub worker` does: all (order work and event delivery, on the job queue), "
        "orders (order work only) or events (event delivery only, on a queue of its own, the "
        "job queue's key with :events). Run either all workers, or orders and events workers "
        "side by side, so that deliveries never take order intake's CPU (docs/operations.md).",
    ),
    Setting(
        "ORDERHUB_STATEMENT_TIMEOUT_SECONDS",
        "30",
        _positive_float,
        "Longest an API statement may run in PostgreSQL (statement_timeout); then 503.",
    ),
    Setting(
        "ORDERHUB_LOCK_TIMEOUT_SECONDS",
        "5",
        _positive_float,
        "Longest an API statement waits for a lock another transaction holds (lock_timeout); "
        "then 409 with Retry-After.",
    ),
    Setting(
        "ORDERHUB_BODY_TIMEOUT_SECONDS",
        "10",
        _positive_float,
        "Longest the API waits for a whole request body; then 408 and the connection closes.",
    ),
    Setting(
        "ORDERHUB_KEEPALIVE_TIMEOUT_SECONDS",
        "75",
        _positive_float,
        "How long the API keeps an idle keep-alive connection open.",
    ),
    Setting(
        "ORDERHUB_TRUSTED_PROXY",
        "false",
        _bool,
        "The API runs behind a reverse proxy that appends the client's address to "
        "X-Forwarded-For: its last entry is then the client address sign-ins are throttled "
        "and logged by (else the connection's peer address).",
    ),
    Setting(
        "ORDERHUB_PUBLIC_URL",
        "",
        _public_url,
        "Scheme, host and any path prefix clients reach the API by: the standard flavour's "
        "`href`s are this plus the resource's path. Empty: the request's own scheme and host "
        "(X-Forwarded-Proto and X-Forwarded-Host when ORDERHUB_TRUSTED_PROXY is on).",
    ),
    Setting(
        "ORDERHUB_SIGNIN_FAILURES",
        "5",
        _positive_int,
        "Failed sign-ins for one user name or from one address before further attempts wait "
        "(429 with Retry-After).",
    ),
    Setting(
        "ORDERHUB_SIGNIN_WINDOW_SECONDS",
        "300",
        _positive_float,
        "How long failed sign-ins are remembered after the last one (and its wait) ends.",
    ),
    Setting(
        "ORDERHUB_SIGNIN_MAX_DELAY_SECONDS",
        "300",
        _positive_float,
        "Longest wait a throttled sign-in is given; the wait doubles per failure up to it.",
    ),
    Setting(
        "ORDERHUB_CONSOLE_SESSION_SECONDS",
        "28800",
        _positive_float,
        "How long a console sign-in lasts at most, however busy (8 hours by default).",
    ),
    Setting(
        "ORDERHUB_CONSOLE_IDLE_SECONDS",
        "1800",
        _positive_float,
        "A console session not used for this long ends (30 minutes by default).",
    ),
    Setting(
        "ORDERHUB_WORKER_METRICS_PORT",
        "0",
        _port,
        "Port a worker serves its Prometheus metrics on (GET /metrics); 0: none. Several "
        "workers on one host each need their own.",
    ),
    Setting(
        "ORDERHUB_WORKER_METRICS_HOST",
        "127.0.0.1",
        str,
        "Address a worker's metrics port listens on.",
    ),
    Setting(
        "STUB_HOST", "127.0.0.1", str, "Address the SOM/TOM stub (`orderhub stub`) listens on."
    ),
    Setting("STUB_PORT", "8090", _port, "Port the SOM/TOM stub listens on."),
    Setting(
        "SOM_URL",
        "http://127.0.0.1:8090/som/serviceOrder",
        _url("http", "https"),
        "Where outbound requests for SOM are POSTed.",
    ),
    Setting("SOM_USER", "stub", str, "HTTP Basic user for SOM."),
    Setting("SOM_PASSWORD", "stub", str, "HTTP Basic password for SOM."),
    Setting(
        "TOM_URL",
        "http://127.0.0.1:8090/tom/serviceOrder",
        _url("http", "https"),
        "Where outbound requests for TOM are POSTed.",
    ),
    Setting("TOM_USER", "stub", str, "HTTP Basic user for TOM."),
    Setting("TOM_PASSWORD", "stub", str, "HTTP Basic password for TOM."),
    Setting(
        "OUTBOUND_AUTO",
        "false",
        _bool,
        "Initiate the outbound request as soon as an order is created (else an agent does).",
    ),
    Setting(
        "ORDERHUB_OUTBOUND_GIVE_UP_SECONDS",
        "21600",
        _positive_float,
        "How long after its first attempt a send that SOM/TOM did not refuse (no answer, "
        "timeout, 408, 429, 5xx) is retried before it is given up (records deleted, work "
        "note); 6 hours by default.",
    ),
    Setting(
        "ORDERHUB_OUTBOUND_BACKOFF_CAP_SECONDS",
        "300",
        _positive_float,
        "Longest wait between two attempts of a send; the wait doubles from half a second "
        "up to it.",
    ),
    Setting(
        "ORDERHUB_OUTBOUND_TIMEOUT_SECONDS",
        "5",
        _positive_float,
        "How long one send to SOM/TOM may take.",
    ),
    Setting(
        "ORDERHUB_BREAKER_THRESHOLD",
        "3",
        _positive_int,
        "Consecutive failed sends to a system that open its circuit breaker.",
    ),
    Setting(
        "ORDERHUB_BREAKER_COOLDOWN_SECONDS",
        "5",
        _positive_float,
        "How long an open breaker parks sends before trying the system again.",
    ),
    Setting(
        "ORDERHUB_HUB_ALLOW_PRIVATE_CALLBACKS",
        "false",
        _bool,
        "Let hub subscriptions name callbacks on loopback, link-local or private addresses "
        "(tests and `orderhub dev` set it; leave it off where subscribers are outside).",
    ),
    Setting(
        "ORDERHUB_EVENT_GIVE_UP_SECONDS",
        "86400",
        _positive_float,
        "How long after its first attempt an event delivery that failed (no answer, timeout, "
        "408, 429, 5xx) is retried before it is parked as dead; a subscriber failing for this "
        "whole time is suspended. 24 hours by default.",
    ),
    Setting(
        "ORDERHUB_EVENT_BACKOFF_CAP_SECONDS",
        "300",
        _positive_float,
        "Longest wait between two attempts of an event delivery; the wait doubles from half a "
        "second up to it, with jitter.",
    ),
    Setting(
        "ORDERHUB_EVENT_TIMEOUT_SECONDS",
        "5",
        _positive_float,
        "How long one event POST to a subscriber may take.",
    ),
    Setting(
        "ORDERHUB_EVENT_SUBSCRIBER_CONCURRENCY",
        "8",
        _positive_int,
        "Event POSTs one worker process has in flight to one subscriber at most; its other "
        "deliveries wait their turn, so a slow subscriber holds few of the worker's jobs.",
    ),
    Setting(
        "ORDERHUB_EVENT_JEOPARDY_AFTER_SECONDS",
        "600",
        _positive_float,
        "A send to SOM/TOM still failing this long after its first attempt raises a "
        "ServiceOrderJeopardyEvent (once per send; a send given up raises one too).",
    ),
    Setting("STUB_USER", "stub", str, "User the stub expects in orders' HTTP Basic auth."),
    Setting("STUB_PASSWORD", "stub", str, "Password the stub expects in orders' HTTP Basic auth."),
    Setting(
        "STUB_CALLBACK_URL",
        "http://127.0.0.1:8080",
        _url("http", "https"),
        "OrderHub API the stub calls back on outboundresponse. Empty: no callbacks.",
    ),
    Setting("STUB_CALLBACK_USER", "stub-callback", str, "User the stub calls OrderHub back as."),
    Setting(
        "STUB_CALLBACK_PASSWORD",
        "stub-callback",
        str,
        "Password the stub calls OrderHub back with.",
    ),
    Setting(
        "STUB_CALLBACK_DELAY_SECONDS",
        "1.0",
        _positive_float,
        "Seconds from an accepted order to its `pending` callback, and on to the final one.",
    ),
    Setting(
        "STUB_ERROR_SPECIFICATIONS",
        "",
        str,
        "Comma-separated service specification ids or names whose items the stub ends in "
        "`error` rather than `fulfilled`.",
    ),
    Setting(
        "STUB_MODE",
        "normal",
        _one_of(STUB_MODES),
        "How the stub answers orders: normal, fail (500), slow (waits), refuse (400).",
    ),
    Setting("STUB_SLOW_SECONDS", "10", _positive_float, "How long the stub waits in mode slow."),
)


# Settings no longer read, with what replaced them: naming one is not an error, so that an
# upgrade does not stop a process, but `deprecations` says it has no effect.
RETIRED: dict[str, str] = {
    "ORDERHUB_OUTBOUND_MAX_ATTEMPTS": "sends are given up by time since their first attempt, "
    "not by a count: set ORDERHUB_OUTBOUND_GIVE_UP_SECONDS instead",
}


def deprecations(environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per retired setting found in the environment."""
    env = os.environ if environ is None else environ
    return [
        f"setting {name} is no longer read and has no effect: {why}"
        for name, why in RETIRED.items()
        if name in env
    ]


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str
    host: str
    port: int
    orderhub_data_dir: str
    orderhub_pg_port: int
    orderhub_redis_port: int
    orderhub_log_level: str
    orderhub_log_format: str
    orderhub_api_processes: int
    orderhub_shutdown_seconds: float
    orderhub_db_pool_size: int
    orderhub_db_timeout: float
    orderhub_auth_cache_seconds: float
    orderhub_auth_recheck_seconds: float
    orderhub_max_body_bytes: int
    orderhub_allow_spec_version_update_in_change_order: bool
    orderhub_sweep_after_seconds: float
    orderhub_processed_retention_days: int
    orderhub_queue_name: str
    orderhub_worker_jobs: str
    orderhub_statement_timeout_seconds: float
    orderhub_lock_timeout_seconds: float
    orderhub_body_timeout_seconds: float
    orderhub_keepalive_timeout_seconds: float
    orderhub_trusted_proxy: bool
    orderhub_public_url: str
    orderhub_signin_failures: int
    orderhub_signin_window_seconds: float
    orderhub_signin_max_delay_seconds: float
    orderhub_console_session_seconds: float
    orderhub_console_idle_seconds: float
    orderhub_worker_metrics_port: int
    orderhub_worker_metrics_host: str
    stub_host: str
    stub_port: int
    stub_user: str
    stub_password: str
    stub_callback_url: str
    stub_callback_user: str
    stub_callback_password: str
    stub_callback_delay_seconds: float
    stub_error_specifications: str
    stub_mode: str
    stub_slow_seconds: float
    som_url: str
    som_user: str
    som_password: str
    tom_url: str
    tom_user: str
    tom_password: str
    outbound_auto: bool
    orderhub_outbound_give_up_seconds: float
    orderhub_outbound_backoff_cap_seconds: float
    orderhub_outbound_timeout_seconds: float
    orderhub_breaker_threshold: int
    orderhub_breaker_cooldown_seconds: float
    orderhub_hub_allow_private_callbacks: bool
    orderhub_event_give_up_seconds: float
    orderhub_event_backoff_cap_seconds: float
    orderhub_event_timeout_seconds: float
    orderhub_event_subscriber_concurrency: int
    orderhub_event_jeopardy_after_seconds: float

    @property
    def data_dir(self) -> Path:
        return Path(self.orderhub_data_dir).resolve()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = env.get(setting.env, setting.default)
            try:
                values[setting.env.lower()] = setting.parse(raw)
            except ValueError as exc:
                raise SettingsError(f"setting {setting.env}={raw!r} is invalid: {exc}") from None
        return cls(**values)

    def target(self, system: str) -> tuple[str, str, str]:
        """(url, user, password) of SOM or TOM."""
        prefix = system.lower()
        return (
            getattr(self, f"{prefix}_url"),
            getattr(self, f"{prefix}_user"),
            getattr(self, f"{prefix}_password"),
        )

    def require_servers(self) -> None:
        """Processes other than `orderhub dev` need both servers named explicitly."""
        for name in ("DATABASE_URL", "REDIS_URL"):
            if not getattr(self, name.lower()):
                raise SettingsError(f"setting {name} is required (or run `orderhub dev`)")


assert {f.name for f in fields(Settings)} == {s.env.lower() for s in SETTINGS}
