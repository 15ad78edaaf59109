"""The input limits on their own: the first value beyond one is named by its datapath."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.domain import limits
from app.domain.errors import ApiError, ErrorKind
from tests.helpers.paths import OPENAPI_DOCUMENT


def _refusal(body: Any) -> tuple[ErrorKind, str, str]:
    with pytest.raises(ApiError) as caught:
        limits.check_body(body)
    detail = caught.value.body()["details"][0]
    return caught.value.kind, detail["message"], detail["datapath"]


def _nested(depth: int) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for _ in range(depth - 1):
        body = {"x": body}
    return body


def test_a_body_at_every_limit_passes() -> None:
    limits.check_body(
        {
            "externalId": "e" * limits.MAX_ID_LENGTH,
            "description": "d" * limits.MAX_TEXT_LENGTH,
            "k" * limits.MAX_ID_LENGTH: [1] * limits.MAX_ARRAY,
            "deep": _nested(limits.MAX_DEPTH - 1),
            "big": 123456789012345678901234567890,
        }
    )


def test_one_level_too_deep_is_an_invalid_body_at_its_place() -> None:
    kind, message, datapath = _refusal({"deep": _nested(limits.MAX_DEPTH)})
    assert kind is ErrorKind.INVALID_BODY
    assert message == f"Invalid payload: nested deeper than {limits.MAX_DEPTH} levels."
    assert datapath == "/deep" + "/x" * (limits.MAX_DEPTH - 1)


@pytest.mark.parametrize(
    ("body", "message", "datapath"),
    [
        (
            {"serviceOrderItem": [{"id": "i" * 256}]},
            "Invalid payload: /serviceOrderItem/0/id is longer than 255 characters.",
            "/serviceOrderItem/0/id",
        ),
        (
            {"externalProductInventoryId": "i" * 256},
            "Invalid payload: /externalProductInventoryId is longer than 255 characters.",
            "/externalProductInventoryId",
        ),
        (
            {"note": [{"text": "t" * (limits.MAX_TEXT_LENGTH + 1)}]},
            f"Invalid payload: /note/0/text is longer than {limits.MAX_TEXT_LENGTH} characters.",
            "/note/0/text",
        ),
        (
            {"a/b": {"id": "i" * 256}},
            "Invalid payload: /a~1b/id is longer than 255 characters.",
            "/a~1b/id",
        ),
        (
            {"list": [0] * (limits.MAX_ARRAY + 1)},
            f"Invalid payload: /list has more than {limits.MAX_ARRAY} elements.",
            "/list",
        ),
    ],
)
def test_the_first_value_beyond_a_limit_is_named(
    body: dict[str, Any], message: str, datapath: str
) -> None:
    assert _refusal(body) == (ErrorKind.INVALID_FIELD, message, datapath)


def test_a_long_field_name_is_refused() -> None:
    kind, _, datapath = _refusal({"ok": {"k" * 256: 1}})
    assert kind is ErrorKind.INVALID_FIELD and datapath == "/ok"


def test_counts_the_contract_names_have_their_own_limit() -> None:
    limits.check_count([{}] * limits.MAX_ITEMS, limits.MAX_ITEMS, "/serviceOrderItem")
    with pytest.raises(ApiError) as caught:
        limits.check_count([{}] * (limits.MAX_ITEMS + 1), limits.MAX_ITEMS, "/serviceOrderItem")
    assert caught.value.body()["details"][0]["datapath"] == "/serviceOrderItem"


def test_the_published_limits_are_the_enforced_ones() -> None:
    """/openapi.json tells clients the limits; they must be the ones the checks use."""
    published = json.loads(OPENAPI_DOCUMENT.read_text())["info"]["x-input-limits"]
    assert published["maxDepth"] == limits.MAX_DEPTH
    assert published["maxArrayLength"] == limits.MAX_ARRAY
    assert published["maxServiceOrderItems"] == limits.MAX_ITEMS
    assert published["maxCharacteristicsPerItem"] == limits.MAX_CHARACTERISTICS
    assert published["maxIdLength"] == limits.MAX_ID_LENGTH
    assert published["maxTextLength"] == limits.MAX_TEXT_LENGTH
    assert published["maxQuantity"] == limits.MAX_INT4
