"""The users every test database holds, and HTTP Basic headers for them."""

from __future__ import annotations

import base64

from app.domain.roles import ALL_ROLES, INTEGRATOR, SERVICE_ORDER_AGENT

# user -> (password, roles)
TEST_USERS: dict[str, tuple[str, list[str]]] = {
    "integrator": ("integrator-pw", [INTEGRATOR]),
    "agent": ("agent-pw", [SERVICE_ORDER_AGENT]),
    "admin": ("admin-pw", sorted(ALL_ROLES)),
    "nobody": ("nobody-pw", []),
}


def basic(user: str, password: str) -> dict[str, str]:
    """An Authorization header for any credentials, right or wrong."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def auth(user: str) -> dict[str, str]:
    """The Authorization header of one of TEST_USERS."""
    return basic(user, TEST_USERS[user][0])


# What OrderHub sends the SOM/TOM stub (its default STUB_USER/STUB_PASSWORD).
STUB_AUTH = basic("stub", "stub")["Authorization"]
