"""ORDERHUB_LOG_FORMAT: JSON for machines, aligned key=value lines for people at a terminal."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest
import structlog

from app import logs
from app.settings import Settings, SettingsError


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def written(monkeypatch: pytest.MonkeyPatch, stdout: io.StringIO, fmt: str) -> str:
    monkeypatch.setattr("sys.stdout", stdout)
    logs.configure("info", process="worker", fmt=fmt)
    structlog.contextvars.bind_contextvars(trace_id="4bf92f3577b34da6a3ce929d0e0e4736")
    logs.get().info("inbound_processed", outcome="done")
    return stdout.getvalue()


def test_auto_writes_json_when_stdout_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    line = json.loads(written(monkeypatch, io.StringIO(), "auto"))
    assert line["event"] == "inbound_processed" and line["process"] == "worker"
    assert line["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_auto_writes_coloured_lines_to_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    text = written(monkeypatch, Terminal(), "auto")
    assert not text.startswith("{") and "\x1b[" in text
    assert "inbound_processed" in text and "4bf92f3577b34da6a3ce929d0e0e4736" in text


def test_console_to_a_file_is_plain_text(monkeypatch: pytest.MonkeyPatch) -> None:
    text = written(monkeypatch, io.StringIO(), "console")
    assert "\x1b[" not in text and not text.startswith("{")
    assert "[info" in text and "outcome=done" in text and "process=worker" in text


def test_json_to_a_terminal_stays_json(monkeypatch: pytest.MonkeyPatch) -> None:
    assert json.loads(written(monkeypatch, Terminal(), "json"))["outcome"] == "done"


def test_the_setting_takes_only_the_three_formats() -> None:
    assert Settings.from_env({"ORDERHUB_LOG_FORMAT": "Console"}).orderhub_log_format == "console"
    assert Settings.from_env({}).orderhub_log_format == "auto"
    with pytest.raises(SettingsError, match="ORDERHUB_LOG_FORMAT"):
        Settings.from_env({"ORDERHUB_LOG_FORMAT": "xml"})


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_a_traceback_shows_no_local_values(monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    """A frame's locals may hold a password: the lines for people print the plain traceback."""
    monkeypatch.setattr("sys.stdout", Terminal())
    logs.configure("info", process="api", fmt=fmt)

    def check(password: str) -> None:
        raise ValueError("refused")

    secret = "hunter2-" + "secret"  # never whole in a source line the traceback quotes
    try:
        check(secret)
    except ValueError:
        logs.get().exception("unhandled_error")
    text = sys.stdout.getvalue()
    assert "ValueError: refused" in text
    assert "hunter2-secret" not in text
