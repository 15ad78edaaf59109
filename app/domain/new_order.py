"""An order as built from a request, before it is stored: what `order_building` makes and the
store writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.domain.references import Inventory, Specification


@dataclass
class NewCharacteristic:
    name: str
    value: str
    previous_value: str
    value_type: str | None


@dataclass
class NewContact:
    sys_id: str
    first_name: str
    last_name: str
    email: str
    phone: str
    referred_type: str


@dataclass
class NewItem:
    sys_id: str
    external_id: str
    position: int
    action: str
    action_reason: str | None
    quantity: int | None
    committed_due_date: datetime | None
    location: str | None
    is_move: bool
    specification: Specification | None
    inventory: Inventory | None
    offering: str | None
    parent_external_id: str | None
    requires: list[str]
    characteristics: list[NewCharacteristic]
    contacts: list[NewContact]
    service_relationships: list[tuple[str, str, str]]
    external_inventory: list[str]
    work_notes: list[str]
    service_type_annotation: str | None
    service_state: str | None
    spec_type_annotation: str | None
    place_type_annotation: str | None
    type_annotation: str | None


@dataclass
class NewOrder:
    sys_id: str
    external_id: str | None
    order_date: datetime
    requested_start_date: datetime | None
    requested_completion_date: datetime | None
    expected_completion_date: datetime | None
    committed_due_date: datetime | None
    order_currency: str | None
    fulfillment_type: str
    priority: str | None
    description: str | None
    category: str | None
    account: str | None
    consumer: str | None
    contact: str | None
    related_parties: list[tuple[str, str | None, str]]
    notes: list[tuple[str | None, str, str, datetime]]
    items: list[NewItem]
    type_annotation: str | None
    created_by: str
    work_notes: list[tuple[str | None, str]] = field(default_factory=list)
    traceparent: str | None = None
