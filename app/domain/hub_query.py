"""A hub subscription's `query`: which events it wants, and which parts of each, TMF630-style.

`eventType=ServiceOrderStateChangeEvent&event.serviceOrder.state=completed,cancelled&fields=
event.serviceOrder.state`: each `name=value` must hold (a comma gives alternatives); a name is
a dotted path into the event as posted, and a path that crosses a list holds when any element
holds; `fields` keeps only the paths named (the envelope, and the resource's `id`, `href` and
`@type`, always stay). Parsed once at registration, where anything else is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from app.domain.events import CANCEL_TYPES, EVENT_TYPES

ENVELOPE = (
    "eventId",
    "eventTime",
    "eventType",
    "correlationId",
    "domain",
    "title",
    "description",
    "priority",
    "timeOcurred",
    "fieldPath",
)
ROOTS = frozenset({*ENVELOPE, "event"})
ALWAYS_KEPT = ("id", "href", "@type")
MAX_QUERY_LENGTH = 2000
_NAME = re.compile(r"^[A-Za-z@][A-Za-z0-9@_]*(\.[A-Za-z@][A-Za-z0-9@_]*)*$")


class QueryError(ValueError):
    """The query cannot be parsed; the message says why."""


@dataclass(frozen=True)
class Filter:
    path: tuple[str, ...]
    values: frozenset[str]


@dataclass(frozen=True)
class HubQuery:
    filters: tuple[Filter, ...] = ()
    fields: tuple[tuple[str, ...], ...] | None = None
    event_types: frozenset[str] | None = field(default=None)


def _path(name: str) -> tuple[str, ...]:
    if not _NAME.match(name):
        raise QueryError(f"{name!r} is not an attribute path (names joined by dots).")
    parts = tuple(name.split("."))
    if parts[0] not in ROOTS:
        raise QueryError(
            f"{name!r} names no attribute of an event; paths begin with one of "
            f"{', '.join(sorted(ROOTS))}."
        )
    return parts


def _values(name: str, raw: str) -> list[str]:
    values = [v for v in raw.split(",")]
    if not raw or any(v == "" for v in values):
        raise QueryError(f"{name} has an empty value.")
    return values


def parse_query(query: str) -> HubQuery:
    """The query's filters and projection; QueryError when it cannot be read."""
    if len(query) > MAX_QUERY_LENGTH:
        raise QueryError(f"The query is over {MAX_QUERY_LENGTH} characters.")
    text = query.strip().lstrip("?")
    if not text:
        return HubQuery()
    filters: list[Filter] = []
    fields: list[tuple[str, ...]] | None = None
    types: frozenset[str] | None = None
    for part in text.split("&"):
        name, sep, raw = part.partition("=")
        name, raw = unquote_plus(name), unquote_plus(raw)
        if not sep or not name:
            raise QueryError(f"{part!r} is not name=value.")
        values = _values(name, raw)
        if name == "fields":
            fields = [*(fields or []), *(_path(v.strip()) for v in values)]
            continue
        if name == "eventType":
            unknown = sorted(set(values) - set(EVENT_TYPES))
            if unknown:
                raise QueryError(
                    f"Unknown eventType {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}."
                )
            types = frozenset(values) if types is None else types & frozenset(values)
        filters.append(Filter(_path(name), frozenset(values)))
    return HubQuery(tuple(filters), None if fields is None else tuple(fields), types)


def _leaves(value: Any, path: tuple[str, ...]) -> list[Any]:
    if isinstance(value, list):
        return [leaf for element in value for leaf in _leaves(element, path)]
    if not path:
        return [value]
    if not isinstance(value, dict) or path[0] not in value:
        return []
    return _leaves(value[path[0]], path[1:])


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def matches(query: HubQuery, event: dict[str, Any]) -> bool:
    """Whether the event, as posted, is one the query wants."""
    if query.event_types is not None and event.get("eventType") not in query.event_types:
        return False
    return all(
        any(_text(leaf) in f.values for leaf in _leaves(event, f.path) if leaf is not None)
        for f in query.filters
    )


def _copy(source: Any, target: dict[str, Any], path: tuple[str, ...]) -> None:
    if not isinstance(source, dict) or path[0] not in source:
        return
    if len(path) == 1:
        target[path[0]] = source[path[0]]
        return
    inner = source[path[0]]
    if isinstance(inner, list):
        existing = target.setdefault(path[0], [{} for _ in inner])
        for element, kept in zip(inner, existing, strict=False):
            _copy(element, kept, path[1:])
        return
    _copy(inner, target.setdefault(path[0], {}), path[1:])


def project(query: HubQuery, event: dict[str, Any]) -> dict[str, Any]:
    """The event with only the fields the query keeps (all of it without `fields`)."""
    if query.fields is None:
        return event
    kept: dict[str, Any] = {k: event[k] for k in ENVELOPE if k in event}
    resource_key = (
        "cancelServiceOrder" if event.get("eventType") in CANCEL_TYPES else "serviceOrder"
    )
    paths = [*query.fields, *(("event", resource_key, k) for k in ALWAYS_KEPT)]
    for path in paths:
        _copy(event, kept, path)
    return kept
