"""Client retries: an identical body with the same externalId, or a repeated Idempotency-Key,
replays the first answer instead of creating a second order
(docs/contract.md#retries-and-duplicates).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from app.domain import jsontext
from app.domain.errors import ApiError, ErrorKind

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
