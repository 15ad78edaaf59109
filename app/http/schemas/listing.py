"""Query strings of the list endpoints: paging, projection and filters."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from marshmallow import Schema, ValidationError, fields, validate
from multidict import MultiDict

from app.domain import cursors
from app.domain.errors import ApiError, ErrorKind
from app.domain.stored_order import StoredOrder
from app.http.middlewares import ok_json

MAX_LIMIT = 100
MAX_OFFSET = 2**31 - 1


class _Paging(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1), strict=False)
    offset = fields.Integer(
        load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET), strict=False
    )
    field_list = fields.String(load_default=None, data_key="fields")


class OrderPaging(_Paging):
    """Order lists also page by cursor: `after` from the Link header of the page before."""

    after = fields.String(load_default=None, validate=validate.Length(min=1, max=1_000))


class ServiceOrderListQuery(OrderPaging):
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
    if loaded.get("after") is not None:
        if loaded["offset"]:
            raise ApiError(
                ErrorKind.INVALID_QUERY,
                "Invalid query parameter after: a page has either an offset or a cursor.",
                "?after",
            )
        loaded["after"] = cursors.decode(loaded["after"])
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


def page_response(
    body: list[dict[str, Any]], total: int, offset: int | None, next_page: str | None = None
) -> web.Response:
    """200 when the body is the whole result, 206 when it is a part; the totals as headers
    (`Content-Range`, as the contract shows it: offset=2&limit=3 is `items 3-5`; a page by
    cursor has no offset, so no range). `next_page`, when given, becomes `Link: rel="next"`."""
    whole = offset == 0 and len(body) == total
    response = ok_json(body, status=200 if whole else 206)
    response.headers["X-Total-Count"] = str(total)
    response.headers["X-Result-Count"] = str(len(body))
    if body and offset is not None:
        response.headers["Content-Range"] = f"items {offset + 1}-{offset + len(body)}"
    if next_page is not None and not whole:
        response.headers["Link"] = f'<{next_page}>; rel="next"'
    return response


def next_page(request: web.Request, page: list[StoredOrder], limit: int) -> str | None:
    """The same query continuing after the page's last order; none after a short page."""
    if len(page) < limit:
        return None
    last = page[-1].order
    query = MultiDict(request.rel_url.query)
    query.popall("offset", None)
    query["after"] = cursors.encode(last["order_date"], last["sys_id"])
    return str(request.rel_url.with_query(query))
