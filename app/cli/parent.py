"""A child of `orderhub dev` or of `orderhub serve` (several processes) stops when its parent
dies, even by SIGKILL: left running, an API process would go on serving the shared port as an
orphan that nothing stops, and a worker would go on taking jobs.

The parent names itself in the child's environment (PARENT_PID_ENV). On Linux the kernel sends
the child SIGTERM when the parent dies (prctl PR_SET_PDEATHSIG); that is set only once the child
runs, when the parent may be gone already, which getppid() then shows. Where prctl is missing a
thread compares getppid() every POLL_SECONDS. Either way the child gets SIGTERM and stops as it
does for any SIGTERM: it answers what it has, then exits.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping, MutableMapping

PARENT_PID_ENV = "ORDERHUB_PARENT_PID"
POLL_SECONDS = 1.0
_PR_SET_PDEATHSIG = 1


def child_env(env: Mapping[str, str]) -> dict[str, str]:
    """`env` for a child of this process."""
    return {**env, PARENT_PID_ENV: str(os.getpid())}


def stop_with_parent(environ: MutableMapping[str, str], *, kernel: bool = True) -> None:
    """When started as a child, arranges SIGTERM for when the parent dies. The variable is
    taken out of `environ`, so that this process's own children name it, not its parent.
    `kernel=False` polls even where prctl exists."""
    raw = environ.pop(PARENT_PID_ENV, None)
    if raw is None or not raw.isdigit():
        return
    parent = int(raw)
    if not (kernel and _signal_on_parent_death()):
        threading.Thread(target=_watch, args=(parent,), name="parent-watch", daemon=True).start()
    if os.getppid() != parent:
        _stop()


def _signal_on_parent_death() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    _stop()


def _stop() -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(os.getpid(), signal.SIGTERM)
