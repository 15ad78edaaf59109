"""The inbound queue's rules: which entries must take effect in arrival order, and how an
entry reads to operators."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.domain.claims import Claim, in_flight_error, replay_or_refuse
from app.domain.dates import format_date
from app.domain.errors import ApiError


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


@dataclass
class NewEntry:
    """One POST ?mode=async, as the front end accepted it."""

    id: str
    payload: dict[str, Any]
    user: str
    request_id: str | None
    refs: list[str]
    claims: list[Claim]
    answer: tuple[int, dict[str, Any]]  # recorded with the claims, for a retry to replay
    traceparent: str | None = None  # the accepting request's span, for the worker to continue


@dataclass(frozen=True)
class Queued:
    """A new entry, stored: its order will have the entry's id."""

    order_id: str


@dataclass(frozen=True)
class Replay:
    """A client retry: the first answer, as recorded with its claim."""

    status: int
    body: Any


Outcome = Queued | Replay | ApiError


def first_claimants(entries: list[NewEntry]) -> tuple[list[NewEntry], list[str]]:
    """The entries of a batch to store, and every claim key of the batch: an entry sharing
    a key with an earlier one of the same batch is in flight behind it, not stored."""
    seen: set[str] = set()
    candidates = []
    for entry in entries:
        entry_keys = {c.key for c in entry.claims}
        if not entry_keys & seen:
            candidates.append(entry)
        seen |= entry_keys
    return candidates, list(seen)


def accept_outcomes(
    entries: list[NewEntry], busy: set[str], found: dict[str, dict[str, Any]]
) -> list[Outcome]:
    """What each entry of a batch gets, given the keys held elsewhere and the live claims."""
    seen: set[str] = set()
    outcomes: list[Outcome] = []
    for entry in entries:
        outcomes.append(_prior_outcome(entry, busy, found, seen) or Queued(entry.id))
        seen.update(c.key for c in entry.claims)
    return outcomes


def _prior_outcome(
    entry: NewEntry, busy: set[str], found: dict[str, dict[str, Any]], seen: set[str]
) -> Outcome | None:
    for claim in entry.claims:
        if claim.key in busy or claim.key in seen:
            return in_flight_error()
        prior = found.get(claim.key)
        if prior is not None:
            try:
                replay_or_refuse(claim, prior["body_hash"])
            except ApiError as exc:
                return exc
            return Replay(prior["status"], prior["response"])
    return None
