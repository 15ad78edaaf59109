"""Bodies checked against a definition of TM Forum's TMF641 v4.1.0 swagger (the repository's
copy, tests/fixtures/tmf641), as a client generated from that swagger would read them.

The swagger is 2.0: its definitions are draft 4 JSON Schema that refer to each other as
`#/definitions/<name>`. The whole document is registered as one resource, so those references
resolve inside it; `date-time` and `uri` are checked (rfc3339-validator, rfc3986-validator).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.helpers.paths import TMF641_SWAGGER

SWAGGER_URI = "urn:orderhub:tmf641-v4.1.0-swagger"
FORMATS = frozenset({"date-time", "uri"})


@cache
def _swagger() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(TMF641_SWAGGER.read_text())
    return loaded


@cache
def _registry() -> Registry:
    resource = Resource.from_contents(_swagger(), default_specification=DRAFT4)
    registry: Registry = Registry().with_resource(SWAGGER_URI, resource)
    return registry


@cache
def _format_checker() -> FormatChecker:
    checker = FormatChecker()
    missing = FORMATS - set(checker.checkers)
    assert not missing, f"no checker for the formats {sorted(missing)}: install the dev extra"
    return checker


def definition_names() -> list[str]:
    return sorted(_swagger()["definitions"])


def validator(definition: str) -> Draft4Validator:
    assert definition in _swagger()["definitions"], f"the swagger defines no {definition}"
    return Draft4Validator(
        {"$ref": f"{SWAGGER_URI}#/definitions/{definition}"},
        registry=_registry(),
        format_checker=_format_checker(),
    )


def definition_errors(body: Any, definition: str) -> list[str]:
    """Every way `body` breaks the definition, each as `/json/pointer: message`."""
    errors = sorted(validator(definition).iter_errors(body), key=lambda e: list(e.absolute_path))
    return ["/" + "/".join(str(p) for p in e.absolute_path) + f": {e.message}" for e in errors]


def assert_matches_definition(body: Any, definition: str) -> None:
    """`body` is valid as the swagger's `definition` (`ServiceOrder`, `CancelServiceOrder`,
    `ServiceOrderCreateEvent`, ...)."""
    errors = definition_errors(body, definition)
    assert not errors, f"not a valid {definition}:\n" + "\n".join(errors)
