"""Child processes of one command (`orderhub dev`, `orderhub serve` with several processes):
started together and stopped together, so that Ctrl-C or SIGTERM leaves nothing behind and one
child dying stops the rest, for whatever supervises the command to restart. The children stop
on their own if this process dies without stopping them (app/cli/parent.py)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import FrameType

from app.cli.parent import child_env

# Seconds a child is given beyond ORDERHUB_SHUTDOWN_SECONDS to close its pools and exit.
STOP_MARGIN_SECONDS = 10


class Stop(Exception):
    """SIGINT or SIGTERM arrived."""


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


@contextmanager
def stopping_on_signals() -> Iterator[None]:
    """Inside, SIGINT and SIGTERM raise Stop; on the way out they are ignored, so that the
    clean-up after it runs to the end."""
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


class Children:
    def __init__(
        self,
        say: Callable[[str], None],
        shutdown_seconds: float,
        on_exit: Callable[[int], None] | None = None,
    ) -> None:
        """`on_exit` is told the pid of each child once it has exited."""
        self._say = say
        self._grace = shutdown_seconds + STOP_MARGIN_SECONDS
        self._on_exit = on_exit
        self._running: dict[str, subprocess.Popen[bytes]] = {}
        self._reaped: set[int] = set()

    def start(self, name: str, argv: list[str], env: Mapping[str, str]) -> None:
        """`orderhub <argv>` in a session of its own: a terminal's Ctrl-C reaches this process
        only, which then stops the children in order. Called from the main thread, which the
        kernel's parent-death signal watches."""
        self._running[name] = subprocess.Popen(
            [sys.executable, "-m", "app.cli.main", *argv],
            env=child_env(env),
            start_new_session=True,
        )

    def wait_for_exit(self) -> int:
        """Blocks until a child exits (then 1), or a signal raises Stop."""
        while True:
            for name, child in self._running.items():
                if child.poll() is not None:
                    self._exited(child)
                    self._say(f"{name} exited with status {child.returncode}; stopping")
                    return 1
            time.sleep(0.5)

    def terminate(self) -> None:
        """SIGTERM to all, each then answering what it has (ORDERHUB_SHUTDOWN_SECONDS); SIGKILL
        to any still running after that and STOP_MARGIN_SECONDS."""
        for child in self._running.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self._grace
        for name, child in self._running.items():
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._say(f"{name} did not stop in time; killing it")
                child.kill()
                child.wait()
            self._exited(child)

    def _exited(self, child: subprocess.Popen[bytes]) -> None:
        if self._on_exit is not None and child.pid not in self._reaped:
            self._reaped.add(child.pid)
            self._on_exit(child.pid)
