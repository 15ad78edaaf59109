"""The console's reads of the order tables: Service Orders > All, and the names an order's
page shows beside its ids.

Every list query reads one keyset page through an index, whatever the table's size
(tests/integration/test_console_queries.py checks the plans):

- no search: service_order_listing, or service_order_state with a state filter, from the
  cursor on;
- a search: the order of that number (primary key), the orders of that externalId
  (service_order_external_id), and those of the first CUSTOMER_MATCHES customers whose name
  starts with the text (customer_account_name, consumer_name), each customer's read through
  service_order_account / service_order_consumer from the cursor on; one page of the union.

The query text is built from fixed pieces for each kind of request, never from the request's
text, which only ever arrives as parameters. One text per kind, rather than one with
`$n IS NULL OR ...` conditions, because a plan made for all values at once cannot use the
index that one kind needs.
"""

from __future__ import annotations

from typing import Any

from app.domain.console_listing import CUSTOMER_MATCHES, ListingQuery
from app.store.db import Connection

_DISPLAY = """
SELECT o.sys_id, o.external_id, o.state, o.order_date, o.updated_at,
       COALESCE(a.name, c.name) AS customer
  FROM ({page}) p
  JOIN service_order o ON o.sys_id = p.sys_id
  LEFT JOIN customer_account a ON a.sys_id = o.account
  LEFT JOIN consumer c ON c.sys_id = o.consumer
 ORDER BY o.order_date {direction}, o.sys_id {direction}
"""
# Names starting with the text, in byte order (collation "C", the order of the indexes
# customer_account_name and consumer_name): from the text up to the text followed by the
# highest code point; nothing that starts otherwise lies in between.
_NAME = 'lower(name) COLLATE "C"'
_NAME_RANGE = f"{_NAME} >= lower({{q}}) AND {_NAME} < (lower({{q}}) || chr(1114111))"


def _matching(table: str, q: str, limit: str) -> str:
    return (
        f"SELECT sys_id FROM {table} WHERE {_NAME_RANGE.format(q=q)} "
        f"ORDER BY {_NAME}, sys_id LIMIT {limit}"
    )


_CAP = str(CUSTOMER_MATCHES + 1)
CUSTOMERS_CAPPED = f"""
SELECT (SELECT count(*) FROM ({_matching("customer_account", "$1", _CAP)}) a) >= {_CAP}
    OR (SELECT count(*) FROM ({_matching("consumer", "$1", _CAP)}) c) >= {_CAP}
"""


class _Params:
    """Positional parameters, numbered as they are added."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def _conditions(query: ListingQuery, params: _Params, state: str | None) -> list[str]:
    found = []
    if state is not None:
        found.append(f"o.state = {state}")
    if query.cursor is not None:
        operator = ">" if query.newer else "<"
        date = params.add(query.cursor.at)
        sys_id = params.add(query.cursor.key)
        found.append(f"(o.order_date, o.sys_id) {operator} ({date}, {sys_id})")
    return found


def listing_sql(query: ListingQuery, limit: int) -> tuple[str, list[Any]]:
    """The page's query and its parameters: `limit` rows in the query's direction."""
    params = _Params()
    direction = "ASC" if query.newer else "DESC"
    order = f"ORDER BY o.order_date {direction}, o.sys_id {direction}"
    state = params.add(query.state) if query.state is not None else None
    # The limits are written into the text, not passed: a prepared statement's generic plan
    # knows no parameter's value and, for an unknown LIMIT, expects a tenth of the table.
    size = str(int(limit))
    if query.search is None:
        where = " AND ".join(_conditions(query, params, state)) or "true"
        page = f"SELECT o.sys_id FROM service_order o WHERE {where} {order} LIMIT {size}"
        return _DISPLAY.format(page=page, direction=direction), params.values
    q = params.add(query.search)
    customers = str(CUSTOMER_MATCHES)
    rest = "".join(f" AND {c}" for c in _conditions(query, params, state))

    def branch(driver: str) -> str:
        return (
            f"(SELECT o.sys_id, o.order_date FROM service_order o WHERE {driver}{rest} "
            f"{order} LIMIT {size})"
        )

    def by_customer(table: str, column: str) -> str:
        return (
            f"(SELECT h.sys_id, h.order_date FROM ({_matching(table, q, customers)}) m "
            f"CROSS JOIN LATERAL {branch(f'o.{column} = m.sys_id')} h)"
        )

    hits = " UNION ".join(
        [
            branch(f"o.sys_id = {q}"),
            branch(f"o.external_id = {q}"),
            by_customer("customer_account", "account"),
            by_customer("consumer", "consumer"),
        ]
    )
    page = (
        f"SELECT o.sys_id FROM ({hits}) o "
        f"ORDER BY o.order_date {direction}, o.sys_id {direction} LIMIT {size}"
    )
    return _DISPLAY.format(page=page, direction=direction), params.values


async def orders_page(conn: Connection, query: ListingQuery, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` orders of the list, newest first (for a newer page, oldest first)."""
    sql, params = listing_sql(query, limit)
    return [dict(r) for r in await conn.fetch(sql, *params)]


async def customers_capped(conn: Connection, search: str) -> bool:
    """More customers (or consumers) match than a search follows (CUSTOMER_MATCHES)."""
    capped: bool = await conn.fetchval(CUSTOMERS_CAPPED, search)
    return capped


NAMES_OF_ORDER = """
SELECT a.name AS account_name, a.external_id AS account_external_id,
       c.name AS consumer_name, t.name AS contact_name
  FROM service_order o
  LEFT JOIN customer_account a ON a.sys_id = o.account
  LEFT JOIN consumer c ON c.sys_id = o.consumer
  LEFT JOIN customer_contact t ON t.sys_id = o.contact
 WHERE o.sys_id = $1
"""


async def names_of_order(conn: Connection, order_id: str) -> dict[str, Any]:
    """The customer's, consumer's and contact's names for the order's header."""
    row = await conn.fetchrow(NAMES_OF_ORDER, order_id)
    return {} if row is None else dict(row)
