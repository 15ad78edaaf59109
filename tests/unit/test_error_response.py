"""The error object's headers: Retry-After comes from the rule that refused when it knows, else
from the kind of failure."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from app.domain.errors import ApiError, ErrorKind
from app.http.middlewares import error_response


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ApiError(ErrorKind.TOO_MANY_REQUESTS, "wait", retry_after=17), "17"),
        (ApiError(ErrorKind.UNAVAILABLE, "down"), "5"),
        (ApiError(ErrorKind.UNAVAILABLE, "down", retry_after=2), "2"),
        (ApiError(ErrorKind.BUSY, "locked"), "1"),
        (ApiError(ErrorKind.INVALID_FIELD, "bad"), None),
    ],
)
def test_retry_after(error: ApiError, expected: str | None) -> None:
    response = error_response(make_mocked_request("GET", "/api/x"), error)
    assert response.status == error.kind.status
    assert response.headers.get("Retry-After") == expected


def test_the_standard_flavour_gets_a_string_code() -> None:
    response = error_response(
        make_mocked_request("GET", "/tmf-api/serviceOrdering/v4/serviceOrder"),
        ApiError(ErrorKind.NOT_FOUND, "none"),
    )
    assert response.body is not None and b'"code":"60"' in bytes(response.body)  # type: ignore[arg-type]
