"""The texts of the order checks: the contract's POST and PATCH lists differ, and each endpoint
passes its own (docs/contract.md#messages)."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain import messages as m


@dataclass(frozen=True)
class Texts:
    """The contract's texts differ between POST and PATCH; each endpoint passes its own list."""

    body_missing: str
    item_missing: str
    item_id_missing: str
    item_action_missing: str
    item_service_missing: str
    spec_missing: str
    spec_id_missing: str
    spec_not_found: str
    inventory_id_missing: str
    inventory_not_found: str
    inventory_inactive: str
    related_party_missing: str
    customer_or_consumer_missing: str
    account_not_found: str
    consumer_not_found: str
    offering_id_missing: str
    offering_not_found: str
    creation_failed: str


POST_TEXTS = Texts(
    body_missing=m.POST_REQUEST_BODY_MISSING,
    item_missing=m.POST_ITEM_MISSING,
    item_id_missing=m.POST_ITEM_ID_MISSING,
    item_action_missing=m.POST_ITEM_ACTION_MISSING,
    item_service_missing=m.POST_ITEM_SERVICE_MISSING,
    spec_missing=m.POST_SPECIFICATION_MISSING,
    spec_id_missing=m.POST_SPECIFICATION_ID_MISSING,
    spec_not_found=m.POST_SPECIFICATION_NOT_FOUND,
    inventory_id_missing=m.POST_PRODUCT_INVENTORY_ID_MISSING,
    inventory_not_found=m.POST_PRODUCT_INVENTORY_NOT_FOUND,
    inventory_inactive=m.POST_SOLD_PRODUCT_INACTIVE,
    related_party_missing=m.POST_CUSTOMER_OR_CONSUMER_MISSING,
    customer_or_consumer_missing=m.POST_CUSTOMER_OR_CONSUMER_MISSING,
    account_not_found=m.POST_CUSTOMER_ACCOUNT_NOT_FOUND,
    consumer_not_found=m.POST_CONSUMER_NOT_FOUND,
    offering_id_missing=m.PATCH_SERVICE_OFFERING_ID_MISSING,
    offering_not_found=m.PATCH_SERVICE_OFFERING_NOT_FOUND,
    creation_failed=m.POST_ORDER_CREATION_FAILED,
)
PATCH_TEXTS = Texts(
    body_missing=m.PATCH_REQUEST_BODY_MISSING,
    item_missing=m.PATCH_ITEM_MISSING,
    item_id_missing=m.PATCH_ITEM_ID_MISSING,
    item_action_missing=m.PATCH_ITEM_ACTION_MISSING,
    item_service_missing=m.PATCH_ITEM_SERVICE_MISSING,
    spec_missing=m.PATCH_SPECIFICATION_MISSING,
    spec_id_missing=m.PATCH_SPECIFICATION_ID_MISSING,
    spec_not_found=m.PATCH_SPECIFICATION_NOT_FOUND,
    inventory_id_missing=m.PATCH_SERVICE_INVENTORY_ID_MISSING,
    inventory_not_found=m.PATCH_SERVICE_INVENTORY_NOT_FOUND,
    inventory_inactive=m.PATCH_SOLD_SERVICE_INACTIVE,
    related_party_missing=m.PATCH_RELATED_PARTY_MISSING,
    customer_or_consumer_missing=m.PATCH_CUSTOMER_OR_CONSUMER_MISSING,
    account_not_found=m.PATCH_CUSTOMER_ACCOUNT_NOT_FOUND,
    consumer_not_found=m.PATCH_CONSUMER_NOT_FOUND,
    offering_id_missing=m.PATCH_SERVICE_OFFERING_ID_MISSING,
    offering_not_found=m.PATCH_SERVICE_OFFERING_NOT_FOUND,
    creation_failed=m.PATCH_ORDER_CREATION_FAILED,
)
