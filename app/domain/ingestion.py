"""Async ingestion rules: retries of clients, ordering keys, queue status and back-off."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from typing import Any

from app.domain import jsontext
from app.domain import messages as m
from app.domain.dates import format_date
from app.domain.errors import ApiError, ErrorKind, error_body

CLAIM_HOURS = 24


def canonical_hash(payload: dict[str, Any]) -> str:
    """Equal for bodies that are the same JSON, whatever their key order or spacing."""
    text = jsontext.dumps_bytes(payload, sort_keys=True)
    if text is None:
        text = json.dumps(
            payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    return hashlib.sha256(text).hexdigest()


def claim_key(identity: str) -> str:
    """A claim's key: 16 bytes of the SHA-256 of its identity, written as a uuid.

    Identities run to 110 characters and more; a fixed 16-byte key keeps the claims' index,
    written once per async entry, small. schema.sql turns a key stored as its identity into
    this one the same way."""
    h = hashlib.sha256(identity.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"  # uuid.UUID() costs 3x more


@dataclass(frozen=True)
class Claim:
    key: str
    body_hash: str
    explicit: bool  # an Idempotency-Key, where another body is an error, not a new order


def claims_for(
    payload: dict[str, Any], *, user: str, idempotency_key: str | None, scope: str = ""
) -> list[Claim]:
    """An identical body with the same externalId, and an Idempotency-Key, each claim once.

    `scope` keeps apart APIs whose answers differ in shape (the standard flavour's "tmf"), so
    that a retry replays an answer of its own API."""
    body_hash = canonical_hash(payload)
    prefix = f"{scope}:" if scope else ""
    claims = []
    if idempotency_key:
        claims.append(
            Claim(claim_key(f"{prefix}key:{user}:{idempotency_key}"), body_hash, explicit=True)
        )
    external_id = payload.get("externalId")
    if isinstance(external_id, str) and external_id.strip():
        identity = f"{prefix}body:{external_id.strip()}:{body_hash}"
        claims.append(Claim(claim_key(identity), body_hash, explicit=False))
    return claims


def replay_or_refuse(claim: Claim, stored_hash: str) -> None:
    """Raises 422 when an Idempotency-Key comes back with another body; else it's a replay."""
    if claim.explicit and stored_hash != claim.body_hash:
        raise ApiError(
            ErrorKind.IDEMPOTENCY_MISMATCH,
            "Idempotency-Key was already used with another request body.",
            "/",
        )


def in_flight_error() -> ApiError:
    return ApiError(
        ErrorKind.IDEMPOTENCY_IN_FLIGHT,
        "A request with this Idempotency-Key or this body is still being processed; retry later.",
        "/",
    )


def inventory_refs(payload: dict[str, Any]) -> list[str]:
    """Product inventory ids an entry touches: entries sharing one take effect in arrival order."""
    refs: set[str] = set()
    for item in payload.get("serviceOrderItem") or []:
        if not isinstance(item, dict):
            continue
        service = item.get("service")
        if isinstance(service, dict) and isinstance(service.get("id"), str) and service["id"]:
            refs.add(service["id"].strip())
        for ext in item.get("externalProductInventory") or []:
            if isinstance(ext, dict) and isinstance(ext.get("externalProductInventoryId"), str):
                refs.add(ext["externalProductInventoryId"].strip())
    return sorted(r for r in refs if r)


def queued_status() -> dict[str, Any]:
    """GET of an order still in the inbound queue (seed L640-649), answered with 200."""
    return error_body(ErrorKind.IN_QUEUE, m.QUEUE_STILL_IN_QUEUE, datapath="")


def retry_delay(attempt: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential back-off with full jitter, so retrying workers don't stampede together."""
    return random.uniform(base, min(cap, base * 2 ** max(0, attempt - 1)))


QUEUE_STATES = ("queued", "done", "error")


def render_entry(row: dict[str, Any], *, with_payload: bool) -> dict[str, Any]:
    """An inbound entry as operators see it."""
    rendered: dict[str, Any] = {
        "id": row["id"],
        "state": row["state"],
        "receivedAt": format_date(row["received_at"]),
        "processedAt": format_date(row["processed_at"]) if row["processed_at"] else None,
        "attempts": row["attempts"],
        "createdBy": row["created_by"],
        "requestId": row["request_id"],
        "orderId": row["order_id"],
        "error": row["error"],
    }
    if with_payload:
        rendered["payload"] = row["payload"]
    return rendered
