"""What an agent or operator does from the console: the same operations the API runs, each
recorded in operator_action (who, when, what) in the transaction that does it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.domain.errors import ApiError
from app.services import outbound as outbound_service
from app.services.inbound import retry_entry
from app.services.outbound import Initiated
from app.store import operator_actions
from app.store.db import Connection


async def initiate_outbound(conn: Connection, order_id: str, *, actor: str) -> Initiated:
    """ "Create Outbound Fulfillment Request" (or "Revise Outbound Request"): the API's own
    operation; ApiError with the rule's message when a rule refuses, nothing written then."""
    async with conn.transaction():
        initiated = await outbound_service.initiate(conn, order_id, user=actor)
        revising = any(r["previous_request_id"] for r in initiated.records)
        await operator_actions.record(
            conn,
            order_id,
            "revise_outbound" if revising else "initiate_outbound",
            actor,
            {
                "numbers": [r["number"] for r in initiated.records],
                "requestIds": initiated.request_ids,
            },
        )
    return initiated


@dataclass(frozen=True)
class Retried:
    queue_id: str
    refusal: str | None = None  # the rule's message when this entry could not be retried


async def retry_entries(
    conn: Connection, queue_ids: list[str], *, actor: str, payload: dict[str, Any] | None = None
) -> list[Retried]:
    """Each entry back in the queue (with `payload` instead of its own, when given), in a
    transaction of its own: one entry that can't be retried (no longer in error) does not
    hold back the others."""
    outcomes = []
    for queue_id in queue_ids:
        try:
            async with conn.transaction():
                await retry_entry(conn, queue_id, payload, enqueue_now=True)
                await operator_actions.record(
                    conn,
                    queue_id,
                    "retry_edited" if payload is not None else "retry",
                    actor,
                    {} if payload is None else {"payload": payload},
                )
        except ApiError as exc:
            outcomes.append(Retried(queue_id, exc.detail))
            continue
        outcomes.append(Retried(queue_id))
    return outcomes
