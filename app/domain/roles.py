"""Role names, verbatim from the contract (docs/contract.md#outbound)."""

from typing import Final

INTEGRATOR: Final = "sn_ind_tmt_orm.order_integrator"
FULFILMENT_AGENT: Final = "sn_ind_tmt_orm.order_fulfilment_agent"
FULFILLMENT_MANAGER: Final = "sn_ind_tmt_orm.order_fulfillment_manager"
SERVICE_ORDER_AGENT: Final = "sn_ind_tmt_orm.service_order_agent"
SERVICE_ORDER_MANAGER: Final = "sn_ind_tmt_orm.service_order_manager"

# May initiate and revise outbound requests and use the operator API.
OPERATOR_ROLES: Final = frozenset(
    {FULFILMENT_AGENT, FULFILLMENT_MANAGER, SERVICE_ORDER_AGENT, SERVICE_ORDER_MANAGER}
)
ALL_ROLES: Final = frozenset({INTEGRATOR, *OPERATOR_ROLES})
