"""An order as the store reads it back: its row and its child rows, for every renderer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.domain.new_order import NewItem, NewOrder


@dataclass
class StoredOrder:
    order: dict[str, Any]
    parties: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    items: list[dict[str, Any]]


def as_created(order: NewOrder) -> StoredOrder:
    """The order as the store reads it back right after its insert (app/store/order_rows.py
    writes it; the column defaults are schema.sql's): the events of a creation are rendered
    from it instead of reading back every row just written."""
    by_external = {item.external_id: item for item in order.items}
    children = [_item_as_created(item, by_external) for item in order.items]
    notes = [
        {
            "order_id": order.sys_id,
            "position": pos,
            "note_id": note_id,
            "text": text,
            "author": author,
            "date": date,
        }
        for pos, (note_id, text, author, date) in enumerate(order.notes)
    ]
    notes.sort(key=lambda n: (n["date"], n["position"]), reverse=True)
    return StoredOrder(
        order={
            "sys_id": order.sys_id,
            "external_id": order.external_id,
            "state": "new",
            "version": 1,
            "ponr": False,
            "order_date": order.order_date,
            "requested_start_date": order.requested_start_date,
            "requested_completion_date": order.requested_completion_date,
            "expected_completion_date": order.expected_completion_date,
            "committed_due_date": order.committed_due_date,
            "completion_date": None,
            "order_currency": order.order_currency,
            "fulfillment_type": order.fulfillment_type,
            "priority": order.priority,
            "description": order.description,
            "category": order.category,
            "account": order.account,
            "consumer": order.consumer,
            "contact": order.contact,
            "type_annotation": order.type_annotation,
            "created_by": order.created_by,
        },
        parties=[
            {
                "order_id": order.sys_id,
                "position": pos,
                "party_id": party_id,
                "name": name,
                "referred_type": referred,
            }
            for pos, (party_id, name, referred) in enumerate(order.related_parties)
        ],
        notes=notes,
        items=children,
    )


def _item_as_created(item: NewItem, by_external: dict[str, NewItem]) -> dict[str, Any]:
    spec = item.specification
    parent = by_external.get(item.parent_external_id) if item.parent_external_id else None
    required = sorted(
        {by_external[r].position: by_external[r].external_id for r in item.requires}.items()
    )
    return {
        "sys_id": item.sys_id,
        "external_id": item.external_id,
        "position": item.position,
        "action": item.action,
        "action_reason": item.action_reason,
        "quantity": item.quantity,
        "state": "new",
        "version": 1,
        "ponr": False,
        "committed_due_date": item.committed_due_date,
        "location": item.location,
        "is_move": item.is_move,
        "specification": spec.sys_id if spec else None,
        "spec_initial_version": spec.initial_version if spec else None,
        "spec_name": spec.name if spec else None,
        "spec_internal_version": spec.internal_version if spec else None,
        "spec_version": spec.version if spec else None,
        "spec_service_type": spec.service_type if spec else None,
        "inventory": item.inventory.sys_id if item.inventory else None,
        "inventory_sys_id": item.inventory.sys_id if item.inventory else None,
        "service_offering": item.offering,
        "service_state": item.service_state,
        "parent_line_item": parent.sys_id if parent else None,
        "parent_external_id": item.parent_external_id,
        "characteristics": [
            {
                "line_item": item.sys_id,
                "position": pos,
                "name": c.name,
                "value": c.value,
                "previous_value": c.previous_value,
                "value_type": c.value_type,
            }
            for pos, c in enumerate(item.characteristics)
        ],
        "contacts": [
            {
                "sys_id": c.sys_id,
                "line_item": item.sys_id,
                "position": pos,
                "first_name": c.first_name,
                "last_name": c.last_name,
                "email": c.email,
                "phone": c.phone,
                "referred_type": c.referred_type,
            }
            for pos, c in enumerate(item.contacts)
        ],
        "service_relationships": [
            {
                "line_item": item.sys_id,
                "position": pos,
                "inventory_ref": ref,
                "inventory": inventory,
                "relationship_type": kind,
            }
            for pos, (ref, inventory, kind) in enumerate(item.service_relationships)
        ],
        "external_inventory": [
            {"line_item": item.sys_id, "external_id": ext}
            for ext in sorted(set(item.external_inventory))
        ],
        "related_items": [
            {
                "line_item": item.sys_id,
                "relationship_type": "Requires",
                "related_external_id": external_id,
            }
            for _, external_id in required
        ],
    }
