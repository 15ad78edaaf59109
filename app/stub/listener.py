"""The stub as a hub listener: it takes event POSTs on `/listener` (and any path below it),
records each with whether its Standard Webhooks signature checks out against the secrets it
was given, and can be told to fail (500) for a while or be slow, like a real subscriber.

The signature check is written here again on purpose: the stub stands for a receiver outside
OrderHub and shares nothing with it but settings and logs (pyproject's import contracts).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from app import logs
from app.stub.records import now

LISTENER_MODES = ("normal", "fail", "slow")
SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
TOLERANCE_SECONDS = 300


def signature_valid(secret: str, headers: dict[str, str], body: bytes, at: float) -> bool:
    """As https://www.standardwebhooks.com/ has a receiver check it."""
    try:
        message_id = headers["webhook-id"]
        timestamp = int(headers["webhook-timestamp"])
        given = headers["webhook-signature"].split()
        key = base64.b64decode(secret.removeprefix("whsec_"))
    except (KeyError, ValueError):
        return False
    if abs(at - timestamp) > TOLERANCE_SECONDS:
        return False
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(digest).decode()
    return any(hmac.compare_digest(g, expected) for g in given)


class ListenerConfigError(ValueError):
    """A `POST /stub/listener/config` body the stub cannot apply; nothing was changed."""


@dataclass
class Listener:
    mode: str = "normal"
    fail_next: int = 0  # answer this many POSTs 500 (then as the mode says)
    slow_seconds: float = 10.0
    secrets: list[str] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)

    def update(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise ListenerConfigError("the body must be a JSON object")
        known = {"mode", "failNext", "slowSeconds", "secrets"}
        unknown = sorted(set(body) - known)
        if unknown:
            raise ListenerConfigError(f"unknown field {', '.join(unknown)}; known: {sorted(known)}")
        mode = body.get("mode", self.mode)
        if mode not in LISTENER_MODES:
            raise ListenerConfigError(f"mode must be one of {', '.join(LISTENER_MODES)}")
        fail_next = body.get("failNext", self.fail_next)
        if isinstance(fail_next, bool) or not isinstance(fail_next, int) or fail_next < 0:
            raise ListenerConfigError("failNext must be a whole number of at least 0")
        slow = body.get("slowSeconds", self.slow_seconds)
        if isinstance(slow, bool) or not isinstance(slow, int | float) or slow < 0:
            raise ListenerConfigError("slowSeconds must be a number of at least 0")
        secrets = body.get("secrets", self.secrets)
        if not isinstance(secrets, list) or not all(isinstance(s, str) for s in secrets):
            raise ListenerConfigError("secrets must be a list of strings")
        self.mode, self.fail_next, self.slow_seconds = mode, fail_next, float(slow)
        self.secrets = list(secrets)

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "failNext": self.fail_next,
            "slowSeconds": self.slow_seconds,
            "secrets": len(self.secrets),
            "received": len(self.received),
        }

    def _answer(self) -> int:
        if self.fail_next > 0:
            self.fail_next -= 1
            return 500
        return 500 if self.mode == "fail" else 200

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        signed = {h: headers[h] for h in SIGNATURE_HEADERS if h in headers}
        valid = (
            any(signature_valid(s, signed, raw, time.time()) for s in self.secrets)
            if self.secrets
            else None
        )
        try:
            body: Any = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = None
        if self.mode == "slow":
            await asyncio.sleep(self.slow_seconds)
        status = self._answer()
        event_id = body.get("eventId") if isinstance(body, dict) else None
        self.received.append(
            {
                "path": request.path,
                "receivedAt": now(),
                "status": status,
                "headers": signed,
                "signatureValid": valid,
                "eventId": event_id,
                "body": body,
            }
        )
        logs.get().info(
            "stub_event_received",
            event_id=event_id,
            event_type=body.get("eventType") if isinstance(body, dict) else None,
            status=status,
            signature_valid=valid,
        )
        return web.json_response({"received": event_id}, status=status)
