"""Hub subscriptions: registered, read and deleted by their owner; dead deliveries replayed by
operators."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from app.domain.callback_urls import (
    CallbackRefused,
    callback_host,
    check_addresses,
    literal_address,
)
from app.domain.errors import ApiError, ErrorKind
from app.domain.hub_query import QueryError, parse_query
from app.domain.ids import new_sys_id
from app.domain.webhooks import new_secret
from app.store import deliveries, hub
from app.store.db import Connection

RESOLVE_SECONDS = 3.0


async def _addresses(host: str) -> list[str]:
    """The addresses the host stands for; none when it cannot be looked up in time."""
    if literal_address(host) is not None:
        return [host]
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_SECONDS):
            found = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in found})


async def check_callback(url: str, *, allow_private: bool) -> None:
    """ApiError (400, code 24) when the callback may not be used."""
    try:
        host = callback_host(url)
        check_addresses(host, await _addresses(host), allow_private=allow_private)
    except CallbackRefused as exc:
        raise ApiError(ErrorKind.INVALID_FIELD, str(exc), "/callback") from None


def check_body(body: dict[str, Any]) -> tuple[str, str]:
    """(callback, query) of an EventSubscriptionInput; ApiError naming the field otherwise."""
    callback = body.get("callback")
    if callback is None:
        raise ApiError(ErrorKind.MISSING_FIELD, "Mandatory field missing: callback.", "/callback")
    if not isinstance(callback, str):
        raise ApiError(ErrorKind.INVALID_FIELD, "callback must be a string.", "/callback")
    query = body.get("query", "")
    if query is None:
        query = ""
    if not isinstance(query, str):
        raise ApiError(ErrorKind.INVALID_FIELD, "query must be a string.", "/query")
    try:
        parse_query(query)
    except QueryError as exc:
        raise ApiError(ErrorKind.INVALID_FIELD, f"Invalid query: {exc}", "/query") from None
    return callback, query


async def register(
    conn: Connection, body: dict[str, Any], *, owner: str, allow_private: bool
) -> dict[str, Any]:
    """The subscription, with its signing secret: the only time the secret is shown."""
    callback, query = check_body(body)
    await check_callback(callback, allow_private=allow_private)
    secret = new_secret()
    row = await hub.insert(
        conn,
        subscription_id=new_sys_id(),
        owner=owner,
        callback=callback,
        query=query,
        secret=secret,
    )
    return {**row, "secret": secret}


def _not_found(subscription_id: str) -> ApiError:
    return ApiError(ErrorKind.NOT_FOUND, f"No hub subscription with id {subscription_id}.", "/id")


async def get_own(conn: Connection, subscription_id: str, *, owner: str) -> dict[str, Any]:
    """Another user's subscription is as unknown as one that does not exist."""
    row = await hub.get(conn, subscription_id)
    if row is None or row["owner"] != owner:
        raise _not_found(subscription_id)
    return row


async def delete_own(conn: Connection, subscription_id: str, *, owner: str) -> None:
    if not await hub.delete_own(conn, subscription_id, owner):
        raise _not_found(subscription_id)


async def replay(
    conn: Connection, *, subscription: str | None = None, event_id: str | None = None
) -> int:
    """Dead deliveries sent again as if new; a suspended subscriber among them is active
    again (a named one even with nothing to replay). Returns how many were replayed."""
    async with conn.transaction():
        replayed = await deliveries.replay(conn, subscription=subscription, event_id=event_id)
        named = [subscription] if subscription is not None else []
        await hub.reactivate(conn, sorted({*replayed, *named}))
    return len(replayed)
