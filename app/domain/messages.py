"""Message texts of the Service Order Open API contract, kept verbatim."""

from typing import Final

# Each group is one list of the Service Order Open API documentation, in its order; the rulings
# on them are in docs/contract.md#messages. Templates use str.format with named fields.

# --- POST /api/sn_tmf_api/order/serviceOrder (create): 400 texts ----------------------------------

POST_CONSUMER_NOT_FOUND: Final = "Invalid payload: Consumer does not exist"
POST_CUSTOMER_ACCOUNT_NOT_FOUND: Final = "Invalid payload: Customer Account does not exist."
POST_CUSTOMER_OR_CONSUMER_MISSING: Final = (
    "Invalid payload: Customer Account or Consumer is missing"
)
POST_ORDER_CREATION_FAILED: Final = "Invalid payload: Order creation failed."
POST_PRODUCT_INVENTORY_NOT_FOUND: Final = "Invalid payload: Product Inventory does not exist."
POST_PRODUCT_INVENTORY_ID_MISSING: Final = "Invalid payload: Product inventory ID is missing."
POST_REQUEST_BODY_MISSING: Final = "Invalid payload: Request body missing."
POST_ITEM_ACTION_MISSING: Final = "Invalid payload: serviceOrderItem action is missing."
POST_ITEM_ID_MISSING: Final = "Invalid payload: serviceOrderItem ID is missing."
POST_ITEM_MISSING: Final = "Invalid payload: serviceOrderItem missing."
POST_ITEM_SERVICE_MISSING: Final = "Invalid payload: serviceOrderItem service is missing."
POST_SPECIFICATION_NOT_FOUND: Final = "Invalid payload: Service specification does not exist."
POST_SPECIFICATION_ID_MISSING: Final = "Invalid payload: serviceSpecification ID is missing."
POST_SPECIFICATION_MISSING: Final = "Invalid payload: serviceSpecification is missing."
POST_SOLD_PRODUCT_INACTIVE: Final = "Invalid payload: Sold Product is inactive."

# --- PATCH /api/sn_tmf_api/order/serviceOrder/{id}: 400 texts -------------------------------------

PATCH_REQUEST_BODY_MISSING: Final = "Invalid payload: Request body missing"
PATCH_ITEM_MISSING: Final = "Invalid payload: serviceOrderItem is missing"
PATCH_ITEM_ID_MISSING: Final = "Invalid payload: serviceOrderItem id is missing"
PATCH_ITEM_ACTION_MISSING: Final = "Invalid payload: serviceOrderItem action is missing"
# docs/contract.md: the serviceOffering texts serve POST too
PATCH_ITEM_SERVICE_OFFERING_MISSING: Final = (
    "Invalid payload: serviceOrderItem serviceOffering is missing"
)
PATCH_SERVICE_OFFERING_ID_MISSING: Final = "Invalid payload: serviceOffering id is missing"
PATCH_SERVICE_OFFERING_NOT_FOUND: Final = "Invalid payload: Service offering does not exist"
PATCH_ITEM_SERVICE_MISSING: Final = "Invalid payload: serviceOrderItem service is missing"
PATCH_SPECIFICATION_MISSING: Final = "Invalid payload: service serviceSpecification is missing"
PATCH_SPECIFICATION_ID_MISSING: Final = "Invalid payload: serviceSpecification id is missing"
PATCH_SPECIFICATION_NOT_FOUND: Final = "Invalid payload: Service specification does not exist"
PATCH_SERVICE_INVENTORY_NOT_FOUND: Final = "Invalid payload: Service Inventory does not exist"
PATCH_SERVICE_INVENTORY_ID_MISSING: Final = "Invalid payload: Service inventory ID is missing"
PATCH_SOLD_SERVICE_INACTIVE: Final = "Invalid payload: Sold Service is inactive"
PATCH_RELATED_PARTY_MISSING: Final = "Invalid payload: relatedParty is missing"
PATCH_CUSTOMER_OR_CONSUMER_MISSING: Final = (
    "Invalid payload: Customer Account or Consumer is missing"
)
PATCH_CUSTOMER_ACCOUNT_NOT_FOUND: Final = "Invalid payload: Customer Account does not exist"
PATCH_CONSUMER_NOT_FOUND: Final = "Invalid payload: Consumer does not exist"
PATCH_ORDER_CREATION_FAILED: Final = "Invalid payload: Order creation failed"
# docs/contract.md: a PATCH that changes orderCurrency
PATCH_ORDER_CURRENCY_REVISION_NOT_SUPPORTED: Final = (
    "In-flight revision to order currency not supported"
)
# docs/contract.md: PATCH on an order still in the inbound queue
PATCH_ORDER_IN_QUEUE: Final = (
    "This order is yet to be created in customer order table. "
    "Please check in inbound queue for more details."
)
# the unbalanced quote before "deliver" is the documentation's
PATCH_FULFILLMENT_TYPE_NOT_DELIVER: Final = (
    "Patch request cannot be made as the order's fulfillment type is not 'deliver."
)

