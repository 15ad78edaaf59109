"""Every operation of app/openapi.json fuzzed against a real `orderhub serve` on the demo
catalogue, as a user holding every role: no 5xx, every status documented for its operation,
every body, header and Content-Type as documented, every request that breaks the document
refused with a 4xx, and a deleted order gone (docs/api.md#the-openapi-document).

Schemathesis generates the requests from the document, valid ones and invalid ones, seeded so
that every run sends the same. ORDERHUB_FUZZ_EXAMPLES sets how many cases each operation gets
at most; ORDERHUB_FUZZ_COVERAGE=1 adds every boundary value the document defines (thousands
of requests: minutes).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis

from app.cli.embedded import free_port
from app.settings import Settings
from tests.helpers.auth import TEST_USERS, auth
from tests.helpers.databases import cloned_database
from tests.helpers.paths import OPENAPI_DOCUMENT
from tests.helpers.payloads import (
    ORDER_COMPLETED,
    ORDER_IN_PROGRESS,
    ORDER_NEW,
    ORDER_TO_CANCEL,
    ORDERS,
    TMF_CANCELS,
    TMF_ORDERS,
    async_example,
    example,
    sn_add_order,
    tmf_add_order,
)
from tests.helpers.processes import request, start, stop, wait_ready
from tests.helpers.settings import isolated_settings

EXAMPLES = int(os.environ.get("ORDERHUB_FUZZ_EXAMPLES", "5"))
COVERAGE = os.environ.get("ORDERHUB_FUZZ_COVERAGE", "") == "1"
USER = "admin"
JSON = "application/json"
REFUSALS = [400, 401, 403, 404, 405, 406, 408, 409, 413, 415, 422, 429, 431]

schema = schemathesis.openapi.from_path(
    OPENAPI_DOCUMENT,
    config=schemathesis.Config.from_dict(
        {
            "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none"},
            # A busy machine makes generation slow; that is no failure of the API.
            "suppress-health-check": ["all"],
            "auth": {"basic": {"username": USER, "password": TEST_USERS[USER][0]}},
            "phases": {"coverage": {"enabled": COVERAGE}},
            "checks": {
                "enabled": False,
                "not_a_server_error": {"enabled": True},
                "status_code_conformance": {"enabled": True},
                "content_type_conformance": {"enabled": True},
                "response_schema_conformance": {"enabled": True},
                "response_headers_conformance": {"enabled": True},
                # A request that breaks the document is refused; the request line or a
                # header too long for the server (431) is refused as surely as a 400.
                "negative_data_rejection": {
                    "enabled": True,
                    "expected-statuses": REFUSALS,
                },
                # After a 204 DELETE the order is gone.
                "use_after_free": {"enabled": True},
            },
        }
    ),
)


@dataclass
class Api:
    url: str
    # What a path's {id} may name, by the kind of record: a generated id mostly names nothing
    # (404), so some cases are given one that exists, to check what the API answers then.
    ids: dict[str, list[str]]

    def known_id(self, case: schemathesis.Case) -> None:
        original = case.path_parameters.get("id") if case.path_parameters else None
        if not isinstance(original, str):
            return
        if "/queue/" in case.path:
            choices = self.ids["queue"]
        elif "/cancelServiceOrder/" in case.path:
            choices = self.ids["cancellation"]
        else:
            choices = self.ids["order"]
        pick = zlib.crc32(original.encode("utf-8", "surrogatepass")) % (len(choices) + 1)
        if pick < len(choices):
            case.path_parameters["id"] = choices[pick]


@pytest.fixture(scope="module")
async def fuzz_settings(
    postgres_admin_url: str, demo_template_db: str, redis_url: str
) -> AsyncIterator[Settings]:
    async with cloned_database(postgres_admin_url, demo_template_db) as url:
        async with isolated_settings(url, redis_url) as settings:
            yield settings


def _records(url: str) -> dict[str, list[str]]:
    """An order of each flavour, one queued entry and one cancellation, beside the demo's."""
    headers = auth(USER)

    def post(path: str, body: object, status: int) -> dict[str, str]:
        answer = request("POST", url + path, json_body=body, headers=headers)
        assert answer.status == status, answer.body
        created: dict[str, str] = answer.json()
        return created

    sn = post(ORDERS, sn_add_order(), 201)["id"]
    tmf = post(TMF_ORDERS, tmf_add_order(), 201)["id"]
    queued = post(f"{ORDERS}?mode=async", async_example(), 202)["orderId"]
    cancelled = post(TMF_CANCELS, {"serviceOrder": {"id": sn}}, 201)["id"]
    return {
        "order": [ORDER_NEW, ORDER_IN_PROGRESS, ORDER_COMPLETED, ORDER_TO_CANCEL, sn, tmf, queued],
        "queue": [queued],
        "cancellation": [cancelled],
    }


@pytest.fixture(scope="module")
def api(fuzz_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    port = free_port()
    env = {
        "DATABASE_URL": fuzz_settings.database_url,
        "REDIS_URL": fuzz_settings.redis_url,
        "ORDERHUB_QUEUE_NAME": fuzz_settings.orderhub_queue_name,
        "PORT": str(port),
        # Cases with made-up credentials must not make every later request from 127.0.0.1 wait.
        "ORDERHUB_SIGNIN_FAILURES": "1000000",
    }
    log: Path = tmp_path_factory.mktemp("fuzz") / "serve.log"
    process = start("serve", env=env, log=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, 60, process)
        yield Api(url, _records(url))
    finally:
        stop(process)
    # A 500's traceback is in the log, under the reference its answer names.
    errors = [line for line in log.read_text(errors="replace").splitlines() if "Traceback" in line]
    assert not errors, "\n".join(errors)


# The contract's own examples (tests/seed_examples), but the callback, which needs an order
# sent for fulfilment; they run before the fuzzing changes the demo orders they name.
SEED_EXAMPLES = [
    "01_get_list",
    "02_get_by_id",
    "03_patch",
    "04_cancel",
    "05_post_async",
    "06_post_add",
    "07_post_change",
    "08_post_delete",
]


@pytest.mark.parametrize("name", SEED_EXAMPLES)
def test_the_contracts_examples_are_answered_as_documented(name: str, api: Api) -> None:
    seed = example(name)
    last = seed["path"].rpartition("/")[2]
    operation = schema.find_operation_by_path(seed["method"], seed["path"])
    assert operation is not None, seed["path"]
    case = operation.Case(
        path_parameters={"id": last} if operation.path.endswith("{id}") else {},
        query=seed["query"],
        headers=auth(USER),
        **({} if seed["body"] is None else {"body": seed["body"], "media_type": JSON}),
    )
    response = case.call_and_validate(base_url=api.url)
    assert response.status_code == seed["expected_status"], response.text


@schema.parametrize()
def test_operation(case: schemathesis.Case, api: Api) -> None:
    api.known_id(case)
    case.call_and_validate(base_url=api.url)
