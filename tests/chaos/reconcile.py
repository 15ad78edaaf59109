"""Every accepted order against the database and the stub's record, once the stream has stopped.

Final states, by kind of order:
- add (Managed Firewall v1, sent to SOM): the entry `done`, the order `completed`, each of its
  outbound records `fulfilled`;
- error (an add the stub fulfils with `error`): the entry `done`, the order `error`, its
  records `error`;
- change (on one of two shared product inventories): the entry `done`, the order `completed`,
  its records `fulfilled`.

Lost: an accepted order that is missing, still queued, failed, not in its final state, or whose
outbound request was given up or never reached the stub. Duplicated: an externalId with more than
one order or processed entry, or a domain order the stub accepted under more than one Request ID.
The stub's repeats (a Request ID it had already accepted, sent again after a timeout or a worker
killed between its send and its commit) are dropped by Request ID, as designed: they are counted
and shown, not failures. Arrival order: per inventory, change orders take effect (the
transaction that creates them commits) in the order their entries were stored, and an order
whose 202 came before another was sent is stored first.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from tests.chaos.traffic import Sent

FINAL = {
    "add": ("completed", "fulfilled"),
    "error": ("error", "error"),
    "change": ("completed", "fulfilled"),
}


@dataclass
class Facts:
    """What the database and the stub hold about the stream's orders."""

    queued: dict[str, dict[str, Any]]
    processed: dict[str, dict[str, Any]]
    orders: dict[str, dict[str, Any]]
    orders_per_external: Counter[str]
    entries_per_external: Counter[str]  # queued and processed
    records: dict[str, list[dict[str, Any]]]  # by order id
    failures: dict[str, list[dict[str, Any]]]  # by order id
    stub: list[dict[str, Any]]


async def gather_facts(database_url: str, prefix: str) -> Facts:
    """The database's side; the stub's record is added afterwards."""
    conn = await asyncpg.connect(database_url)
    try:
        like = f"{prefix}-%"
        queued = await conn.fetch(
            "SELECT id, seq, received_at, attempts, payload->>'externalId' AS external_id"
            " FROM inbound_queue"
            " WHERE payload->>'externalId' LIKE $1",
            like,
        )
        processed = await conn.fetch(
            "SELECT id, state, error::text AS error, order_id, received_at, processed_at,"
            " xmin::text AS txid, attempts, payload->>'externalId' AS external_id"
            " FROM inbound_processed WHERE payload->>'externalId' LIKE $1",
            like,
        )
        orders = await conn.fetch(
            "SELECT sys_id, external_id, state, updated_at FROM service_order"
            " WHERE external_id LIKE $1",
            like,
        )
        order_ids = [r["sys_id"] for r in orders]
        records = await conn.fetch(
            "SELECT number, request_id, state, source_record, domain_order, attempts, target"
            " FROM outbound_request WHERE source_record = ANY($1::text[])",
            order_ids,
        )
        failures = await conn.fetch(
            "SELECT request_id, order_id, given_up, attempts, last_error FROM outbound_failure"
            " WHERE order_id = ANY($1::text[])",
            order_ids,
        )
    finally:
        await conn.close()
    by_order: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_order[r["source_record"]].append(dict(r))
    failed: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in failures:
        failed[r["order_id"]].append(dict(r))
    return Facts(
        queued={r["id"]: dict(r) for r in queued},
        processed={r["id"]: dict(r) for r in processed},
        orders={r["sys_id"]: dict(r) for r in orders},
        orders_per_external=Counter(r["external_id"] for r in orders),
        entries_per_external=Counter(r["external_id"] for r in [*queued, *processed]),
        records=by_order,
        failures=failed,
        stub=[],
    )


@dataclass
class Outcome:
    """The reconciliation of one scenario's orders."""

    sent: int = 0
    accepted: int = 0
    lost: list[str] = field(default_factory=list)  # order id: cause
    duplicated: list[str] = field(default_factory=list)
    unconfirmed: int = 0  # stored although no 202 arrived (the answer was lost)
    out_of_order: list[str] = field(default_factory=list)
    repeats: int = 0  # sends the stub had already accepted, dropped by Request ID
    failed_sends: int = 0  # sends the stub answered 500 (then retried)


@dataclass
class StubView:
    accepted: dict[str, dict[str, Any]]  # Request ID -> the stub's accepted entry
    failed: Counter[str]  # Request ID -> sends answered 5xx
    accepted_twice: list[str]
    per_domain_order: dict[str, set[str]]  # domain order -> Request IDs the stub accepted


def stub_view(entries: list[dict[str, Any]]) -> StubView:
    accepted: dict[str, dict[str, Any]] = {}
    twice: list[str] = []
    failed: Counter[str] = Counter()
    per_domain: dict[str, set[str]] = defaultdict(set)
    for entry in entries:
        request_id = entry["externalId"]
        if entry["answer"] == 201:
            if request_id in accepted:
                twice.append(request_id)
            accepted[request_id] = entry
            for item in entry["order"]["serviceOrderItem"]:
                per_domain[item["id"]].add(request_id)
        else:
            failed[request_id] += 1
    return StubView(accepted, failed, twice, per_domain)


