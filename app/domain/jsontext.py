"""JSON through orjson (several times faster than `json`), with `json` where orjson differs.

Writing falls back to `json` for what orjson refuses: integers beyond 64 bits, lone
surrogates, keys that aren't strings, subclasses of str, int, float, dict and list, datetimes,
dataclasses. With sorted keys the bytes are the ones `json.dumps(..., separators=(",", ":"),
ensure_ascii=False)` writes, but for some small floats (0.00001, not 1e-05).

Reading is strict: NaN, Infinity, numbers beyond a double and lone surrogates are refused
(none is JSON PostgreSQL could store). orjson reads an integer beyond 64 bits as a float, so a
text holding a run of 19 digits or more is read again by `json`, which keeps it exact.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = (
    orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19


def loads(text: bytes | str) -> Any:
    """The value of a JSON text; ValueError (orjson.JSONDecodeError) when it is not JSON."""
    value = orjson.loads(text)
    raw = text.encode() if isinstance(text, str) else text
    if _LONG_NUMBER in raw.translate(_DIGITS_AS_ZERO):  # much faster than a regex here
        return json.loads(raw)
    return value


def holds_nul(value: Any) -> bool:
    """Whether a string in the value holds U+0000, which PostgreSQL's text and jsonb refuse."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in k or holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_nul(v) for v in value)
    return False


def dumps_bytes(obj: Any, *, sort_keys: bool = False) -> bytes | None:
    """Compact UTF-8 JSON (nothing escaped to ASCII), or None where `json` must write it."""
    options = (_OPTIONS | orjson.OPT_SORT_KEYS) if sort_keys else _OPTIONS
    try:
        text = orjson.dumps(obj, option=options)
    except TypeError:
        return None
    return text


def dumps(obj: Any) -> str:
    """JSON text with the value `json.dumps(obj)` has, falling back to it."""
    text = dumps_bytes(obj)
    return json.dumps(obj) if text is None else text.decode()
