"""The catalogue file's rules (parse_catalog): no database."""

from __future__ import annotations

import pytest

from app.domain.catalog import CatalogError, option_key
from app.domain.catalog_file import parse_catalog
from tests.helpers.catalog import (
    DEMO_COUNTS,
    SDWAN,
    Edit,
    append_copy,
    demo,
    edit,
    set_section,
)


def test_the_demo_file_parses() -> None:
    parsed = parse_catalog(demo())
    assert parsed.counts() == DEMO_COUNTS
    v2 = next(s for s in parsed.specifications if s.sys_id == "136c95f3521b79e28e5299a04df805ac")
    assert v2.internal_version == 2
    assert v2.initial_version == "f99546ff07266010a7955b7e0ad300a8"
    assert v2.version == "v2"
    assert v2.characteristics[0].options == (
        "Premium (Up to 50 sites)",
        "Standard (Up to 20 sites)",
    )
    any_action = next(p for p in parsed.outbound_policies if p.specification == SDWAN)
    assert any_action.action == ""
    assert any_action.hierarchical is True
    inventory = parsed.product_inventory[1]
    assert dict(inventory.characteristics) == {"Router Size": "Medium"}


def test_other_loaders_sections_and_comments_are_left_alone() -> None:
    doc = {"_note": "x", "orders": [{"anything": 1}], "outbound_requests": "not even a list"}
    assert parse_catalog(doc).counts() == dict.fromkeys(DEMO_COUNTS, 0)


def test_optional_fields_take_their_defaults() -> None:
    doc = {
        "accounts": [{"sys_id": "a1", "name": "A", "_comment": "ignored"}],
        "contacts": [{"sys_id": "c1", "name": "C"}],
        "specifications": [
            {
                "sys_id": "s1",
                "initial_version": "s1",
                "name": "S",
                "internal_version": 1,
                "status": "draft",
                "service_type": "rfs",
            }
        ],
        "product_inventory": [{"sys_id": "i1", "specification": "s1", "state": "inactive"}],
        "outbound_policies": [{"specification": "s1", "hierarchical": False, "target": "TOM"}],
    }
    parsed = parse_catalog(doc)
    assert parsed.accounts[0].external_id is None
    contact = parsed.contacts[0]
    assert (contact.first_name, contact.email, contact.account) == ("", "", None)
    spec = parsed.specifications[0]
    assert (spec.version, spec.ponr_state, spec.characteristics) == ("", "fulfilled", ())
    assert parsed.product_inventory[0].location is None
    assert dict(parsed.product_inventory[0].characteristics) == {}
    assert parsed.outbound_policies[0].action == ""


def test_options_compare_ignoring_case_and_whitespace() -> None:
    assert option_key("Basic( Customer Managed)\n\t\t") == option_key("basic (customer managed)")
    assert option_key("Premium") != option_key("Standard")


BAD_FILES: list[tuple[str, Edit, str]] = [
    (
        "wrong enum",
        edit("specifications", 2, status="live"),
        f"specifications[2] (sys_id {SDWAN}): status 'live' is not one of published, draft, "
        "retired",
    ),
    (
        "missing field",
        edit("accounts", 0, name=...),
        "accounts[0] (sys_id ffc68911c35420105252716b7d40dd55): name is missing",
    ),
    (
        "missing sys_id",
        edit("locations", 1, sys_id=...),
        "locations[1]: sys_id is missing",
    ),
    (
        "unknown key",
        edit("offerings", 1, colour="blue"),
        "offerings[1] (sys_id 068e8c831277502e194df2593bce964a): unknown field 'colour' "
        "(known: sys_id, external_id, name)",
    ),
    (
        "duplicate sys_id",
        append_copy("locations", 0),
        "locations[2] (sys_id 920cf6ac73d423002728660c4cf6a799): sys_id is also used by "
        "locations[0]",
    ),
    (
        "wrong type",
        edit("outbound_policies", 1, hierarchical="no"),
        "outbound_policies[1] (specification 10cdc73583d10cd76d9b92c2e0671987): hierarchical "
        "must be true or false, not string",
    ),
    (
        "policy target",
        edit("outbound_policies", 0, target="XOM"),
        f"outbound_policies[0] (specification {SDWAN}): target 'XOM' is not one of SOM, TOM",
    ),
    (
        "inventory state",
        edit("product_inventory", 2, state="paused"),
        "product_inventory[2] (sys_id f3dd83bc94fd300ee47e34216329ffc2): state 'paused' is not "
        "one of active, inactive, suspended",
    ),
    (
        "service type",
        edit("specifications", 0, service_type="xfs"),
        "service_type 'xfs' is not one of cfs, rfs",
    ),
    (
        "ponr state",
        edit("specifications", 0, ponr_state="done"),
        "ponr_state 'done' is not one of pending, fulfilled",
    ),
    (
        "internal version",
        edit("specifications", 0, internal_version="one"),
        "internal_version must be a whole number such as \"1\", not 'one'",
    ),
    (
        "repeated version",
        edit("specifications", 1, internal_version="1"),
        "specifications[1] (sys_id 136c95f3521b79e28e5299a04df805ac): internal_version 1 of "
        "initial_version f99546ff07266010a7955b7e0ad300a8 is also used by specifications[0]",
    ),
    (
        "characteristic unknown key",
        edit("specifications", 3, characteristics=[{"name": "X", "value_type": "Choice", "y": 1}]),
        "specifications[3] (sys_id e845bb12b2a0176a0ec3820377163165): characteristics[0]: "
        "unknown field 'y'",
    ),
    (
        "same option twice",
        edit(
            "specifications",
            3,
            characteristics=[{"name": "X", "value_type": "Choice", "options": ["A b", "a B "]}],
        ),
        "options 'A b' and 'a B ' are the same option",
    ),
    (
        "inventory characteristic value",
        edit("product_inventory", 1, characteristics={"Router Size": 3}),
        "characteristics['Router Size'] must be a string, not number",
    ),
    (
        "duplicate policy",
        append_copy("outbound_policies", 3),
        "outbound_policies[4] (specification af7445691eab4a805bcb04889e70deea): this "
        "specification with action 'delete' is also used by outbound_policies[3]",
    ),
    (
        "record not an object",
        set_section("accounts", ["x"]),
        "accounts[0]: must be an object, not string",
    ),
    (
        "section not a list",
        set_section("consumers", {}),
        "consumers: must be an array of records, not object",
    ),
    ("unknown section", set_section("widgets", []), "unknown section 'widgets'"),
]


@pytest.mark.parametrize(
    ("change", "message"), [b[1:] for b in BAD_FILES], ids=[b[0] for b in BAD_FILES]
)
def test_each_bad_record_is_named(change: Edit, message: str) -> None:
    doc = demo()
    change(doc)
    with pytest.raises(CatalogError) as caught:
        parse_catalog(doc)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_catalogue_must_be_an_object() -> None:
    with pytest.raises(CatalogError, match="must be a JSON object, not array"):
        parse_catalog([])