def _lost_cause(sent: Sent, facts: Facts, stub: StubView) -> str | None:
    """Why an accepted order is not in its final state; None when it is."""
    order_id = sent.order_id
    assert order_id is not None
    if order_id in facts.queued:
        return "still queued"
    entry = facts.processed.get(order_id)
    if entry is None:
        return "no inbound entry and no order: the accepted entry is gone"
    if entry["state"] != "done":
        return f"entry {entry['state']}: {entry['error']}"
    order = facts.orders.get(order_id)
    if order is None:
        return "entry done but no order"
    want_order, want_records = FINAL[sent.kind]
    records = facts.records.get(order_id, [])
    given_up = [f for f in facts.failures.get(order_id, []) if f["given_up"]]
    if given_up:
        reached = [f["request_id"] for f in given_up if f["request_id"] in stub.accepted]
        return (
            f"outbound given up after {given_up[0]['attempts']} attempt(s): "
            f"{given_up[0]['last_error'][:80]}"
            + (f" (yet the stub accepted {len(reached)} of them)" if reached else "")
        )
    if not records:
        return f"order {order['state']} with no outbound request"
    for record in records:
        if record["state"] != "not_applicable" and record["request_id"] not in stub.accepted:
            return f"record {record['number']} {record['state']} but the stub never accepted it"
    if order["state"] != want_order:
        states = Counter(r["state"] for r in records)
        return f"order {order['state']}, records {dict(states)}"
    if any(r["state"] != want_records for r in records):
        states = Counter(r["state"] for r in records)
        return f"order {order['state']} but records {dict(states)}"
    return None


def _order_breaks(sent: list[Sent], facts: Facts) -> dict[int, str]:
    """Change orders taking effect out of arrival order, by the later order's number."""
    breaks: dict[int, str] = {}
    chains: dict[str, list[tuple[Sent, dict[str, Any]]]] = defaultdict(list)
    for s in sent:
        if s.kind == "change" and s.order_id and s.order_id in facts.processed:
            assert s.inventory is not None
            chains[s.inventory].append((s, facts.processed[s.order_id]))
    for chain in chains.values():
        chain.sort(key=lambda pair: (pair[1]["received_at"], pair[1]["id"]))
        for (a, ra), (b, rb) in itertools.combinations(chain, 2):
            if ra["txid"] != rb["txid"] and ra["received_at"] < rb["received_at"]:
                if not ra["processed_at"] < rb["processed_at"]:
                    breaks[b.number] = f"{b.order_id} took effect before {a.order_id}"
        by_number = sorted(chain, key=lambda pair: pair[0].number)
        for (a, ra), (b, rb) in itertools.permutations(by_number, 2):
            if a.accepted_at is not None and a.accepted_at < b.first_sent:
                if not ra["received_at"] < rb["received_at"]:
                    breaks[b.number] = (
                        f"{b.order_id} stored before {a.order_id}, sent after its 202"
                    )
    return breaks


def reconcile(sent: list[Sent], facts: Facts) -> dict[str, Outcome]:
    stub = stub_view(facts.stub)
    breaks = _order_breaks(sent, facts)
    outcomes: dict[str, Outcome] = defaultdict(Outcome)
    for s in sent:
        outcome = outcomes[s.scenario]
        outcome.sent += 1
        duplicated = (
            facts.orders_per_external[s.external_id] > 1
            or facts.entries_per_external[s.external_id] > 1
        )
        if duplicated:
            outcome.duplicated.append(
                f"{s.external_id}: {facts.orders_per_external[s.external_id]} orders, "
                f"{facts.entries_per_external[s.external_id]} inbound entries"
            )
        if s.order_id is None:
            if facts.entries_per_external[s.external_id]:
                outcome.unconfirmed += 1
            continue
        outcome.accepted += 1
        cause = _lost_cause(s, facts, stub)
        if cause is not None:
            outcome.lost.append(f"{s.order_id} ({s.kind}): {cause}")
        for record in facts.records.get(s.order_id, []):
            accepted_under = stub.per_domain_order.get(record["domain_order"], set())
            if len(accepted_under) > 1:
                outcome.duplicated.append(
                    f"{s.order_id}: domain order {record['domain_order']} accepted by the stub "
                    f"under {len(accepted_under)} Request IDs"
                )
        request_ids = {r["request_id"] for r in facts.records.get(s.order_id, [])}
        request_ids |= {f["request_id"] for f in facts.failures.get(s.order_id, [])}
        for request_id in request_ids:
            if request_id in stub.accepted_twice:
                outcome.duplicated.append(f"{s.order_id}: {request_id} accepted twice")
            entry = stub.accepted.get(request_id)
            outcome.repeats += entry["duplicates"] if entry else 0
            outcome.failed_sends += stub.failed[request_id]
        if s.number in breaks:
            outcome.out_of_order.append(breaks[s.number])
    return outcomes
