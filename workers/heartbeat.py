"""Each worker says it is alive every few seconds, so operators can count live workers."""

from __future__ import annotations

import os
import socket
from typing import Any

HEARTBEAT_TTL_SECONDS = 30


def heartbeat_key(queue_name: str) -> str:
    return f"{queue_name}:worker:{socket.gethostname()}:{os.getpid()}"


def heartbeat_pattern(queue_name: str) -> str:
    return f"{queue_name}:worker:*"


async def heartbeat(ctx: dict[str, Any]) -> None:
    await ctx["redis"].set(heartbeat_key(ctx["queue_name"]), "1", ex=HEARTBEAT_TTL_SECONDS)
