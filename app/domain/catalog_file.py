"""The catalogue file: the rules a file must follow, and `parse_catalog`.

`parse_catalog` turns the decoded JSON of a catalogue file (app/demo/catalog.json is one) into
frozen records, or raises `CatalogError` naming the first bad record and what is wrong with it.
References between records (an inventory's specification, a contact's account) are checked by
the database when the records are stored, since they may name records loaded earlier.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final, NoReturn, TypeVar

from app.domain.catalog import (
    FOREIGN_SECTIONS,
    SECTIONS,
    Catalog,
    CatalogError,
    Characteristic,
    Contact,
    Inventory,
    NamedRecord,
    Policy,
    Specification,
    option_key,
)

SPEC_STATUSES: Final = ("published", "draft", "retired")
SERVICE_TYPES: Final = ("cfs", "rfs")
PONR_STATES: Final = ("pending", "fulfilled")
INVENTORY_STATES: Final = ("active", "inactive", "suspended")
POLICY_TARGETS: Final = ("SOM", "TOM")

T = TypeVar("T")
_INT_MAX: Final = 2**31 - 1  # the largest PostgreSQL integer


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


class _Record:
    """Reads the fields of one record, failing with the record's name in the message."""

    def __init__(self, where: str, raw: object, fields: tuple[str, ...]) -> None:
        self.where = where
        if not isinstance(raw, dict):
            self.fail(f"must be an object, not {_json_type(raw)}")
        self.raw: dict[str, Any] = raw
        self.fields = fields

    def fail(self, problem: str) -> NoReturn:
        raise CatalogError(f"{self.where}: {problem}")

    def named(self, key: str) -> None:
        """Adds the record's identifying field to its name, then rejects unknown fields."""
        self.where = f"{self.where} ({key} {self.text(key)})"
        self.check_keys()

    def check_keys(self) -> None:
        unknown = [k for k in self.raw if k not in self.fields and not k.startswith("_")]
        if unknown:
            self.fail(f"unknown field '{unknown[0]}' (known: {', '.join(self.fields)})")

    def text(self, key: str) -> str:
        """A required, non-empty string."""
        if key not in self.raw:
            self.fail(f"{key} is missing")
        value = self.raw[key]
        if not isinstance(value, str):
            self.fail(f"{key} must be a string, not {_json_type(value)}")
        if not value.strip():
            self.fail(f"{key} must not be empty")
        return value

    def optional_text(self, key: str) -> str | None:
        """A string, or None when absent or null; an empty string counts as absent too."""
        value = self.raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(f"{key} must be a string or null, not {_json_type(value)}")
        return value or None

    def plain_text(self, key: str) -> str:
        """A string that may be empty; absent or null is ''."""
        return self.optional_text(key) or ""

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> str:
        if default is not None and self.raw.get(key) is None:
            return default
        value = self.text(key)
        if value not in choices:
            self.fail(f"{key} '{value}' is not one of {', '.join(choices)}")
        return value

    def boolean(self, key: str) -> bool:
        if key not in self.raw:
            self.fail(f"{key} is missing")
        value = self.raw[key]
        if not isinstance(value, bool):
            self.fail(f"{key} must be true or false, not {_json_type(value)}")
        return value

    def whole_number(self, key: str) -> int:
        """A positive whole number, written as a JSON number or a string of digits ("1")."""
        if key not in self.raw:
            self.fail(f"{key} is missing")
        value = self.raw[key]
        if isinstance(value, str) and value.isascii() and value.isdigit():
            number = int(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            self.fail(f'{key} must be a whole number such as "1", not {value!r}')
        if not 1 <= number <= _INT_MAX:
            self.fail(f"{key} must be between 1 and {_INT_MAX}, not {number}")
        return number

    def array(self, key: str) -> list[Any]:
        value = self.raw.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(f"{key} must be an array, not {_json_type(value)}")
        return value

    def string_map(self, key: str) -> Mapping[str, str]:
        value = self.raw.get(key)
        if value is None:
            return MappingProxyType({})
        if not isinstance(value, dict):
            self.fail(f"{key} must be an object, not {_json_type(value)}")
        for name, item in value.items():
            if not isinstance(item, str):
                self.fail(f"{key}['{name}'] must be a string, not {_json_type(item)}")
        return MappingProxyType(dict(value))


_NAMED = ("sys_id", "external_id", "name")
_CONTACT = (*_NAMED, "first_name", "last_name", "email", "phone", "account")
_SPECIFICATION = (
    "sys_id",
    "initial_version",
    "external_id",
    "name",
    "internal_version",
    "version",
    "status",
    "service_type",
    "ponr_state",
    "characteristics",
)
_CHARACTERISTIC = ("name", "value_type", "options")
_INVENTORY = (
    "sys_id",
    "external_id",
    "specification",
    "location",
    "account",
    "state",
    "characteristics",
)
_POLICY = ("specification", "action", "hierarchical", "target")


def _named(r: _Record) -> NamedRecord:
    r.named("sys_id")
    return NamedRecord(r.text("sys_id"), r.optional_text("external_id"), r.text("name"))


def _contact(r: _Record) -> Contact:
    r.named("sys_id")
    return Contact(
        sys_id=r.text("sys_id"),
        external_id=r.optional_text("external_id"),
        name=r.text("name"),
        first_name=r.plain_text("first_name"),
        last_name=r.plain_text("last_name"),
        email=r.plain_text("email"),
        phone=r.plain_text("phone"),
        account=r.optional_text("account"),
    )


def _characteristic(where: str, raw: object) -> Characteristic:
    r = _Record(where, raw, _CHARACTERISTIC)
    r.check_keys()
    name = r.text("name")
    value_type = r.text("value_type")
    options: list[str] = []
    seen: dict[str, str] = {}
    for index, option in enumerate(r.array("options")):
        if not isinstance(option, str):
            r.fail(f"options[{index}] must be a string, not {_json_type(option)}")
        key = option_key(option)
        if key in seen:
            r.fail(f"options '{seen[key]}' and '{option}' are the same option")
        seen[key] = option
        options.append(option)
    return Characteristic(name, value_type, tuple(options))


def _specification(r: _Record) -> Specification:
    r.named("sys_id")
    characteristics: list[Characteristic] = []
    names: set[str] = set()
    for index, raw in enumerate(r.array("characteristics")):
        characteristic = _characteristic(f"{r.where}: characteristics[{index}]", raw)
        if characteristic.name in names:
            r.fail(f"characteristic '{characteristic.name}' appears twice")
        names.add(characteristic.name)
        characteristics.append(characteristic)
    return Specification(
        sys_id=r.text("sys_id"),
        initial_version=r.text("initial_version"),
        external_id=r.optional_text("external_id"),
        name=r.text("name"),
        internal_version=r.whole_number("internal_version"),
        version=r.plain_text("version"),
        status=r.choice("status", SPEC_STATUSES),
        service_type=r.choice("service_type", SERVICE_TYPES),
        ponr_state=r.choice("ponr_state", PONR_STATES, default="fulfilled"),
        characteristics=tuple(characteristics),
    )


def _inventory(r: _Record) -> Inventory:
    r.named("sys_id")
    return Inventory(
        sys_id=r.text("sys_id"),
        external_id=r.optional_text("external_id"),
        specification=r.text("specification"),
        location=r.optional_text("location"),
        account=r.optional_text("account"),
        state=r.choice("state", INVENTORY_STATES),
        characteristics=r.string_map("characteristics"),
    )


def _policy(r: _Record) -> Policy:
    r.named("specification")
    return Policy(
        specification=r.text("specification"),
        action=r.plain_text("action"),
        hierarchical=r.boolean("hierarchical"),
        target=r.choice("target", POLICY_TARGETS),
    )


def _records(doc: dict[str, Any], section: str) -> list[tuple[str, object]]:
    """(name for messages, raw record) for every record of a section; absent is empty."""
    raw = doc.get(section)
    if raw is None and section not in doc:
        return []
    if not isinstance(raw, list):
        raise CatalogError(f"{section}: must be an array of records, not {_json_type(raw)}")
    return [(f"{section}[{index}]", record) for index, record in enumerate(raw)]


# A record's key that no other record of its section may share, and how a message names it.
_Key = tuple[Callable[[T], object], Callable[[T], str]]


def _by_sys_id(record: Any) -> object:
    return record.sys_id


def _sys_id(_record: Any) -> str:
    return "sys_id"


def _section(
    doc: dict[str, Any],
    section: str,
    fields: tuple[str, ...],
    build: Callable[[_Record], T],
    keys: tuple[_Key[T], ...] = ((_by_sys_id, _sys_id),),
) -> tuple[T, ...]:
    """Every record of a section, in file order; the first bad or repeated one fails."""
    out: list[T] = []
    first: list[dict[object, str]] = [{} for _ in keys]
    for where, raw in _records(doc, section):
        record = _Record(where, raw, fields)
        item = build(record)
        for (key, what), seen in zip(keys, first, strict=True):
            value = key(item)
            if value in seen:
                record.fail(f"{what(item)} is also used by {seen[value]}")
            seen[value] = where
        out.append(item)
    return tuple(out)


def _spec_version(spec: Specification) -> object:
    return (spec.initial_version, spec.internal_version)


def _spec_version_text(spec: Specification) -> str:
    return f"internal_version {spec.internal_version} of initial_version {spec.initial_version}"


def _policy_key(policy: Policy) -> object:
    return (policy.specification, policy.action)


def _policy_key_text(policy: Policy) -> str:
    action = f"action '{policy.action}'" if policy.action else "action null (any action)"
    return f"this specification with {action}"


def parse_catalog(doc: object) -> Catalog:
    """Every record of a decoded catalogue file, validated; CatalogError on the first problem."""
    if not isinstance(doc, dict):
        raise CatalogError(f"the catalogue must be a JSON object, not {_json_type(doc)}")
    known = (*SECTIONS, *sorted(FOREIGN_SECTIONS))
    for section in doc:
        if not isinstance(section, str) or section.startswith("_") or section in known:
            continue
        raise CatalogError(f"unknown section '{section}' (known: {', '.join(known)})")
    return Catalog(
        accounts=_section(doc, "accounts", _NAMED, _named),
        contacts=_section(doc, "contacts", _CONTACT, _contact),
        consumers=_section(doc, "consumers", _NAMED, _named),
        locations=_section(doc, "locations", _NAMED, _named),
        specifications=_section(
            doc,
            "specifications",
            _SPECIFICATION,
            _specification,
            ((_by_sys_id, _sys_id), (_spec_version, _spec_version_text)),
        ),
        offerings=_section(doc, "offerings", _NAMED, _named),
        product_inventory=_section(doc, "product_inventory", _INVENTORY, _inventory),
        outbound_policies=_section(
            doc, "outbound_policies", _POLICY, _policy, ((_policy_key, _policy_key_text),)
        ),
    )
