"""Standard Webhooks signatures (https://www.standardwebhooks.com/): what each event POST
carries so that a receiver can trust it and drop a duplicate.

`webhook-id` is the event's id, the same on every retry; `webhook-timestamp` the send's Unix
time in seconds; `webhook-signature` is `v1,` and the base64 HMAC-SHA256, keyed with the
subscription's secret, of `{id}.{timestamp}.{body}`. A secret is `whsec_` and 32 random bytes
in base64, given to the subscriber once, at registration.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
SIGNATURE_VERSION = "v1"
# A receiver refuses a timestamp further than this from its clock (replays).
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }


def verify(
    secret: str, received: dict[str, str], body: bytes, now: int, tolerance: int = TOLERANCE_SECONDS
) -> bool:
    """What a receiver checks: the timestamp is recent and one of the space-separated
    signatures is the one the secret gives."""
    try:
        message_id = received["webhook-id"]
        timestamp = int(received["webhook-timestamp"])
        given = received["webhook-signature"].split()
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, message_id, timestamp, body)
    return any(hmac.compare_digest(candidate, expected) for candidate in given)
