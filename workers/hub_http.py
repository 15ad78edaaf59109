"""The HTTP client event deliveries use, apart from the one for SOM/TOM: its own connection
pool, so subscribers never take SOM/TOM's connections, and a resolver that refuses, at every
connection, a callback host that has come to stand for a loopback, link-local or private
address since it was registered (unless ORDERHUB_HUB_ALLOW_PRIVATE_CALLBACKS)."""

from __future__ import annotations

import ipaddress
import socket

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from app.domain.callback_urls import is_public

CONNECTIONS = 200


class PublicOnlyResolver(AbstractResolver):
    def __init__(self) -> None:
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = [
            r
            for r in await self._inner.resolve(host, port, family)
            if is_public(ipaddress.ip_address(r["host"].split("%")[0]))
        ]
        if not found:
            raise OSError(f"{host} stands for no public address")
        return found

    async def close(self) -> None:
        await self._inner.close()


def session(*, allow_private: bool) -> aiohttp.ClientSession:
    resolver = None if allow_private else PublicOnlyResolver()
    connector = aiohttp.TCPConnector(limit=CONNECTIONS, resolver=resolver)
    return aiohttp.ClientSession(connector=connector)
