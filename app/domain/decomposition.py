"""Decomposition: one domain order per line item, the HasParent/HasChild links giving the
hierarchy (docs/contract.md#outbound)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from app.domain.new_order import NewOrder


@dataclass(frozen=True)
class DomainOrderPlan:
    sys_id: str
    line_item: str
    parent: str | None


def decompose_new_order(order: NewOrder, new_id: Callable[[], str]) -> list[DomainOrderPlan]:
    by_external = {item.external_id: item.sys_id for item in order.items}
    return decompose(
        [(item.sys_id, by_external.get(item.parent_external_id or "")) for item in order.items],
        new_id,
    )


def decompose(
    items: Iterable[tuple[str, str | None]], new_id: Callable[[], str]
) -> list[DomainOrderPlan]:
    """One domain order per line item, (item sys_id, parent item sys_id) each; parents
    first, so that a parent's row exists before its children's."""
    items = list(items)
    ids = {item: new_id() for item, _ in items}
    parent_of = dict(items)

    def depth(item: str) -> int:
        return 0 if parent_of.get(item) is None else 1 + depth(parent_of[item] or "")

    ordered = sorted(items, key=lambda pair: depth(pair[0]))
    return [
        DomainOrderPlan(ids[item], item, ids.get(parent) if parent else None)
        for item, parent in ordered
    ]
