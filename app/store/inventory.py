"""Product inventory as completed orders leave it."""

from __future__ import annotations

from typing import Any

from app.store.db import Connection

ITEM_CHARACTERISTICS = """
SELECT name, value FROM order_characteristic_value WHERE line_item = $1 ORDER BY position
"""
FIRST_EXTERNAL_ID = """
SELECT external_id FROM order_external_inventory WHERE line_item = $1 ORDER BY external_id LIMIT 1
"""
CREATE = """
INSERT INTO product_inventory (sys_id, external_id, specification, location, account, state,
                               characteristics)
VALUES ($1, $2, $3, $4, $5, 'active', $6)
"""
LINK_ITEM = "UPDATE order_line_item SET inventory = $2, service_state = $3 WHERE sys_id = $1"
CHANGE = """
UPDATE product_inventory
   SET characteristics = characteristics || $2, specification = COALESCE($3, specification),
       location = COALESCE($4, location), updated_at = now()
 WHERE sys_id = $1
"""
SET_STATE = """
UPDATE product_inventory SET state = $2, updated_at = now() WHERE sys_id = $1
"""
STATE_AFTER = {"delete": "inactive", "suspend": "suspended", "resume": "active"}


async def apply(conn: Connection, item: dict[str, Any], new_id: str) -> None:
    """What a completed line item does to the inventory, by its action."""
    action = item["action"]
    chars = {r["name"]: r["value"] for r in await conn.fetch(ITEM_CHARACTERISTICS, item["item"])}
    if action == "add":
        external_id = await conn.fetchval(FIRST_EXTERNAL_ID, item["item"])
        await conn.execute(
            CREATE,
            new_id,
            external_id,
            item["specification"],
            item["location"],
            item["account"],
            chars,
        )
        await conn.execute(LINK_ITEM, item["item"], new_id, "active")
    elif action == "change" and item["inventory"]:
        await conn.execute(
            CHANGE, item["inventory"], chars, item["specification"], item["location"]
        )
        await conn.execute(LINK_ITEM, item["item"], item["inventory"], "active")
    elif action in STATE_AFTER and item["inventory"]:
        await conn.execute(SET_STATE, item["inventory"], STATE_AFTER[action])
        await conn.execute(LINK_ITEM, item["item"], item["inventory"], STATE_AFTER[action])