# --- POST .../cancelserviceorder: 400 texts (and docs/contract.md#messages) -----------------------

CANCEL_EMPTY_PAYLOAD: Final = "Empty payload."
# "<field name>" in the documentation
CANCEL_MANDATORY_FIELD_MISSING: Final = "Invalid payload. Mandatory field missing: {field}."
CANCEL_INVALID_ORDER_ID: Final = "Invalid order ID."
# order still in the inbound queue; the text ends at the first period, per docs/contract.md
CANCEL_ORDER_IN_QUEUE: Final = (
    "Invalid order ID: This order is yet to be created in customer order table."
)

# --- POST .../serviceOrder/outboundresponse: 400 texts --------------------------------------------

OUTBOUND_EXTERNAL_ID_MISSING: Final = "Invalid payload: externalId is missing"
OUTBOUND_ITEM_STATE_MISSING: Final = "Invalid payload: serviceOrderItem state is missing"
OUTBOUND_EXTERNAL_ID_INVALID: Final = "Invalid external id. Please pass the correct external id"
OUTBOUND_DOMAIN_ORDER_ID_INVALID: Final = (
    "Invalid domain order id. Please pass the correct domain order id"
)
OUTBOUND_DOMAIN_ORDER_NOT_ASSOCIATED: Final = (
    "Domain order id passed is not associated with external id"
)
OUTBOUND_FULFILMENT_STATE_INVALID: Final = (
    "Invalid fulfilment state: Please provide correct fulfilment state"
)

# --- Work notes on the order line item (POST and PATCH) -------------------------------------------
# The PATCH list repeats them, once without the space before "is invalid"; both endpoints use
# the spelling with the space (docs/contract.md#messages).

# "<specification.name>" in the documentation
WORK_NOTE_CHARACTERISTICS_NOT_EXIST: Final = (
    "The following Order Item characteristics does not exist: Review specification "
    "{specification_name} and correct the characteristic and characteristic option in the "
    "order line item prior to approving the order."
)
# "<characteristic.name>", "<characteristic.value>" in the documentation
WORK_NOTE_CHARACTERISTIC_VALUE_INVALID: Final = (
    "Order Item characteristic: {characteristic_name} with characteristic value: "
    "{characteristic_value} is invalid. Correct the characteristic values before approving "
    "the order."
)

# --- GET by id of an order still in, or failed in, the inbound queue ------------------------------

# reason and message of code 102
QUEUE_REQUEST_IN_QUEUE: Final = "Request in queue"
# details[0].message of code 102
QUEUE_STILL_IN_QUEUE: Final = (
    "This Order is still in the inbound queue table waiting to be processed."
)
# reason and message of code 23, shown for a queue entry in error
QUEUE_MISSING_BODY_FIELD: Final = "Missing body field"
# example detail of a failed queue entry; docs/contract.md makes orderCurrency optional
QUEUE_ORDER_CURRENCY_MISSING: Final = "Invalid payload: orderCurrency is missing"

# --- OrderHub texts (the documentation has none; docs/contract.md) ------------------------------

# docs/contract.md#messages: point of no return (code 62, 400)
ORDERHUB_POINT_OF_NO_RETURN: Final = (
    "Point of no return reached: the order can't be modified or canceled."
)
# docs/contract.md#catalogue: suspend needs an active Sold Product
ORDERHUB_SOLD_PRODUCT_NOT_ACTIVE: Final = "Invalid payload: Sold Product is not active."
# docs/contract.md#catalogue: resume needs a suspended Sold Product
ORDERHUB_SOLD_PRODUCT_NOT_SUSPENDED: Final = "Invalid payload: Sold Product is not suspended."
# docs/contract.md#catalogue: a change order naming another version while
# allowSpecVersionUpdateInChangeOrder is false
ORDERHUB_SPEC_VERSION_MISMATCH: Final = "Invalid payload: Service specification version mismatch."
