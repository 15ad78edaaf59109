"""Query strings of the list endpoints: paging, projection and filters."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from marshmallow import Schema, ValidationError, fields, validate

from app.domain.errors import ApiError, ErrorKind
from app.http.middlewares import ok_json

MAX_LIMIT = 100
MAX_OFFSET = 2**31 - 1


class _Paging(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1), strict=False)
    offset = fields.Integer(
        load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET), strict=False
    )
    field_list = fields.String(load_default=None, data_key="fields")


class ServiceOrderListQuery(_Paging):
    state = fields.String(load_default=None)


def load_query(schema: Schema, query: Any) -> dict[str, Any]:
    """Known parameters validated (400, code 28, naming the parameter); others left to filters."""
    known = {
        f.data_key or n: query[f.data_key or n]
        for n, f in schema.fields.items()
        if (f.data_key or n) in query
    }
    try:
        loaded: dict[str, Any] = schema.load(known)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"query": exc.messages}
        name, problems = next(iter(messages.items()))
        text = problems[0] if isinstance(problems, list) else str(problems)
        raise ApiError(
            ErrorKind.INVALID_QUERY, f"Invalid query parameter {name}: {text}", f"?{name}"
        ) from None
    loaded["limit"] = min(loaded["limit"], MAX_LIMIT)
    return loaded


def field_names(raw: str | None) -> set[str] | None:
    if not raw:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def project(rendered: dict[str, Any], wanted: set[str] | None) -> dict[str, Any]:
    """Keeps the fields asked for (unknown ones are ignored); id and href always stay."""
    if wanted is None:
        return rendered
    keep = wanted | {"id", "href"}
    return {key: value for key, value in rendered.items() if key in keep}


def page_response(body: list[dict[str, Any]], total: int, offset: int) -> web.Response:
    """200 when the body is the whole result, 206 when it is a part; the totals as headers
    (`Content-Range`, as the contract shows it: offset=2&limit=3 is `items 3-5`)."""
    whole = offset == 0 and len(body) == total
    response = ok_json(body, status=200 if whole else 206)
    response.headers["X-Total-Count"] = str(total)
    response.headers["X-Result-Count"] = str(len(body))
    if body:
        response.headers["Content-Range"] = f"items {offset + 1}-{offset + len(body)}"
    return response
