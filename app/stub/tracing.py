"""The W3C `traceparent` as a fulfilment system would treat it: it logs the trace id it was
called in and calls back in the same trace, a span of its own per call.

Kept apart from app.domain.trace_context on purpose: the stub stands for an external system
and shares nothing with OrderHub but settings and logs (pyproject's import contracts). It
needs only the trace id and flags of a well-formed header.
"""

from __future__ import annotations

import re
import secrets

HEADER = "traceparent"
_FORMAT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")


def received_trace(header: str | None) -> tuple[str, str] | None:
    """(trace id, flags) of a valid header, else None: the call then starts no trace here."""
    match = _FORMAT.match((header or "").strip())
    if match is None or match[1] == "ff" or set(match[2]) == {"0"} or set(match[3]) == {"0"}:
        return None
    if match[1] == "00" and match[5] is not None:
        return None
    return match[2], match[4]


def callback_traceparent(trace: tuple[str, str] | None) -> dict[str, str]:
    """The header of a callback in `trace`: its trace id, a new span id; none without one."""
    if trace is None:
        return {}
    return {HEADER: f"00-{trace[0]}-{secrets.token_hex(8)}-{trace[1]}"}
