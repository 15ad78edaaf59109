"""The Prometheus metrics of every process, in one place, and their exposition.

Names, types and labels are what dashboards and alert rules (deploy/alerts.yaml) depend on;
docs/operations.md describes each. Several API processes (`orderhub serve` with
ORDERHUB_API_PROCESSES > 1) each write their values to files in PROMETHEUS_MULTIPROC_DIR,
which the supervisor makes for them: whichever process answers a scrape sums them all.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client import multiprocess as _multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

# Each counter and histogram would also be a `_created` series: twice the series, of no use to
# the alert rules, and absent anyway when several API processes share their counts.
disable_created_metrics()  # type: ignore[no-untyped-call]

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
# The route label of a request that matched no route: never the raw path, which a client
# chooses and would make a series of its own each time.
UNMATCHED_ROUTE = "unmatched"
# The method label of a method HTTP does not define, for the same reason (OpenTelemetry's).
OTHER_METHOD = "_OTHER"
HTTP_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}
)

HTTP_REQUEST_DURATION = Histogram(
    "http_server_request_duration_seconds",
    "Duration of HTTP requests served by the API, from the first middleware to the answer.",
    ["http_request_method", "http_route", "http_response_status_code"],
    # OpenTelemetry's advice for http.server.request.duration.
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10),
)
INBOUND_BATCH_SIZE = Histogram(
    "orderhub_inbound_batch_size",
    "Entries per batch the async accept writer stores in one statement and commit.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
)
JOBS = Counter(
    "orderhub_jobs",
    "Worker jobs run, by function and outcome (success, retry, failure, cancelled).",
    ["function", "outcome"],
)
JOB_DURATION = Histogram(
    "orderhub_job_duration_seconds",
    "Duration of one run of a worker job, whatever its outcome.",
    ["function"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
OUTBOUND_SENDS = Counter(
    "orderhub_outbound_sends",
    "Outbound requests handled by a send job, by system and outcome "
    "(sent, retry, given_up, dropped).",
    ["system", "outcome"],
)
EVENT_DELIVERIES = Counter(
    "orderhub_event_deliveries",
    "Event POSTs to hub subscribers, by outcome (delivered, retry, dead, parked).",
    ["outcome"],
)
EVENT_DELIVERY_LATENCY = Histogram(
    "orderhub_event_delivery_latency_seconds",
    "From the commit of the change that raised an event to its subscriber's 2xx, per delivery.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
)
CALLBACKS = Counter(
    "orderhub_callbacks",
    "outboundresponse callbacks from SOM/TOM, by outcome (accepted, refused, failed).",
    ["outcome"],
)
# livesum: the pools of the processes alive, added up.
DB_POOL_CONNECTIONS = Gauge(
    "orderhub_db_pool_connections",
    "PostgreSQL connections of this process's pool, by state (in_use, idle).",
    ["state"],
    multiprocess_mode="livesum",
)
DB_POOL_WAITING = Gauge(
    "orderhub_db_pool_waiting",
    "Acquires of this process's PostgreSQL pool waiting for a connection.",
    multiprocess_mode="livesum",
)

# Read from PostgreSQL and Redis by the process answering the scrape (app/services/gauges.py),
# never written to the multiprocess files: every process would read the same values.
INBOUND_QUEUE_ENTRIES = "orderhub_inbound_queue_entries"
INBOUND_OLDEST_QUEUED_AGE = "orderhub_inbound_oldest_queued_age_seconds"
WORKERS_ALIVE = "orderhub_workers_alive"
EVENT_WORKERS_ALIVE = "orderhub_event_workers_alive"
EVENT_OLDEST_PENDING_AGE = "orderhub_event_oldest_pending_age_seconds"
# Read from the breakers of the worker process answering the scrape (workers/breakers.py).
BREAKER_STATE = "orderhub_breaker_state"
BREAKER_STATE_VALUES = {"closed": 0, "half_open": 1, "open": 2}


def gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def labelled_gauge(
    name: str, documentation: str, label: str, values: dict[str, float]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for label_value, value in values.items():
        family.add_metric([label_value], value)
    return family


class Families:
    """Metric families made at scrape time, exposed beside the registry's."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self._families


def sample_pool(pool: Any) -> None:
    """The pool's state now (app.store.db.BoundedPool counts its waiting acquires)."""
    size = pool.get_size()
    idle = pool.get_idle_size()
    DB_POOL_CONNECTIONS.labels("in_use").set(size - idle)
    DB_POOL_CONNECTIONS.labels("idle").set(idle)
    DB_POOL_WAITING.set(getattr(pool, "waiting", 0))


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_DIR_ENV) or None


def render(extra: Iterable[Collector] = ()) -> bytes:
    """The text exposition: this process's metrics (or every API process's, in multiprocess
    mode), then the families read at scrape time."""
    path = multiprocess_dir()
    if path is None:
        base: CollectorRegistry = REGISTRY
    else:
        base = CollectorRegistry()
        _multiprocess.MultiProcessCollector(base, path=path)  # type: ignore[no-untyped-call]
    extra_registry = CollectorRegistry(auto_describe=False)
    for collector in extra:
        extra_registry.register(collector)
    return generate_latest(base) + generate_latest(extra_registry)


def mark_process_dead(pid: int, path: str) -> None:
    """A process that exited no longer counts in the livesum gauges (the pools)."""
    _multiprocess.mark_process_dead(pid, path)  # type: ignore[no-untyped-call]
