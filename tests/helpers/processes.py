"""Starting real OrderHub processes for end-to-end tests, and stopping only those."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers.paths import REPO_ROOT
from tests.helpers.polling import wait_for


def orderhub(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Runs one `orderhub` command to completion."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli.main", *args],
        cwd=REPO_ROOT,
        env=_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _env(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(extra or {})
    return env


def start(*args: str, env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli.main", *args],
            cwd=REPO_ROOT,
            env=_env(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGINT, timeout: float = 30) -> int:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def wait_ready(
    base_url: str, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> float:
    """Seconds until GET /ready answered 200; raises if it never did, or if `process` exited."""
    started = time.monotonic()

    def ready() -> bool:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before ready")
        return answers(f"{base_url}/ready")

    wait_for(ready, timeout, f"{base_url}/ready answering 200")
    return time.monotonic() - started


def answers(url: str) -> bool:
    """GET `url` answers 200 (a refused or dropped connection is not an answer)."""
    try:
        return request("GET", url).status == 200
    except OSError:
        return False


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    method: str,
    url: str,
    *,
    json_body: Any = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10,
) -> Response:
    """One HTTP call with the standard library; 4xx/5xx are answers, not exceptions."""
    data = None if json_body is None else json.dumps(json_body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Response(resp.status, dict(resp.headers), resp.read())
    except urllib.error.HTTPError as err:
        return Response(err.code, dict(err.headers), err.read())
