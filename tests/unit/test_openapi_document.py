"""app/openapi.json names every route the app registers, and nothing else, so it can't drift."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema_rs
import pytest
from aiohttp import web

from app.domain import messages as m
from app.domain.errors import ErrorKind, error_body
from app.domain.inbound import QUEUE_STATES
from app.http.app import create_app
from app.settings import Settings
from tests.helpers.paths import OPENAPI_DOCUMENT as DOCUMENT

METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
_PLACEHOLDER = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


def _document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT.read_text())
    return loaded


def _normalise(path: str) -> str:
    """`{id:regex}` and `{id}` alike."""
    return _PLACEHOLDER.sub(lambda m: "{" + m.group(1) + "}", path)


def registered(app: web.Application) -> set[tuple[str, str]]:
    """(METHOD, path) of every route, without the HEAD aiohttp adds beside each GET, and
    without the console's pages and files (/console, /console/static): they are not API."""
    return {
        (route.method, _normalise(route.resource.canonical))
        for route in app.router.routes()
        if route.resource is not None
        and route.method != "HEAD"
        and not (route.resource.canonical + "/").startswith("/console/")
    }


def documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), _normalise(path))
        for path, item in doc["paths"].items()
        for method in item
        if method in METHODS
    }


def test_document_names_exactly_the_registered_routes() -> None:
    routes = registered(create_app(Settings.from_env({})))
    doc = documented(_document())
    missing = sorted(routes - doc)
    extra = sorted(doc - routes)
    lines = ["app/openapi.json and the routes create_app registers differ."]
    if missing:
        lines.append("Registered but missing from the document:")
        lines += [f"  {method} {path}" for method, path in missing]
    if extra:
        lines.append("In the document but not registered:")
        lines += [f"  {method} {path}" for method, path in extra]
    assert not missing and not extra, "\n".join(lines)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def test_document_is_well_formed_openapi_3() -> None:
    doc = _document()
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] and doc["info"]["version"]
    for ref in _refs(doc):
        assert ref.startswith("#/"), ref
        node: Any = doc
        for part in ref[2:].split("/"):
            assert isinstance(node, dict) and part in node, f"unresolved $ref {ref}"
            node = node[part]
    operation_ids = []
    for path, item in doc["paths"].items():
        names = set(_PLACEHOLDER.findall(path))
        for method, operation in item.items():
            assert operation["responses"], (method, path)
            operation_ids.append(operation["operationId"])
            params = [
                doc["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p
                for p in operation.get("parameters", [])
            ]
            in_path = {p["name"] for p in params if p["in"] == "path"}
            assert in_path == names, (method, path, in_path)
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"
    error = doc["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "reason", "message", "details"}


def test_both_flavours_and_operator_paths_are_described() -> None:
    paths = _document()["paths"]
    for path in (
        "/api/sn_tmf_api/order/serviceOrder",
        "/api/sn_tmf_api/serviceorder",
        "/api/sn_tmf_api/cancelserviceorder",
        "/tmf-api/serviceOrdering/v4/serviceOrder/{id}",
        "/tmf-api/serviceOrdering/v4/cancelServiceOrder",
        "/health",
        "/ready",
        "/api/orderhub/whoami",
    ):
        assert path in paths, path
    create = paths["/api/sn_tmf_api/order/serviceOrder"]["post"]
    names = [p.get("$ref", "").rsplit("/", 1)[-1] for p in create["parameters"]]
    assert "Mode" in names


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def test_every_error_code_is_described_under_its_status() -> None:
    """A client generated from the document knows every code the service answers with."""
    described = _document()["components"]["responses"]
    missing = []
    for kind in ErrorKind:
        if kind.status < 400:
            continue
        text = described.get(f"E{kind.status}", {}).get("description", "")
        if not re.search(rf"\b{kind.code}\b", text):
            missing.append(f"{kind.name} ({kind.code}) under E{kind.status}")
    assert not missing, missing


def test_cross_cutting_answers_are_listed_on_every_operation_they_apply_to() -> None:
    """431 and 400 (malformed) can come from any request; 429 from any sign-in; 408 from any
    body; 409 busy from any operation that reads the database."""
    gaps = []
    for method, path, op in _operations(_document()):
        answers = op["responses"]
        wanted = {"400", "431"}
        if "401" in answers:
            wanted.add("429")
        if method in {"POST", "PATCH"}:
            wanted.add("408")
        if "503" in answers and path != "/ready":
            wanted.add("409")
        gaps += [f"{method} {path}: {status}" for status in sorted(wanted - answers.keys())]
    assert not gaps, gaps


def test_retry_after_is_documented_where_it_is_sent() -> None:
    described = _document()["components"]["responses"]
    for name in ("E409", "E429", "E503"):
        assert "Retry-After" in described[name]["headers"], name


@pytest.mark.parametrize(
    "path", ["/api/sn_tmf_api/order/serviceOrder/{id}", "/api/sn_tmf_api/serviceorder/{id}"]
)
def test_a_retrieved_order_and_a_queued_ones_status_each_match_one_answer(path: str) -> None:
    """The 200 of a GET by id is an order or, while queued, the error object with code 102:
    one of the two (`oneOf`), so each body must match exactly one of them."""
    doc = _document()
    answer = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    queued = error_body(ErrorKind.IN_QUEUE, m.QUEUE_STILL_IN_QUEUE, "")
    order = {"id": "4f2af65ac3a030106e2473ce3640ddcf", "href": f"{path[:-5]}/4f2a", "state": "new"}
    for body in (queued, order):
        matching = [
            branch
            for branch in answer["schema"]["oneOf"]
            if jsonschema_rs.Draft4Validator({**branch, "components": doc["components"]}).is_valid(
                body
            )
        ]
        assert len(matching) == 1, (body, matching)


def test_what_the_operator_api_refuses_the_document_does_not_offer() -> None:
    """A request valid against the document is one the API can accept: the queue's states are
    the ones it filters on, and a retry's body, when there is one, holds `payload`."""
    doc = _document()
    assert doc["components"]["parameters"]["QueueState"]["schema"]["enum"] == list(QUEUE_STATES)
    retry = doc["paths"]["/api/orderhub/queue/{id}/retry"]["post"]["requestBody"]
    assert retry["required"] is False
    assert retry["content"]["application/json"]["schema"]["required"] == ["payload"]
