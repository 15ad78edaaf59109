"""TMF630 query strings of the standard flavour's lists: paging, projection and filters.

Filters are equality on a top-level attribute, `name=value`; the value may be quoted
(`state="acknowledged"` or `state='acknowledged'`), and a comma outside quotes gives
alternatives (`state=acknowledged,completed`); `state` takes the v4.1.0 names
(docs/states.md). Date attributes also take `name.gt`, `.gte`, `.lt` and `.lte`.
A parameter that is neither paging, `fields` nor a filterable attribute is refused (400, 28),
so a mistyped filter never quietly answers with everything.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from typing import Any

from app.domain.dates import parse_date
from app.domain.errors import ApiError, ErrorKind
from app.domain.tmf_states import ORDER_STATES
from app.http.schemas.listing import ServiceOrderListQuery, load_query
from app.store.order_search import OPERATORS, Attribute, Filter

PAGING_QUERY = ServiceOrderListQuery(only=("limit", "offset", "field_list"))
ORDER_PAGING_QUERY = ServiceOrderListQuery(only=("limit", "offset", "field_list", "after"))
RESERVED = frozenset({"limit", "offset", "fields"})


def load_paging(query: Mapping[str, str], *, cursor: bool = False) -> dict[str, Any]:
    """limit (default 20, at most 100), offset (default 0) and fields, and with `cursor` the
    order lists' `after`; 400 (28) when bad."""
    return load_query(ORDER_PAGING_QUERY if cursor else PAGING_QUERY, query)


def _bad(name: str, text: str) -> ApiError:
    return ApiError(ErrorKind.INVALID_QUERY, f"Invalid query parameter {name}: {text}", f"?{name}")


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def split_values(raw: str) -> list[str]:
    """`a,"b,c",'d'` -> a, b,c, d; an empty value is one empty string. Raises csv.Error for a
    line break outside double quotes."""
    rows = list(csv.reader([raw], skipinitialspace=True))
    values = rows[0] if rows and rows[0] else [""]
    return [_unquote(v) for v in values]


def _typed(name: str, kind: str, value: str) -> Any:
    if kind == "date":
        try:
            return parse_date(value)
        except ValueError:
            raise _bad(name, f"{value!r} is not an ISO 8601 date.") from None
    if kind == "tmf_state" and value not in ORDER_STATES:
        raise _bad(name, f"{value!r} is not one of {', '.join(ORDER_STATES)}.")
    if kind == "bool":
        lowered = value.lower()
        if lowered not in ("true", "false"):
            raise _bad(name, f"{value!r} is not true or false.")
        return lowered == "true"
    return value


def load_filters(
    query: Any, attributes: Mapping[str, Attribute], *, cursor: bool = False
) -> list[Filter]:
    """Every filter of the query string; repeated parameters must all hold. With `cursor`,
    `after` is paging too (the order lists)."""
    filters: list[Filter] = []
    reserved = RESERVED | {"after"} if cursor else RESERVED
    for name, raw in query.items():
        if name in reserved:
            continue
        attribute, operator = name, "eq"
        if name not in attributes:
            base, _, suffix = name.rpartition(".")
            if base in attributes and suffix in OPERATORS:
                attribute, operator = base, suffix
            else:
                raise _bad(name, "not a filterable attribute.")
        kind = attributes[attribute].kind
        try:
            values = split_values(raw)
        except csv.Error:
            raise _bad(name, "a value holding a line break must be in double quotes.") from None
        if operator != "eq":
            if kind != "date":
                raise _bad(name, f"{operator} applies to dates only.")
            if len(values) != 1:
                raise _bad(name, f"{operator} takes one value.")
        filters.append(Filter(attribute, operator, tuple(_typed(name, kind, v) for v in values)))
    return filters
