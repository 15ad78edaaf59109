"""Every failure answers with the error object of CONTRACT.md and the right status."""

from __future__ import annotations

import io

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from app.http import keys
from app.http.app import create_app
from app.http.middlewares import read_json_object
from app.settings import Settings
from tests.helpers.auth import auth
from tests.helpers.error_objects import assert_error
from tests.helpers.in_process import app_client


async def _echo(request: web.Request) -> web.Response:
    return web.json_response(await read_json_object(request, empty_message="Empty payload."))


async def _boom(_request: web.Request) -> web.Response:
    raise RuntimeError("kaboom secret internals")


@pytest.fixture
async def probe(settings: Settings):  # type: ignore[no-untyped-def]
    app = create_app(settings)
    app.router.add_post("/probe", _echo)
    # The probe stands in for the callback: the one handler that takes JSON sent as a form.
    app[keys.FORM_JSON_HANDLERS] = frozenset({_echo})
    app.router.add_get("/probe/boom", _boom)
    app.router.add_get("/tmf-api/probe/boom", _boom)
    async with app_client(app) as c:
        yield c


async def test_unknown_path_is_404_error_object(client: TestClient) -> None:
    resp = await client.get("/no/such/path")
    assert resp.status == 404
    assert resp.content_type == "application/json"
    assert_error(await resp.json(), 60, "/no/such/path")


async def test_wrong_method_is_405_with_allow(client: TestClient) -> None:
    resp = await client.delete("/health")
    assert resp.status == 405
    assert "GET" in resp.headers["Allow"]
    assert_error(await resp.json(), 61, "DELETE")


async def test_malformed_json_is_400_code_22(probe: TestClient) -> None:
    resp = await probe.post("/probe", data=b'{"a": ', headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert_error(await resp.json(), 22, "Malformed JSON")


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"42", b"null"])
async def test_json_that_is_not_an_object_is_400_code_22(probe: TestClient, body: bytes) -> None:
    resp = await probe.post("/probe", data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert_error(await resp.json(), 22, "JSON object")


async def test_empty_body_is_400_code_21(probe: TestClient) -> None:
    resp = await probe.post("/probe", data=b"", headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert_error(await resp.json(), 21, "Empty payload.")


async def test_wrong_content_type_is_415(probe: TestClient) -> None:
    resp = await probe.post(
        "/probe", data=b"a=1", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert resp.status == 415
    assert_error(await resp.json(), 65, "application/x-www-form-urlencoded")


async def test_json_content_type_with_charset_is_accepted(probe: TestClient) -> None:
    resp = await probe.post(
        "/probe", data=b'{"a": 1}', headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert resp.status == 200
    assert await resp.json() == {"a": 1}


@pytest.mark.parametrize("accept", ["text/html", "application/xml, text/plain"])
async def test_unacceptable_accept_is_406(client: TestClient, accept: str) -> None:
    resp = await client.get("/health", headers={"Accept": accept})
    assert resp.status == 406
    assert_error(await resp.json(), 66)


@pytest.mark.parametrize("accept", ["*/*", "application/json", "text/html, application/json;q=0.5"])
async def test_json_accept_is_served(client: TestClient, accept: str) -> None:
    resp = await client.get("/health", headers={"Accept": accept})
    assert resp.status == 200


async def test_body_over_one_mib_is_413(probe: TestClient) -> None:
    big = io.BytesIO(b'{"a": "' + b"x" * (1024 * 1024) + b'"}')  # aiohttp warns of raw bytes
    resp = await probe.post("/probe", data=big, headers={"Content-Type": "application/json"})
    assert resp.status == 413
    assert_error(await resp.json(), 64, "1048576")


async def test_unexpected_exception_is_500_with_reference_in_log(probe: TestClient) -> None:
    with capture_logs() as logs:
        resp = await probe.get("/probe/boom")
    assert resp.status == 500
    body = await resp.json()
    assert_error(body, 1, "Reference: ")
    text = await resp.text()
    assert "kaboom" not in text and "Traceback" not in text
    reference = body["details"][0]["message"].split("Reference: ")[1].rstrip(".")
    logged = [e for e in logs if e["event"] == "unhandled_error"]
    assert logged and logged[0]["reference"] == reference
    assert logged[0]["exc_info"]


async def test_standard_flavour_uses_string_codes(probe: TestClient) -> None:
    resp = await probe.get("/tmf-api/probe/boom")
    assert resp.status == 500
    assert_error(await resp.json(), "1")


async def test_request_id_is_echoed(client: TestClient) -> None:
    resp = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert resp.headers["X-Request-ID"] == "abc-123"


async def test_request_id_is_generated_when_absent_or_unsafe(client: TestClient) -> None:
    resp = await client.get("/health")
    generated = resp.headers["X-Request-ID"]
    assert len(generated) == 32
    resp = await client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert resp.headers["X-Request-ID"] != "bad id\twith spaces"


async def test_access_log_line_has_request_fields_and_no_secrets(client: TestClient) -> None:
    with capture_logs() as logs:
        await client.get("/api/orderhub/whoami", headers={**auth("admin"), "X-Request-ID": "r-1"})
    line = next(e for e in logs if e["event"] == "request")
    assert line["method"] == "GET" and line["path"] == "/api/orderhub/whoami"
    assert line["status"] == 200 and line["user"] == "admin"
    assert isinstance(line["duration_ms"], float)
    assert "admin-pw" not in repr(logs) and "Basic " not in repr(logs)


async def test_json_labelled_as_a_form_is_read_as_json(probe: TestClient) -> None:
    """curl --data without a Content-Type, as the seed's outboundresponse example is written."""
    resp = await probe.post(
        "/probe", data=b'{"a": 1}', headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert resp.status == 200
    assert await resp.json() == {"a": 1}


@pytest.mark.parametrize(
    "body",
    [b'{"a": NaN}', b'{"a": -Infinity}', b'{"a": 1e400}', b'{"a": "\\ud800"}', b'{"a": 01}'],
)
async def test_what_is_not_storable_json_is_400_code_22(probe: TestClient, body: bytes) -> None:
    resp = await probe.post("/probe", data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert_error(await resp.json(), 22, "Malformed JSON")


async def test_nul_in_text_is_400_code_22(probe: TestClient) -> None:
    for body in (b'{"a": ["x\\u0000y"]}', b'{"a\\u0000": 1}'):
        resp = await probe.post("/probe", data=body, headers={"Content-Type": "application/json"})
        assert resp.status == 400
        assert_error(await resp.json(), 22, "\\u0000")
    escaped = b'{"a": "C:\\\\u0000"}'  # a backslash, then the letters u0000
    resp = await probe.post("/probe", data=escaped, headers={"Content-Type": "application/json"})
    assert resp.status == 200 and await resp.json() == {"a": "C:\\u0000"}


async def test_long_integers_are_read_exactly(probe: TestClient) -> None:
    body = b'{"big": 123456789012345678901234567890, "small": -9223372036854775808, "f": 0.5}'
    resp = await probe.post("/probe", data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 200
    assert await resp.json() == {
        "big": 123456789012345678901234567890,
        "small": -9223372036854775808,
        "f": 0.5,
    }
