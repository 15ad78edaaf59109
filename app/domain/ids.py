"""Identifiers of the records OrderHub creates."""

from __future__ import annotations

import random


def new_sys_id() -> str:
    """32 hex digits, as ServiceNow's sys_ids. Not secret (whoever may read an order may list
    them all), only unique: 128 random bits, without uuid4's system call per id."""
    return f"{random.getrandbits(128):032x}"
