"""The one order every request sends, and the demo user's credentials.

The body is the seed's async example, so that the benchmark measures the order a client of
the documented API would send; each request gives it a fresh externalId, so none is a retry.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from app.cli.database import DEMO_USER
from bench.config import REPO_ROOT

SEED_EXAMPLE = REPO_ROOT / "tests" / "seed_examples" / "05_post_async.json"


def seed_body() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(SEED_EXAMPLE.read_text(encoding="utf-8"))["body"]
    return body


def authorization() -> str:
    name, password = DEMO_USER
    return "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()
