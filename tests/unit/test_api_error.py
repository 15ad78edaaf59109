"""The error object an ApiError renders (docs/contract.md#error-object)."""

from __future__ import annotations

from app.domain.errors import ApiError, ErrorKind


async def test_error_object_from_api_error() -> None:
    error = ApiError(ErrorKind.MISSING_FIELD, "Invalid payload: serviceOrderItem missing.")
    assert error.body() == {
        "code": 23,
        "reason": "Missing body field",
        "message": "Missing body field",
        "details": [{"message": "Invalid payload: serviceOrderItem missing.", "datapath": "/"}],
    }
    assert error.body(string_code=True)["code"] == "23"
