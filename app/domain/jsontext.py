"""Writing JSON through orjson (several times faster), falling back to `json` for what orjson
refuses: integers beyond 64 bits, lone surrogates, keys that aren't strings, subclasses of
str, int, float, dict and list, datetimes, dataclasses.

NaN and Infinity never reach here: request bodies holding them are refused when read. With
sorted keys the bytes are the ones `json.dumps(..., separators=(",", ":"),
ensure_ascii=False)` writes, but for some small floats (0.00001, not 1e-05). Reading stays with
`json`: orjson reads integers beyond 64 bits as floats.
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
