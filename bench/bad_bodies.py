"""The bodies of the memory phase's bad input: valid JSON of about the body limit that the API
must refuse, and the largest order the input limits allow.

Built from the seed body so that each differs from a real order only by what makes it bad.
A body just under ORDERHUB_MAX_BODY_BYTES is read whole and refused by validation (400); one
just over is refused while being read (413). Either way the API must not keep what it read.
Pure, so that tests/unit/test_bench_bad_bodies.py can check the sizes and the limits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.domain.limits import MAX_ARRAY, MAX_ITEMS, MAX_TEXT_LENGTH

UNDER_BY = 64  # bytes under the limit of the bodies refused by validation
OVER_BY = (1, 1_024, 16_384, 65_536, 262_144)  # bytes over the limit of those answered 413


@dataclass(frozen=True)
class BadBody:
    kind: str
    data: bytes
    expected: int  # the status the API should answer


def _dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def _pad_description(body: dict[str, Any], size: int) -> bytes:
    """`body` with its description grown so that the JSON is exactly `size` bytes (ASCII
    padding: one byte per character)."""
    body = {**body, "description": ""}
    room = size - len(_dumps(body))
    if room < 0:
        raise ValueError(f"the body is already {size - room} bytes, over {size}")
    return _dumps({**body, "description": "x" * room})


def long_text(seed: dict[str, Any], size: int, external_id: str) -> bytes:
    """One description far beyond MAX_TEXT_LENGTH."""
    return _pad_description({**seed, "externalId": external_id}, size)


def many_notes(seed: dict[str, Any], size: int, external_id: str) -> bytes:
    """Tens of thousands of small notes: one array far beyond MAX_ARRAY; the description pads
    the rest (well within MAX_TEXT_LENGTH)."""
    note = {"id": "0", "author": "bench", "date": "2019-04-30T08:13:59.509Z", "text": "n"}
    body = {**seed, "externalId": external_id, "description": "", "note": []}
    per_note = len(json.dumps(note)) + 8  # room for the separator and a longer id
    count = max(0, (size - len(_dumps(body)) - MAX_TEXT_LENGTH // 2) // per_note)
    body["note"] = [{**note, "id": str(n)} for n in range(count)]
    return _pad_description(body, size)


def deep(seed: dict[str, Any], size: int, external_id: str) -> bytes:
    """One value nested as deep as the size allows: far beyond MAX_DEPTH, and beyond any
    recursive parser's own limit."""
    head = {"externalId": external_id, "priority": seed.get("priority", "1"), "x": None}
    text = _dumps(head)
    room = size - len(text) + len(b"null")
    levels = room // 2
    nested = b"[" * levels + b"]" * levels + b" " * (room - 2 * levels)
    return text.replace(b"null", nested, 1)


def bad_bodies(seed: dict[str, Any], limit: int, prefix: str) -> list[BadBody]:
    """Ten bodies of about `limit` bytes: five just under it that validation refuses (400) and
    five over it (413)."""
    under = limit - UNDER_BY
    bodies = [
        BadBody("long text", long_text(seed, under, f"{prefix}-u1"), 400),
        BadBody("long text", long_text(seed, under, f"{prefix}-u2"), 400),
        BadBody("many notes", many_notes(seed, under, f"{prefix}-u3"), 400),
        BadBody("many notes", many_notes(seed, under, f"{prefix}-u4"), 400),
        BadBody("deep nesting", deep(seed, under, f"{prefix}-u5"), 400),
    ]
    makers = (long_text, many_notes, long_text, many_notes, long_text)
    for n, (make, over) in enumerate(zip(makers, OVER_BY, strict=True), start=1):
        kind = "long text" if make is long_text else "many notes"
        bodies.append(BadBody(kind, make(seed, limit + over, f"{prefix}-o{n}"), 413))
    return bodies


def largest_order(seed: dict[str, Any], external_id: str) -> bytes:
    """The seed order with MAX_ITEMS items, each a copy of its first with an id of its own:
    as large as the input limits let an order be in items."""
    item = seed["serviceOrderItem"][0]
    items = [{**item, "id": str(n)} for n in range(1, MAX_ITEMS + 1)]
    assert len(items) <= MAX_ARRAY
    return _dumps({**seed, "externalId": external_id, "serviceOrderItem": items})
