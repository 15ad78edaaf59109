"""Input limits: what any JSON body may hold, checked once, before anything is read or written.

They keep every later step safe: no body nests deep enough to exhaust the recursion of copying,
hashing or rendering; no string is too long for the index that holds it; no array makes one
order outweigh all the others. Numbers bound by a column (quantity) are checked with the order.
docs/api.md#input-limits lists them for clients, and /openapi.json says the same.
"""

from __future__ import annotations

from typing import Any, Final

from app.domain import jsontext
from app.domain.errors import ApiError, ErrorKind

MAX_DEPTH: Final = 32  # nesting levels of objects and arrays in one body
MAX_ARRAY: Final = 1_000  # elements of any one array
MAX_ITEMS: Final = 500  # serviceOrderItem per order
MAX_CHARACTERISTICS: Final = 200  # characteristics per item
MAX_ID_LENGTH: Final = 255  # ids, references and object keys: within what an index entry holds
MAX_TEXT_LENGTH: Final = 10_000  # any other string
MAX_INT4: Final = 2**31 - 1  # integers stored in an integer column (quantity)


def is_id_field(key: str) -> bool:
    """Fields whose values are ids or references, held in indexed columns."""
    return key == "id" or key.endswith("Id") or key == "href"


def check_body(body: Any) -> None:
    """Raises ApiError (400) naming the first value beyond a limit. A body within them passes
    in one walk that builds nothing; only a refused one is walked again for the datapath."""
    if not _fits(body, 1):
        raise _first_excess(body, "", 1)


def _fits(value: Any, level: int) -> bool:
    """Recursive, but never deeper than MAX_DEPTH + 1 calls: the walk stops there."""
    if level > MAX_DEPTH:
        return False
    return _object_fits(value, level) if type(value) is dict else _array_fits(value, level)


def _object_fits(value: dict[str, Any], level: int) -> bool:
    for key, child in value.items():
        kind = type(child)
        if kind is str:
            if len(child) > MAX_ID_LENGTH and (len(child) > MAX_TEXT_LENGTH or is_id_field(key)):
                return False
        elif kind is dict or kind is list:
            if not _fits(child, level + 1):
                return False
        if len(key) > MAX_ID_LENGTH:
            return False
    return True


def _array_fits(value: list[Any], level: int) -> bool:
    if len(value) > MAX_ARRAY:
        return False
    for child in value:
        kind = type(child)
        if kind is str:
            if len(child) > MAX_TEXT_LENGTH:
                return False
        elif kind is dict or kind is list:
            if not _fits(child, level + 1):
                return False
    return True


def _first_excess(value: Any, path: str, depth: int) -> ApiError:
    """The error for the first value beyond a limit, with its datapath. Called only for a
    value `_fits` refused, so it recurses at most MAX_DEPTH + 1 levels."""
    if depth > MAX_DEPTH:
        return ApiError(
            ErrorKind.INVALID_BODY,
            f"Invalid payload: nested deeper than {MAX_DEPTH} levels.",
            path or "/",
        )
    is_object = type(value) is dict
    if not is_object and len(value) > MAX_ARRAY:
        return _too_many(path, MAX_ARRAY)
    pairs: list[tuple[str, Any]] = (
        list(value.items()) if is_object else [(str(i), c) for i, c in enumerate(value)]
    )
    for key, child in pairs:
        child_path = f"{path}/{_pointer_token(key)}"
        if is_object and len(key) > MAX_ID_LENGTH:
            return _invalid(f"a field name in {path or 'the body'} is too long", path)
        kind = type(child)
        if kind is str:
            limit = MAX_ID_LENGTH if is_object and is_id_field(key) else MAX_TEXT_LENGTH
            if len(child) > limit:
                return _invalid(f"{child_path} is longer than {limit} characters", child_path)
        elif (kind is dict or kind is list) and not _fits(child, depth + 1):
            return _first_excess(child, child_path, depth + 1)
    raise AssertionError("no value beyond a limit")  # unreachable: _fits refused it


def _pointer_token(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _invalid(problem: str, datapath: str) -> ApiError:
    return ApiError(ErrorKind.INVALID_FIELD, f"Invalid payload: {problem}.", datapath or "/")


def _too_many(path: str, limit: int) -> ApiError:
    return _invalid(f"{path or 'the body'} has more than {limit} elements", path)


def check_count(values: list[Any], limit: int, datapath: str) -> None:
    """A list the contract names (items, characteristics) within its own, smaller limit."""
    if len(values) > limit:
        raise _too_many(datapath, limit)


def load_object(raw: bytes | str, noun: str) -> dict[str, Any]:
    """`raw` as a JSON object within the limits, or the 400 (code 22) saying what is wrong;
    `noun` names it in the message ("request body", "payload")."""
    try:
        data = jsontext.loads(raw)
    except ValueError as exc:
        raise ApiError(ErrorKind.INVALID_BODY, f"Malformed JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise ApiError(ErrorKind.INVALID_BODY, f"The {noun} must be a JSON object.")
    check_body(data)
    escaped_nul = b"\\u0000" if isinstance(raw, bytes) else "\\u0000"
    if escaped_nul in raw and jsontext.holds_nul(data):  # type: ignore[operator]
        raise ApiError(ErrorKind.INVALID_BODY, f"Text in the {noun} may not hold \\u0000.")
    return data
