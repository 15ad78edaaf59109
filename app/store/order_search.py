"""Filtered, paged order lists (the standard flavour's TMF630 queries), done in SQL.

A filter names an API attribute; `ORDER_ATTRIBUTES` maps each filterable attribute to its
column and kind, so no text from a query string ever reaches the SQL. A page costs two
queries (total, ids) plus the fixed number orders.load takes for the whole page.

The total never counts the table (docs/api.md#total-count): with no filter or only `state`,
it is the kept count per state, exact; with other filters it is counted exactly up to
`EXACT_TOTAL_UP_TO` matches, and beyond that it is PostgreSQL's estimate of the matches.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.domain import jsontext
from app.domain.dates import millisecond_range
from app.domain.stored_order import StoredOrder
from app.domain.tmf_states import StateSelection, order_selection
from app.store import order_counts, orders
from app.store.db import Connection

# `tmf_state`: an order's state as TMF641 v4.1.0 names it (app/domain/tmf_states.py).
KINDS = ("text", "date", "bool", "tmf_state")
OPERATORS = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


@dataclass(frozen=True)
class Attribute:
    column: str
    kind: str  # one of KINDS


@dataclass(frozen=True)
class Filter:
    """`attribute` `operator` any of `values` (already of the attribute's kind)."""

    attribute: str
    operator: str  # a key of OPERATORS; only dates take other than "eq"
    values: tuple[Any, ...]


ORDER_ATTRIBUTES: Mapping[str, Attribute] = {
    "id": Attribute("sys_id", "text"),
    "externalId": Attribute("external_id", "text"),
    "state": Attribute("state", "text"),
    "category": Attribute("category", "text"),
    "priority": Attribute("priority", "text"),
    "description": Attribute("description", "text"),
    "orderCurrency": Attribute("order_currency", "text"),
    "ponr": Attribute("ponr", "bool"),
    "orderDate": Attribute("order_date", "date"),
    "requestedStartDate": Attribute("requested_start_date", "date"),
    "requestedCompletionDate": Attribute("requested_completion_date", "date"),
    "expectedCompletionDate": Attribute("expected_completion_date", "date"),
    "committedDueDate": Attribute("committed_due_date", "date"),
    "completionDate": Attribute("completion_date", "date"),
}
# The standard flavour's: the state by its v4.1.0 names.
TMF_ORDER_ATTRIBUTES: Mapping[str, Attribute] = {
    **ORDER_ATTRIBUTES,
    "state": Attribute("state", "tmf_state"),
}
_TYPES = {"text": "text", "date": "timestamptz", "bool": "boolean", "tmf_state": "text"}
_ARRAY_TYPES = {kind: f"{sql_type}[]" for kind, sql_type in _TYPES.items()}
EXACT_TOTAL_UP_TO = 10_000


def where_clause(
    filters: Sequence[Filter], attributes: Mapping[str, Attribute], *, first_param: int = 1
) -> tuple[str, list[Any]]:
    """`WHERE ...` (or "") and its parameters, each condition on the column itself so that its
    index serves it: one value is compared with `=` (an index sorted by that column then
    gives the list's order), several with `= ANY`; dates compare at the millisecond, as
    shown, through the range of instants that shows so (dates.millisecond_range)."""
    conditions: list[str] = []
    params: list[Any] = []

    def param(value: Any, sql_type: str) -> str:
        params.append(value)
        return f"${first_param + len(params) - 1}::{sql_type}"

    for f in filters:
        attribute = attributes[f.attribute]
        column = attribute.column
        if attribute.kind == "date":
            conditions.append(_date_condition(column, f))
        elif attribute.kind == "tmf_state":
            conditions.append(_state_condition(column, order_selection(f.values), param))
        elif len(f.values) == 1:
            conditions.append(f"{column} = {param(f.values[0], _TYPES[attribute.kind])}")
        else:
            conditions.append(
                f"{column} = ANY({param(list(f.values), _ARRAY_TYPES[attribute.kind])})"
            )
    return ("WHERE " + " AND ".join(conditions) if conditions else ""), params


# Of an order in `error`: `partial` with such an item, `failed` without.
_COMPLETED_ITEM = (
    "EXISTS (SELECT 1 FROM order_line_item AS i"
    " WHERE i.order_id = service_order.sys_id AND i.state = 'completed')"
)


def _state_condition(
    column: str, selection: StateSelection, param: Callable[[Any, str], str]
) -> str:
    """The states alone compare as any other text (one with `=`, so the state index gives
    the list's order); `failed` or `partial` alone look at the items of orders in error."""
    states = sorted(selection.states)
    alternatives = []
    if len(states) == 1:
        alternatives.append(f"{column} = {param(states[0], 'text')}")
    elif states:
        alternatives.append(f"{column} = ANY({param(states, 'text[]')})")
    if selection.error_with_completed is not None:
        negation = "" if selection.error_with_completed else "NOT "
        alternatives.append(f"({column} = 'error' AND {negation}{_COMPLETED_ITEM})")
    if not alternatives:
        return "FALSE"
    return alternatives[0] if len(alternatives) == 1 else f"({' OR '.join(alternatives)})"


def _date_condition(column: str, f: Filter) -> str:
    """Any of the filter's values (only `eq` takes several) as ranges of the column. The
    bounds are written into the statement: a generic plan of `column >= $1` assumes a third of
    the table matches and may scan it whole, where the bound itself shows a few rows."""
    ranges = []
    for value in f.values:
        bounds = millisecond_range(f.operator, value)
        if bounds is None:
            continue
        low, high = bounds
        sides = [f"{column} >= {_literal(low)}"] if low is not None else []
        sides += [f"{column} < {_literal(high)}"] if high is not None else []
        ranges.append(" AND ".join(sides) or "TRUE")
    if not ranges:
        return "FALSE"
    return ranges[0] if len(ranges) == 1 else "(" + " OR ".join(f"({r})" for r in ranges) + ")"


def _literal(instant: dt.datetime) -> str:
    """A datetime the filter parsed, never text from the query string: isoformat holds
    digits, `-`, `:`, `.`, `T` and `+` only."""
    return f"'{instant.isoformat()}'::timestamptz"


async def search(
    conn: Connection,
    filters: Sequence[Filter],
    *,
    limit: int,
    offset: int,
    after: tuple[dt.datetime, str] | None = None,
    attributes: Mapping[str, Attribute] = ORDER_ATTRIBUTES,
) -> tuple[int, list[StoredOrder]]:
    """(total matching, the page of orders), newest first, ties broken by id; with `after`,
    the page starts after that (order date, id) in the same order, from the index.
    `attributes`: TMF_ORDER_ATTRIBUTES for filters on the standard flavour's state names."""
    where, params = where_clause(filters, attributes)
    total = await _total(conn, filters, where, params, attributes)
    if after is not None:
        params = [*params, *after]
        keyset = f"(order_date, sys_id) < (${len(params) - 1}, ${len(params)})"
        where = f"{where} AND {keyset}" if where else f"WHERE {keyset}"
    n = len(params)
    rows = await conn.fetch(
        f"SELECT sys_id FROM service_order {where} "
        f"ORDER BY order_date DESC, sys_id DESC LIMIT ${n + 1} OFFSET ${n + 2}",
        *params,
        limit,
        offset,
    )
    return total, await orders.load(conn, [row["sys_id"] for row in rows])


def only_states(
    filters: Sequence[Filter], attributes: Mapping[str, Attribute] = ORDER_ATTRIBUTES
) -> set[str] | None:
    """The states a list of `state` filters admits (they are ANDed), or None when another
    attribute is filtered on too, or when the items decide (`failed` or `partial` alone)."""
    admitted: set[str] | None = None
    for f in filters:
        if f.attribute != "state" or f.operator != "eq":
            return None
        if attributes["state"].kind == "tmf_state":
            selection = order_selection(f.values)
            if selection.error_with_completed is not None:
                return None
            values = set(selection.states)
        else:
            values = {str(v) for v in f.values}
        admitted = values if admitted is None else admitted & values
    return admitted


async def _total(
    conn: Connection,
    filters: Sequence[Filter],
    where: str,
    params: list[Any],
    attributes: Mapping[str, Attribute],
) -> int:
    if not filters:
        return await order_counts.total(conn)
    states = only_states(filters, attributes)
    if states is not None:
        return await order_counts.total(conn, states)
    counted: int = await conn.fetchval(
        f"SELECT count(*) FROM (SELECT 1 FROM service_order {where}"
        f" LIMIT {EXACT_TOTAL_UP_TO + 1}) AS matches",
        *params,
    )
    if counted <= EXACT_TOTAL_UP_TO:
        return counted
    plan = await conn.fetchval(
        f"EXPLAIN (FORMAT JSON) SELECT 1 FROM service_order {where}", *params
    )
    if isinstance(plan, str | bytes):
        plan = jsontext.loads(plan)
    estimate = int(plan[0]["Plan"]["Plan Rows"])
    return max(counted, estimate)
