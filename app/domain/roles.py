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

# May sign in to the console (docs/console.md) and take its actions: the agents and managers of
# the contract's procedure, the same people the operator API serves. An integration user signs
# in to nothing: it talks to the API with HTTP Basic.
CONSOLE_ROLES: Final = OPERATOR_ROLES

ROLE_PURPOSES: Final = {
    INTEGRATOR: "the Service Order Open API and the standard TMF641 API (integrations)",
    FULFILMENT_AGENT: "agent: console, outbound requests, operator API",
    FULFILLMENT_MANAGER: "manager: console, outbound requests, operator API",
    SERVICE_ORDER_AGENT: "agent: console, outbound requests, operator API",
    SERVICE_ORDER_MANAGER: "manager: console, outbound requests, operator API",
}
"""What each role opens, for `orderhub user add --help` and the console's refusal page."""
