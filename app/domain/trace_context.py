"""W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` header that lets
one order be followed through the API, the workers, SOM/TOM and their callbacks.

Only version 00 is made; a later version is read for its first four fields, as the
recommendation asks. A header that does not parse is ignored and a new trace begins.
"""

from __future__ import annotations

import random
import re
from typing import NamedTuple

HEADER = "traceparent"
_VERSION = "00"
_SAMPLED = "01"
_FORMAT = re.compile(
    r"^(?P<version>[0-9a-f]{2})-(?P<trace_id>[0-9a-f]{32})-(?P<parent_id>[0-9a-f]{16})"
    r"-(?P<flags>[0-9a-f]{2})(?P<rest>-.*)?$"
)
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


class TraceContext(NamedTuple):
    """A span: the trace it belongs to, its own id, and the trace flags. A tuple: one is made
    for every request."""

    trace_id: str
    span_id: str
    flags: str = _SAMPLED

    @property
    def traceparent(self) -> str:
        return f"{_VERSION}-{self.trace_id}-{self.span_id}-{self.flags}"

    def child(self) -> TraceContext:
        """A new span of the same trace: each hop (an outbound call, a callback) is one."""
        return TraceContext(self.trace_id, new_span_id(), self.flags)


# Random, as new_sys_id; an all-zero id is invalid, so zero (2**-64 odds at worst) becomes 1.
def new_trace_id() -> str:
    return f"{random.getrandbits(128) or 1:032x}"


def new_span_id() -> str:
    return f"{random.getrandbits(64) or 1:016x}"


def parse(header: str | None) -> TraceContext | None:
    """The caller's span, or None for a missing or invalid header (ignored, not refused)."""
    if not header:
        return None
    match = _FORMAT.match(header.strip())
    if match is None:
        return None
    version, trace_id, parent_id, flags, rest = match.group(
        "version", "trace_id", "parent_id", "flags", "rest"
    )
    if version == "ff" or trace_id == _ZERO_TRACE or parent_id == _ZERO_SPAN:
        return None
    if version == _VERSION and rest is not None:
        return None
    return TraceContext(trace_id, parent_id, flags)


def trace_id_of(header: str | None) -> str | None:
    """The trace id of a stored traceparent, for a log line; None when there is none."""
    context = parse(header)
    return None if context is None else context.trace_id


def continue_from(header: str | None) -> TraceContext:
    """This hop's span: a child of the caller's when it sent a valid header, else a new trace."""
    parent = parse(header)
    if parent is None:
        return TraceContext(new_trace_id(), new_span_id())
    return parent.child()
