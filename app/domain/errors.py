"""The one error shape every failure takes (docs/contract.md#error-object).

Rules raise `ApiError`; the HTTP layer renders it. Keeping the table here lets workers store
the very same object on a failed queue entry that a synchronous caller would have received.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class ErrorKind(Enum):
    """code, reason text, HTTP status."""

    MISSING_BODY = (21, "Missing body", 400)
    INVALID_BODY = (22, "Invalid body", 400)
    MISSING_FIELD = (23, "Missing body field", 400)
    INVALID_FIELD = (24, "Invalid body field", 400)
    INVALID_QUERY = (28, "Invalid query-string parameter value", 400)
    MISSING_CREDENTIALS = (40, "Missing credentials", 401)
    INVALID_CREDENTIALS = (41, "Invalid credentials", 401)
    ACCESS_DENIED = (50, "Access denied", 403)
    NOT_FOUND = (60, "Resource not found", 404)
    METHOD_NOT_ALLOWED = (61, "Method not allowed", 405)
    CONFLICT = (62, "Conflict", 400)
    IDEMPOTENCY_MISMATCH = (63, "Idempotency conflict", 422)
    IDEMPOTENCY_IN_FLIGHT = (63, "Idempotency conflict", 409)
    TOO_LARGE = (64, "Payload too large", 413)
    UNSUPPORTED_MEDIA_TYPE = (65, "Unsupported media type", 415)
    NOT_ACCEPTABLE = (66, "Not acceptable", 406)
    TOO_MANY_REQUESTS = (67, "Too many requests", 429)
    BUSY = (68, "Resource busy", 409)
    REQUEST_TIMEOUT = (69, "Request timeout", 408)
    HEADERS_TOO_LARGE = (70, "Request header fields too large", 431)
    MALFORMED_REQUEST = (71, "Malformed request", 400)
    UNAVAILABLE = (2, "Temporarily unavailable", 503)
    INTERNAL = (1, "Internal error", 500)
    IN_QUEUE = (102, "Request in queue", 200)

    @property
    def code(self) -> int:
        return self.value[0]

    @property
    def reason(self) -> str:
        return self.value[1]

    @property
    def status(self) -> int:
        return self.value[2]


@dataclass
class ApiError(Exception):
    """A failure the client is told about, with the contract's verbatim text in `detail`."""

    kind: ErrorKind
    detail: str
    datapath: str = "/"
    # Whole seconds for a Retry-After header, where the rule that refused knows when to come back.
    retry_after: int | None = None

    def __str__(self) -> str:
        return f"{self.kind.code} {self.kind.reason}: {self.detail}"

    def body(self, *, string_code: bool = False) -> dict[str, Any]:
        """The error object; the standard TMF flavour wants `code` as a string."""
        return error_body(self.kind, self.detail, self.datapath, string_code=string_code)


def error_body(
    kind: ErrorKind, detail: str, datapath: str = "/", *, string_code: bool = False
) -> dict[str, Any]:
    return {
        "code": str(kind.code) if string_code else kind.code,
        "reason": kind.reason,
        "message": kind.reason,
        "details": [{"message": detail, "datapath": datapath}],
    }
