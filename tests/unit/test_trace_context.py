"""W3C traceparent: what is accepted, what is ignored, and the spans made from it."""

from __future__ import annotations

import re

import pytest

from app.domain.trace_context import (
    TraceContext,
    continue_from,
    new_span_id,
    new_trace_id,
    parse,
    trace_id_of,
)
from app.stub.tracing import callback_traceparent, received_trace

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
VALID = f"00-{TRACE}-{PARENT}-01"
HEADER_FORMAT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


def test_a_valid_header_is_read() -> None:
    assert parse(VALID) == TraceContext(TRACE, PARENT, "01")
    assert parse(f" 00-{TRACE}-{PARENT}-00 ") == TraceContext(TRACE, PARENT, "00")
    assert trace_id_of(VALID) == TRACE


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        f"00-{'0' * 32}-{PARENT}-01",  # all-zero trace id
        f"00-{TRACE}-{'0' * 16}-01",  # all-zero parent id
        f"00-{TRACE.upper()}-{PARENT}-01",  # upper case hex
        f"00-{TRACE[:-1]}-{PARENT}-01",  # short trace id
        f"00-{TRACE}-{PARENT}0-01",  # long parent id
        f"00-{TRACE}-{PARENT}-1",  # one-digit flags
        f"ff-{TRACE}-{PARENT}-01",  # the forbidden version
        f"00-{TRACE}-{PARENT}-01-extra",  # version 00 has exactly four fields
        f"0-{TRACE}-{PARENT}-01",
        f"00_{TRACE}_{PARENT}_01",
    ],
)
def test_an_invalid_header_is_ignored(header: str | None) -> None:
    assert parse(header) is None
    assert trace_id_of(header) is None
    assert received_trace(header) is None
    made = continue_from(header)
    assert made.trace_id != TRACE and HEADER_FORMAT.match(made.traceparent)


def test_a_later_version_is_read_for_its_first_fields() -> None:
    assert parse(f"01-{TRACE}-{PARENT}-01-what-comes-later") == TraceContext(TRACE, PARENT, "01")


def test_continuing_keeps_the_trace_and_flags_with_a_new_span() -> None:
    span = continue_from(f"00-{TRACE}-{PARENT}-00")
    assert span.trace_id == TRACE and span.flags == "00" and span.span_id != PARENT
    assert span.traceparent == f"00-{TRACE}-{span.span_id}-00"
    child = span.child()
    assert child.trace_id == TRACE and child.span_id not in (span.span_id, PARENT)


def test_a_new_trace_is_sampled_and_well_formed() -> None:
    made = continue_from(None)
    assert HEADER_FORMAT.match(made.traceparent) and made.flags == "01"
    assert parse(made.traceparent) == made
    ids = {new_trace_id() for _ in range(100)} | {new_span_id() for _ in range(100)}
    assert len(ids) == 200
    assert all(set(i) != {"0"} for i in ids)


def test_the_stub_calls_back_in_the_trace_it_was_called_in() -> None:
    assert received_trace(VALID) == (TRACE, "01")
    header = callback_traceparent(received_trace(VALID))["traceparent"]
    assert HEADER_FORMAT.match(header) and parse(header) is not None
    assert trace_id_of(header) == TRACE and PARENT not in header
    assert callback_traceparent(None) == {}
