"""Entries for the accept writer (app/services/inbound_accept.py), and putting them in its
waiting list as concurrent submits would."""

from __future__ import annotations

import asyncio
from typing import Any

from app.domain.claims import claims_for
from app.domain.ids import new_sys_id
from app.domain.inbound import NewEntry
from app.services.inbound_accept import AcceptWriter
from tests.helpers.payloads import async_example


def new_entry(refs: list[str], external_id: str | None = None) -> NewEntry:
    """The seed's async example as a new entry naming the inventories `refs`."""
    payload: dict[str, Any] = async_example()
    payload["externalId"] = external_id or new_sys_id()
    claims = claims_for(payload, user="integrator", idempotency_key=None)
    order_id = new_sys_id()
    answer = (202, {"orderId": order_id})
    return NewEntry(order_id, payload, "integrator", None, refs, claims, answer)


def put_waiting(writer: AcceptWriter, entries: list[NewEntry]) -> None:
    """Puts `entries` in the writer's waiting list, each with its caller's future."""
    loop = asyncio.get_running_loop()
    writer._pending.extend((e, loop.create_future()) for e in entries)
