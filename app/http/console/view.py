"""How console pages are rendered: the template environment, the words and colours of
states, dates, and the headers every console answer carries."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

import aiohttp_jinja2
import jinja2
from aiohttp import web

from app.domain.console_sessions import may_act

STATIC_PREFIX: Final = "/console/static"
STATIC_DIR: Final = Path(str(resources.files("app.http") / "static"))

# No inline script or style anywhere: everything the pages run or wear comes from
# /console/static, and nothing from another site.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@dataclass(frozen=True)
class ConsoleUser:
    """Who is signed in, for this request: roles as the user's row says now."""

    name: str
    roles: frozenset[str]
    csrf_token: str
    token_digest: str

    @property
    def may_act(self) -> bool:
        return may_act(self.roles)


CONSOLE_USER = web.RequestKey("console_user", ConsoleUser)
FLASH = web.RequestKey[dict[str, Any]]("console_flash")

STATE_WORDS: Final = {
    "new": "New",
    "in_progress": "In progress",
    "revision_received": "Revision received",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "error": "Error",
    "not_applicable": "Not applicable",
    "pending": "Pending",
    "fulfilled": "Fulfilled",
    "not_started": "Not started",
    "queued": "Queued",
    "done": "Done",
    "closed": "Closed",
    "open": "Open",
    "half_open": "Half-open",
    "unknown": "Unknown",
}


def state_word(state: str | None) -> str:
    if not state:
        return "-"
    return STATE_WORDS.get(state, state.replace("_", " ").capitalize())


def when(value: datetime | None) -> str:
    """Dates as people read them, in UTC like the API's: 2021-06-08 05:34:59 UTC."""
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def unix_when(value: float | None) -> str:
    return "-" if value is None else when(datetime.fromtimestamp(value, UTC))


def iso(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).isoformat()


def age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


@cache
def static_url(filename: str) -> str:
    """The file's URL with a digest of its content: a changed file is fetched afresh, an
    unchanged one is served from the browser's cache."""
    digest = hashlib.sha256((STATIC_DIR / filename).read_bytes()).hexdigest()[:12]
    return f"{STATIC_PREFIX}/{filename}?v={digest}"


def setup_templates(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("app.http", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        default_helpers=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        state_word=state_word, when=when, unix_when=unix_when, iso=iso, age=age, pretty=pretty
    )
    env.globals.update(static=static_url)


def render(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    base = {"user": request.get(CONSOLE_USER), "flash": request.get(FLASH), "nav": ""}
    response = aiohttp_jinja2.render_template(
        f"console/{template}", request, {**base, **context}, status=status
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def see_other(location: str) -> web.Response:
    """After a form: the browser GETs the page, so reloading it posts nothing again."""
    return web.Response(status=303, headers={"Location": location})
