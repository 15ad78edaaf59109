"""Calling OrderHub back: outboundresponse `pending`, then `fulfilled` or `error` per item."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from app import logs
from app.stub.records import Received, now
from app.stub.tracing import callback_traceparent

OUTBOUND_RESPONSE_PATH = "/api/sn_tmf_api/order/serviceOrder/outboundresponse"
FIRST_BACKOFF_SECONDS = 0.2
MAX_BACKOFF_SECONDS = 2.0


def specification_names(item: dict[str, Any]) -> set[str]:
    service = item.get("service")
    spec = service.get("serviceSpecification") if isinstance(service, dict) else None
    if not isinstance(spec, dict):
        return set()
    return {str(spec[key]) for key in ("id", "name") if spec.get(key)}


def final_states(order: dict[str, Any], error_specifications: frozenset[str]) -> dict[str, str]:
    return {
        item["id"]: "error" if specification_names(item) & error_specifications else "fulfilled"
        for item in order["serviceOrderItem"]
    }


class Caller:
    """Posts outboundresponse callbacks with bounded retries on connection errors and 5xx."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, authorization: str):
        self._session = session
        self._url = base_url.rstrip("/") + OUTBOUND_RESPONSE_PATH if base_url else ""
        self._headers = {"Authorization": authorization}

    async def fulfil(
        self,
        record: Received,
        delay: float,
        error_specifications: frozenset[str],
        attempts: int,
    ) -> None:
        """The whole sequence for one accepted order: pending, then the final states; each
        callback tried up to `attempts` times."""
        if not self._url:
            return
        await asyncio.sleep(delay)
        item_ids = [item["id"] for item in record.order["serviceOrderItem"]]
        await self._send(record, dict.fromkeys(item_ids, "pending"), attempts)
        await asyncio.sleep(delay)
        await self._send(record, final_states(record.order, error_specifications), attempts)

    async def _send(self, record: Received, states: dict[str, str], attempts: int) -> None:
        body = {
            "externalId": record.external_id,
            "serviceOrderItem": [{"id": i, "state": s} for i, s in states.items()],
        }
        summary = "error" if "error" in states.values() else next(iter(states.values()))
        log = logs.get().bind(
            system=record.system,
            external_id=record.external_id,
            state=summary,
            trace_id=record.trace[0] if record.trace else None,
        )
        headers = {**self._headers, **callback_traceparent(record.trace)}
        status: int | None = None
        for attempt in range(1, attempts + 1):
            try:
                async with self._session.post(self._url, json=body, headers=headers) as resp:
                    status = resp.status
                    await resp.read()
                log.info("stub_callback", attempt=attempt, status=status)
                if status < 500:
                    break
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                status = None
                log.warning("stub_callback", attempt=attempt, error=type(exc).__name__)
            if attempt == attempts:
                log.error("stub_callback_gave_up", attempts=attempt, status=status)
                break
            backoff = FIRST_BACKOFF_SECONDS * 2 ** (attempt - 1)
            await asyncio.sleep(min(backoff, MAX_BACKOFF_SECONDS))
        record.callbacks.append(
            {"state": summary, "status": status, "at": now(), "attempts": attempt, "body": body}
        )
