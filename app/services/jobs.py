"""Job names and the JSON job format shared by the API (which enqueues) and the workers.

Payloads are JSON, never pickle: a job must not be able to carry executable data.
"""

from __future__ import annotations

import json
from typing import Any

from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool

PROCESS_INBOUND = "process_inbound"
SEND_OUTBOUND = "send_outbound"
BATCH_SIZE = 100


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


def connect(url: str, queue_name: str) -> ArqRedis:
    """A client that does not connect until first used, so a process starts while Redis is down."""
    pool = ConnectionPool.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    return ArqRedis(
        connection_pool=pool,
        job_serializer=serialize,
        job_deserializer=deserialize,
        default_queue_name=queue_name,
    )


async def enqueue_sends(redis: ArqRedis, request_ids: list[str]) -> None:
    """After the commit that wrote the records; a lost trigger is the sweeper's to find."""
    for request_id in request_ids:
        await redis.enqueue_job(SEND_OUTBOUND, request_id, _job_id=send_job_id(request_id))
