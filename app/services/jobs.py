"""Job names and the JSON job format shared by the API (which enqueues) and the workers.

Payloads are JSON, never pickle: a job must not be able to carry executable data.
"""

from __future__ import annotations

import json
from typing import Any

from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

from app.redis_address import is_sentinel, parse_sentinel

# A Redis (or sentinel) that stops answering fails the call rather than holding it.
_TIMEOUTS = {"socket_timeout": 2, "socket_connect_timeout": 2}

PROCESS_INBOUND = "process_inbound"
SEND_OUTBOUND = "send_outbound"
DELIVER_EVENTS = "deliver_events"
BATCH_SIZE = 100


def events_queue(queue_name: str) -> str:
    """The queue of event deliveries when workers are split by their jobs (ORDERHUB_WORKER_JOBS)."""
    return f"{queue_name}:events"


def send_job_id(request_id: str) -> str:
    return f"send:{request_id}"


def chunks(ids: list[str], size: int = BATCH_SIZE) -> list[list[str]]:
    """Job-sized batches; a job's id is its first entry's id."""
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def serialize(data: dict[str, Any]) -> bytes:
    return json.dumps(data, default=str).encode()


def deserialize(raw: bytes) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(raw)
    return loaded


def connection_pool(url: str) -> ConnectionPool:
    """On one server, or on whichever server a Sentinel service names as master: the
    sentinels are asked on each new connection, and again when the master stops being one."""
    if not is_sentinel(url):
        return ConnectionPool.from_url(url, **_TIMEOUTS)
    address = parse_sentinel(url)
    sentinels = Sentinel(list(address.sentinels), sentinel_kwargs=dict(_TIMEOUTS))  # type: ignore[no-untyped-call]
    return SentinelConnectionPool(  # type: ignore[no-untyped-call]
        address.service,
        sentinels,
        db=address.db,
        username=address.username,
        password=address.password,
        **_TIMEOUTS,
    )


def connect(url: str, queue_name: str) -> ArqRedis:
    """A client that does not connect until first used, so a process starts while Redis is down."""
    return ArqRedis(
        connection_pool=connection_pool(url),
        job_serializer=serialize,
        job_deserializer=deserialize,
        default_queue_name=queue_name,
    )


def client(url: str) -> Redis:
    """A plain client (no job methods) on the same kind of pool, for tools outside the app."""
    return Redis(connection_pool=connection_pool(url))


async def close(redis: Redis) -> None:
    """The client, its pool, and a Sentinel pool's own connections to the sentinels."""
    pool = redis.connection_pool
    await redis.aclose(close_connection_pool=True)
    if isinstance(pool, SentinelConnectionPool):
        for sentinel in pool.sentinel_manager.sentinels:
            await sentinel.aclose()


async def enqueue_sends(redis: ArqRedis, request_ids: list[str]) -> None:
    """After the commit that wrote the records; a lost trigger is the sweeper's to find."""
    for request_id in request_ids:
        await redis.enqueue_job(SEND_OUTBOUND, request_id, _job_id=send_job_id(request_id))
