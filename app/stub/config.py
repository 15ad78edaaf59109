"""The stub's behaviour switches: set at start from settings, changed at run time over HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.settings import STUB_MODES, Settings

_FIELDS = ("mode", "errorSpecifications", "callbackDelaySeconds", "slowSeconds")


class ConfigError(ValueError):
    """A `POST /stub/config` body the stub cannot apply; nothing was changed."""


def split_specifications(raw: str) -> frozenset[str]:
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def _seconds(body: dict[str, Any], key: str, current: float) -> float:
    value = body.get(key, current)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{key} must be a number of at least 0")
    return float(value)


@dataclass
class StubConfig:
    mode: str
    error_specifications: frozenset[str]
    callback_delay_seconds: float
    slow_seconds: float

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
        self.mode, self.error_specifications = mode, frozenset(specs)
        self.callback_delay_seconds, self.slow_seconds = delay, slow

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "errorSpecifications": sorted(self.error_specifications),
            "callbackDelaySeconds": self.callback_delay_seconds,
            "slowSeconds": self.slow_seconds,
        }
