"""A stand-in for OrderHub's outboundresponse endpoint, for the SOM/TOM stub to call back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.helpers.polling import wait_for_async


@dataclass
class Receiver:
    """Records every call, answers from `statuses` (201 once they run out)."""

    url: str = ""
    calls: list[dict[str, Any]] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.calls.append(await request.json())
        self.auth.append(request.headers["Authorization"])
        status = self.statuses.pop(0) if self.statuses else 201
        return web.json_response({"seen": len(self.calls)}, status=status)

    async def wait_for(self, count: int, within: float = 5) -> list[dict[str, Any]]:
        """The calls, once there are at least `count`."""
        await wait_for_async(
            lambda: len(self.calls) >= count,
            within,
            f"{count} callbacks (have {len(self.calls)})",
            interval=0.01,
        )
        return self.calls

    def states(self) -> list[list[str]]:
        return [[item["state"] for item in call["serviceOrderItem"]] for call in self.calls]
