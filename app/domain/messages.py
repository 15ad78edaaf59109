"""Message texts of the Service Order Open API contract, kept verbatim."""

from typing import Final

# Line numbers (Lnnn) point into seeds/service-order-open-api.txt; CONTRACT.md rules where noted.
# Templates use str.format with named fields.

# --- POST /api/sn_tmf_api/order/serviceOrder (create): 400 texts, L2741-2756 ----------------------

# L2742
POST_CONSUMER_NOT_FOUND: Final = "Invalid payload: Consumer does not exist"
# L2743
POST_CUSTOMER_ACCOUNT_NOT_FOUND: Final = "Invalid payload: Customer Account does not exist."
# L2744
POST_CUSTOMER_OR_CONSUMER_MISSING: Final = (
    "Invalid payload: Customer Account or Consumer is missing"
)
# L2745
POST_ORDER_CREATION_FAILED: Final = "Invalid payload: Order creation failed."
# L2746
POST_PRODUCT_INVENTORY_NOT_FOUND: Final = "Invalid payload: Product Inventory does not exist."
# L2747
POST_PRODUCT_INVENTORY_ID_MISSING: Final = "Invalid payload: Product inventory ID is missing."
# L2748
POST_REQUEST_BODY_MISSING: Final = "Invalid payload: Request body missing."
# L2749
POST_ITEM_ACTION_MISSING: Final = "Invalid payload: serviceOrderItem action is missing."
# L2750
POST_ITEM_ID_MISSING: Final = "Invalid payload: serviceOrderItem ID is missing."
# L2751
POST_ITEM_MISSING: Final = "Invalid payload: serviceOrderItem missing."
# L2752
POST_ITEM_SERVICE_MISSING: Final = "Invalid payload: serviceOrderItem service is missing."
# L2753
POST_SPECIFICATION_NOT_FOUND: Final = "Invalid payload: Service specification does not exist."
# L2754
POST_SPECIFICATION_ID_MISSING: Final = "Invalid payload: serviceSpecification ID is missing."
# L2755
POST_SPECIFICATION_MISSING: Final = "Invalid payload: serviceSpecification is missing."
# L2756
POST_SOLD_PRODUCT_INACTIVE: Final = "Invalid payload: Sold Product is inactive."

# --- PATCH /api/sn_tmf_api/order/serviceOrder/{id}: 400 texts, L1579-1601 -------------------------

# L1580
PATCH_REQUEST_BODY_MISSING: Final = "Invalid payload: Request body missing"
# L1581
PATCH_ITEM_MISSING: Final = "Invalid payload: serviceOrderItem is missing"
# L1582
PATCH_ITEM_ID_MISSING: Final = "Invalid payload: serviceOrderItem id is missing"
# L1583
PATCH_ITEM_ACTION_MISSING: Final = "Invalid payload: serviceOrderItem action is missing"
# L1584 (CONTRACT.md: the serviceOffering texts serve POST too)
PATCH_ITEM_SERVICE_OFFERING_MISSING: Final = (
    "Invalid payload: serviceOrderItem serviceOffering is missing"
)
# L1585
PATCH_SERVICE_OFFERING_ID_MISSING: Final = "Invalid payload: serviceOffering id is missing"
# L1586
PATCH_SERVICE_OFFERING_NOT_FOUND: Final = "Invalid payload: Service offering does not exist"
# L1587
PATCH_ITEM_SERVICE_MISSING: Final = "Invalid payload: serviceOrderItem service is missing"
# L1588
PATCH_SPECIFICATION_MISSING: Final = "Invalid payload: service serviceSpecification is missing"
# L1589
PATCH_SPECIFICATION_ID_MISSING: Final = "Invalid payload: serviceSpecification id is missing"
# L1590
PATCH_SPECIFICATION_NOT_FOUND: Final = "Invalid payload: Service specification does not exist"
# L1591
PATCH_SERVICE_INVENTORY_NOT_FOUND: Final = "Invalid payload: Service Inventory does not exist"
# L1592
PATCH_SERVICE_INVENTORY_ID_MISSING: Final = "Invalid payload: Service inventory ID is missing"
# L1593
PATCH_SOLD_SERVICE_INACTIVE: Final = "Invalid payload: Sold Service is inactive"
# L1594
PATCH_RELATED_PARTY_MISSING: Final = "Invalid payload: relatedParty is missing"
# L1595
PATCH_CUSTOMER_OR_CONSUMER_MISSING: Final = (
    "Invalid payload: Customer Account or Consumer is missing"
)
# L1596
PATCH_CUSTOMER_ACCOUNT_NOT_FOUND: Final = "Invalid payload: Customer Account does not exist"
# L1597
PATCH_CONSUMER_NOT_FOUND: Final = "Invalid payload: Consumer does not exist"
# L1598
PATCH_ORDER_CREATION_FAILED: Final = "Invalid payload: Order creation failed"
# L1599 (CONTRACT.md: a PATCH that changes orderCurrency)
PATCH_ORDER_CURRENCY_REVISION_NOT_SUPPORTED: Final = (
    "In-flight revision to order currency not supported"
)
# L1600 (CONTRACT.md: PATCH on an order still in the inbound queue)
PATCH_ORDER_IN_QUEUE: Final = (
    "This order is yet to be created in customer order table. "
    "Please check in inbound queue for more details."
)
# L1601 (the unbalanced quote before "deliver" is the seed's)
PATCH_FULFILLMENT_TYPE_NOT_DELIVER: Final = (
    "Patch request cannot be made as the order's fulfillment type is not 'deliver."
)

