"""The arq worker: functions, cron jobs, the inbound sweeper and the resources every job shares."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp
import structlog
from arq import cron, func
from arq.connections import RedisSettings
from arq.cron import CronJob
from arq.worker import Function, Worker

from app import logs
from app.redis_address import is_sentinel, parse_sentinel
from app.services import events
from app.services.jobs import (
    DELIVER_EVENTS,
    PROCESS_INBOUND,
    SEND_OUTBOUND,
    deserialize,
    events_queue,
    serialize,
)
from app.settings import Settings
from app.store import db
from workers import hub_http
from workers.events import DELIVER_MAX_TRIES, MAX_POSTS, deliver_events, keep_dispatching
from workers.heartbeat import farewell, heartbeat, keep_beating
from workers.inbound import keep_sweeping, process_inbound, sweep_inbound
from workers.maintenance import purge_claims
from workers.metrics import counted
from workers.metrics_endpoint import MetricsEndpoint
from workers.outbound import SEND_MAX_TRIES, send_outbound, sweep_outbound
from workers.periodic import skipped_while_unavailable
from workers.stopping import StoppingWorker

log = logs.get("orderhub.worker")
# How often an idle worker looks for jobs: arq's default, half a second, was added to the time
# from 202 to order for most orders; a Redis poll costs next to nothing.
POLL_DELAY_SECONDS = 0.05


def redis_settings(url: str) -> RedisSettings:
    """arq asks the sentinels for the master itself, and again after a failover."""
    if not is_sentinel(url):
        return RedisSettings.from_dsn(url)
    address = parse_sentinel(url)
    return RedisSettings(
        host=list(address.sentinels),
        sentinel=True,
        sentinel_master=address.service,
        database=address.db,
        username=address.username,
        password=address.password,
    )


def _functions(settings: Settings, *, orders: bool, delivers: bool) -> list[Function]:
    functions: list[Function] = []
    if orders:
        functions += [
            func(
                counted(process_inbound, PROCESS_INBOUND),
                name=PROCESS_INBOUND,
                max_tries=1000,
                timeout=30,
            ),
            func(
                counted(send_outbound, SEND_OUTBOUND),
                name=SEND_OUTBOUND,
                max_tries=SEND_MAX_TRIES,
                timeout=settings.orderhub_outbound_timeout_seconds + 10,
            ),
        ]
    if delivers:
        functions.append(
            func(
                counted(deliver_events, DELIVER_EVENTS),
                name=DELIVER_EVENTS,
                max_tries=DELIVER_MAX_TRIES,
                # The lane's budget, then one more POST and its bookkeeping.
                timeout=settings.orderhub_event_timeout_seconds + 20,
            )
        )
    return functions


def _cron_jobs(*, orders: bool) -> list[CronJob]:
    """The order side's sweeps and purges, in order workers (the heartbeat is each worker's own
    task: workers/heartbeat.py)."""
    cron_jobs: list[CronJob] = []
    if orders:
        cron_jobs += [
            cron(
                counted(skipped_while_unavailable(purge_claims)),
                minute={7, 37},
                second=0,
                run_at_startup=False,
            ),
            cron(
                counted(skipped_while_unavailable(sweep_outbound)),
                second=set(range(2, 60, 5)),
                run_at_startup=True,
                unique=False,
                timeout=20,
            ),
        ]
    return cron_jobs


def create_worker(
    settings: Settings,
    *,
    burst: bool = False,
    handle_signals: bool = True,
    jobs: str | None = None,
) -> Worker:
    """Built from settings at run time rather than a module-level class, so env is read once.

    `jobs` (else ORDERHUB_WORKER_JOBS): "orders" does order work, "events" delivers events
    from a queue of its own, "all" both from the job queue. Split, deliveries run in processes
    the host can give a CPU share of their own, apart from order intake's. `handle_signals`
    false leaves SIGINT and SIGTERM to the process: a worker run inside another program's
    event loop (the tests') must not keep its handlers there after it."""
    jobs = jobs or settings.orderhub_worker_jobs
    orders, delivers = jobs in ("all", "orders"), jobs in ("all", "events")
    queue_name = (
        events_queue(settings.orderhub_queue_name)
        if jobs == "events"
        else settings.orderhub_queue_name
    )

    async def on_startup(ctx: dict[str, Any]) -> None:
        ctx["settings"] = settings
        events.configure(settings)
        # The job queue's key, under which every worker reports itself whatever its jobs.
        ctx["queue_name"] = settings.orderhub_queue_name
        ctx["pool"] = await db.create_pool(
            settings.database_url,
            max_size=settings.orderhub_db_pool_size,
            connect_timeout=settings.orderhub_db_timeout,
        )
        ctx["http"] = aiohttp.ClientSession()
        ctx["hub_http"] = hub_http.session(
            allow_private=settings.orderhub_hub_allow_private_callbacks
        )
        if settings.orderhub_worker_metrics_port:
            endpoint = MetricsEndpoint(
                settings.orderhub_worker_metrics_host,
                settings.orderhub_worker_metrics_port,
                ctx["pool"],
            )
            url = await endpoint.start()
            ctx["metrics_endpoint"] = endpoint
            log.info("worker_metrics_listening", url=url)
        ctx["delivers"] = delivers
        await heartbeat(ctx)
        ctx["heartbeat"] = asyncio.create_task(keep_beating(ctx))
        if burst and orders:
            # A burst worker stops once the queue is empty: entries whose trigger was lost are
            # handed back before it first looks.
            await skipped_while_unavailable(sweep_inbound)(ctx)
        elif orders:
            ctx["inbound_sweeper"] = asyncio.create_task(keep_sweeping(ctx))
        if delivers and not burst:
            # Not in a burst worker: one delivery retried later would keep it from stopping;
            # the long-running workers deliver what it raised.
            ctx["event_dispatcher"] = asyncio.create_task(keep_dispatching(ctx))
        ctx["event_posts"] = asyncio.Semaphore(MAX_POSTS)
        log.info("worker_started", queue=queue_name, jobs=jobs)

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        for task in ("heartbeat", "inbound_sweeper", "event_dispatcher"):
            if task in ctx:
                ctx[task].cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ctx[task]
        if "pool" in ctx:
            await ctx["pool"].close()
        for session in ("http", "hub_http"):
            if session in ctx:
                await ctx[session].close()
        if "metrics_endpoint" in ctx:
            await ctx["metrics_endpoint"].stop()
        await farewell(ctx)
        log.info("worker_stopped")

    async def on_job_start(ctx: dict[str, Any]) -> None:
        structlog.contextvars.bind_contextvars(job_id=ctx.get("job_id"))

    async def on_job_end(ctx: dict[str, Any]) -> None:
        structlog.contextvars.unbind_contextvars("job_id")

    return StoppingWorker(
        functions=_functions(settings, orders=orders, delivers=delivers),
        cron_jobs=_cron_jobs(orders=orders),
        keep_result=0,
        redis_settings=redis_settings(settings.redis_url),
        queue_name=queue_name,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        on_job_start=on_job_start,
        on_job_end=on_job_end,
        job_serializer=serialize,
        job_deserializer=deserialize,
        job_timeout=30,
        max_jobs=50,
        poll_delay=POLL_DELAY_SECONDS,
        burst=burst,
        handle_signals=handle_signals,
        shutdown_seconds=settings.orderhub_shutdown_seconds,
    )
