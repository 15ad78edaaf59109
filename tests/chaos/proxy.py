"""A TCP proxy in a process of its own, cut with SIGUSR1 and restored with SIGUSR2.

tests/helpers/tcp_proxy.TcpProxy does the forwarding; here it runs alone in its process, so that
every byte the system sends PostgreSQL (or the stub) is not relayed by the harness's own event
loop and interpreter, which also drive the stream of orders. `python -m tests.chaos.proxy PORT
TARGET_PORT` listens on 127.0.0.1:PORT; SIGTERM stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import sys
import time
from types import FrameType

import uvloop

from tests.helpers.paths import REPO_ROOT
from tests.helpers.polling import wait_for
from tests.helpers.tcp_proxy import TcpProxy


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.5):
            return False
    except OSError:
        return True


class ProxyProcess:
    """The harness's handle on one proxy process, stopped by its own pid."""

    def __init__(self, port: int, target_port: int, log: str) -> None:
        self.port = port
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.chaos.proxy", str(port), str(target_port)],
                cwd=REPO_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(lambda: self._running() and not _refused(port), 30, f"proxy on {port}")

    def _running(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"proxy on {self.port} exited with {self.process.returncode}")
        return True

    def cut(self) -> None:
        """Refuses new connections and drops the open ones, once that is so."""
        self.process.send_signal(signal.SIGUSR1)
        wait_for(lambda: self._running() and _refused(self.port), 10, f"proxy {self.port} cut")

    def restore(self) -> None:
        self.process.send_signal(signal.SIGUSR2)
        wait_for(lambda: self._running() and not _refused(self.port), 10, f"proxy {self.port} back")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def main(argv: list[str]) -> int:
    port, target_port = int(argv[0]), int(argv[1])
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())  # the cheaper loop relays more
    proxy = TcpProxy("127.0.0.1", target_port)
    proxy.port = port
    proxy.start()
    stopping = False

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        if signum == signal.SIGUSR1:
            proxy.cut()
        elif signum == signal.SIGUSR2:
            proxy.restore()
        else:
            stopping = True

    for signum in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    while not stopping:
        time.sleep(0.2)  # signals interrupt it; nothing else to do here
    with contextlib.suppress(Exception):
        proxy.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