# --- POST .../cancelserviceorder: 400 texts, L2210-2214 and CONTRACT.md "Messages" ---------------

# L2211
CANCEL_EMPTY_PAYLOAD: Final = "Empty payload."
# L2212 ("<field name>" in the seed)
CANCEL_MANDATORY_FIELD_MISSING: Final = "Invalid payload. Mandatory field missing: {field}."
# L2213
CANCEL_INVALID_ORDER_ID: Final = "Invalid order ID."
# L2214 (order still in the inbound queue; the text ends at the first period, per CONTRACT.md)
CANCEL_ORDER_IN_QUEUE: Final = (
    "Invalid order ID: This order is yet to be created in customer order table."
)

# --- POST .../serviceOrder/outboundresponse: 400 texts, L3817-3823 --------------------------------

# L3818
OUTBOUND_EXTERNAL_ID_MISSING: Final = "Invalid payload: externalId is missing"
# L3819
OUTBOUND_ITEM_STATE_MISSING: Final = "Invalid payload: serviceOrderItem state is missing"
# L3820
OUTBOUND_EXTERNAL_ID_INVALID: Final = "Invalid external id. Please pass the correct external id"
# L3821
OUTBOUND_DOMAIN_ORDER_ID_INVALID: Final = (
    "Invalid domain order id. Please pass the correct domain order id"
)
# L3822
OUTBOUND_DOMAIN_ORDER_NOT_ASSOCIATED: Final = (
    "Domain order id passed is not associated with external id"
)
# L3823
OUTBOUND_FULFILMENT_STATE_INVALID: Final = (
    "Invalid fulfilment state: Please provide correct fulfilment state"
)

# --- Work notes on the order line item (POST and PATCH), L2738-2739 -------------------------------
# L1577-1578 repeat them for PATCH; L1578 lacks the space before "is invalid". CONTRACT.md: use the
# L2739 spelling (with the space) for both endpoints.

# L2738 ("<specification.name>" in the seed)
WORK_NOTE_CHARACTERISTICS_NOT_EXIST: Final = (
    "The following Order Item characteristics does not exist: Review specification "
    "{specification_name} and correct the characteristic and characteristic option in the "
    "order line item prior to approving the order."
)
# L2739 ("<characteristic.name>", "<characteristic.value>" in the seed)
WORK_NOTE_CHARACTERISTIC_VALUE_INVALID: Final = (
    "Order Item characteristic: {characteristic_name} with characteristic value: "
    "{characteristic_value} is invalid. Correct the characteristic values before approving "
    "the order."
)

# --- GET by id of an order still in, or failed in, the inbound queue, L640-662 --------------------

# L643-644 (reason and message of code 102)
QUEUE_REQUEST_IN_QUEUE: Final = "Request in queue"
# L647 (details[0].message of code 102)
QUEUE_STILL_IN_QUEUE: Final = (
    "This Order is still in the inbound queue table waiting to be processed."
)
# L655-656 (reason and message of code 23, shown for a queue entry in error)
QUEUE_MISSING_BODY_FIELD: Final = "Missing body field"
# L659 (example detail of a failed queue entry; CONTRACT.md makes orderCurrency optional)
QUEUE_ORDER_CURRENCY_MISSING: Final = "Invalid payload: orderCurrency is missing"

# --- OrderHub texts (no seed text; CONTRACT.md) ---------------------------------------------------

# CONTRACT.md "Messages": point of no return (code 62, 400)
ORDERHUB_POINT_OF_NO_RETURN: Final = (
    "Point of no return reached: the order can't be modified or canceled."
)
# CONTRACT.md "Catalogue": suspend needs an active Sold Product
ORDERHUB_SOLD_PRODUCT_NOT_ACTIVE: Final = "Invalid payload: Sold Product is not active."
# CONTRACT.md "Catalogue": resume needs a suspended Sold Product
ORDERHUB_SOLD_PRODUCT_NOT_SUSPENDED: Final = "Invalid payload: Sold Product is not suspended."
# CONTRACT.md "Catalogue": change order naming another version, allowSpecVersionUpdateInChangeOrder
# false
ORDERHUB_SPEC_VERSION_MISMATCH: Final = "Invalid payload: Service specification version mismatch."
