"""The stub's behaviour switches: set at start from settings, changed at run time over HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.settings import STUB_MODES, Settings

_FIELDS = (
    "mode",
    "errorSpecifications",
    "callbackDelaySeconds",
    "slowSeconds",
    "failRate",
    "callbackAttempts",
)
# A callback sequence's tries of one callback, unless POST /stub/config says otherwise.
CALLBACK_ATTEMPTS = 5


class ConfigError(ValueError):
    """A `POST /stub/config` body the stub cannot apply; nothing was changed."""


def split_specifications(raw: str) -> frozenset[str]:
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def _seconds(body: dict[str, Any], key: str, current: float) -> float:
    value = body.get(key, current)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{key} must be a number of at least 0")
    return float(value)


def _fail_rate(body: dict[str, Any], current: float) -> float:
    value = body.get("failRate", current)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConfigError("failRate must be a number from 0 to 1")
    return float(value)


def _attempts(body: dict[str, Any], current: int) -> int:
    value = body.get("callbackAttempts", current)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError("callbackAttempts must be a whole number of at least 1")
    return value


@dataclass
class StubConfig:
    mode: str
    error_specifications: frozenset[str]
    callback_delay_seconds: float
    slow_seconds: float
    # Share of orders answered 500 as if the system failed them, in modes normal and slow.
    fail_rate: float = 0.0
    callback_attempts: int = CALLBACK_ATTEMPTS

    @classmethod
    def from_settings(cls, settings: Settings) -> StubConfig:
        return cls(
            mode=settings.stub_mode,
            error_specifications=split_specifications(settings.stub_error_specifications),
            callback_delay_seconds=settings.stub_callback_delay_seconds,
            slow_seconds=settings.stub_slow_seconds,
        )

    def update(self, body: Any) -> None:
        """Applies the fields present in `body`, all or nothing."""
        if not isinstance(body, dict):
            raise ConfigError("the body must be a JSON object")
        unknown = sorted(set(body) - set(_FIELDS))
        if unknown:
            raise ConfigError(f"unknown field {', '.join(unknown)}; known: {', '.join(_FIELDS)}")
        mode = body.get("mode", self.mode)
        if mode not in STUB_MODES:
            raise ConfigError(f"mode must be one of {', '.join(STUB_MODES)}")
        specs = body.get("errorSpecifications", sorted(self.error_specifications))
        if not isinstance(specs, list) or not all(isinstance(s, str) for s in specs):
            raise ConfigError("errorSpecifications must be a list of strings")
        delay = _seconds(body, "callbackDelaySeconds", self.callback_delay_seconds)
        slow = _seconds(body, "slowSeconds", self.slow_seconds)
        fail_rate = _fail_rate(body, self.fail_rate)
        attempts = _attempts(body, self.callback_attempts)
        self.mode, self.error_specifications = mode, frozenset(specs)
        self.callback_delay_seconds, self.slow_seconds = delay, slow
        self.fail_rate, self.callback_attempts = fail_rate, attempts

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "errorSpecifications": sorted(self.error_specifications),
            "callbackDelaySeconds": self.callback_delay_seconds,
            "slowSeconds": self.slow_seconds,
            "failRate": self.fail_rate,
            "callbackAttempts": self.callback_attempts,
        }
