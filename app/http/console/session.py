"""Signing in and out of the console, and the session and CSRF checks of every page.

The session is a row in console_session (every API process reads the same ones), named by a
random token in an HttpOnly, SameSite=Lax cookie scoped to /console, Secure when the page was
served over TLS. Every POST carries the session's CSRF token in a hidden field and, when the
browser sends an Origin, must come from this host. The sign-in form, before any session
exists, carries a token of its own that must match a short-lived cookie (no signing in a
victim as someone else from another site). Passwords are checked as the API checks them,
behind the same throttle (app/http/auth.py, app/http/throttle.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import wraps
from urllib.parse import quote

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from app import logs
from app.domain import console_sessions as rules
from app.domain.errors import ApiError, ErrorKind
from app.domain.roles import CONSOLE_ROLES
from app.http import keys
from app.http.auth import verify_credentials
from app.http.auth_cache import User
from app.http.console.view import CONSOLE_USER, FLASH, ConsoleUser, render, see_other
from app.http.peer import client_address, from_this_site, served_over_tls
from app.services import console_sessions
from app.store.users import StoredUser

log = logs.get("orderhub.http.console")
SESSION_COOKIE = "orderhub_session"
SIGN_IN_COOKIE = "orderhub_sign_in"
COOKIE_PATH = "/console"
SIGN_IN = "/console/sign-in"
SIGN_IN_COOKIE_SECONDS = 3600

Page = Callable[[web.Request], Awaitable[web.StreamResponse]]
Form = MultiDictProxy[str]


class Refused(Exception):
    """A POST without the right CSRF token or from another site: nothing is done."""


def _set_cookie(
    request: web.Request, response: web.StreamResponse, name: str, value: str, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Lax",
        secure=served_over_tls(request),
    )


async def read_form(request: web.Request) -> Form:
    """The posted form, arriving within ORDERHUB_BODY_TIMEOUT_SECONDS like any body; only
    text fields (the console posts no files)."""
    limit = request.app[keys.SETTINGS].orderhub_body_timeout_seconds
    try:
        async with asyncio.timeout(limit):
            posted = await request.post()
    except TimeoutError:
        raise ApiError(
            ErrorKind.REQUEST_TIMEOUT, f"The form did not arrive within {limit:g} s."
        ) from None
    return MultiDictProxy(MultiDict((k, v) for k, v in posted.items() if isinstance(v, str)))


async def _checked_form(request: web.Request, expected: str) -> Form:
    form = await read_form(request)
    if not from_this_site(request) or not rules.tokens_match(expected, form.get("csrf")):
        raise Refused
    return form


def _to_sign_in(request: web.Request, ended: str | None = None) -> web.Response:
    target = SIGN_IN
    if ended:
        target += f"?ended={ended}"
    elif request.method == "GET" and request.path != "/console":
        target += "?next=" + quote(request.path_qs, safe="")
    response = see_other(target)
    response.del_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


async def _session(request: web.Request) -> ConsoleUser | web.Response:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return _to_sign_in(request)
    idle = request.app[keys.SETTINGS].orderhub_console_idle_seconds
    async with keys.pool(request).acquire() as conn:
        checked = await console_sessions.check(conn, token, idle_seconds=idle)
    if checked is None:
        return _to_sign_in(request)
    if checked.session is None:
        return _to_sign_in(request, ended=checked.verdict.value)
    stored = checked.session
    if checked.flash is not None:
        request[FLASH] = checked.flash
    return ConsoleUser(stored.user_name, stored.roles, stored.csrf_token, stored.token_digest)


def page(handler: Page) -> Page:
    """A console page: signed in with a console role, and for a POST the form's CSRF token
    checked (the handler reads the form again with read_form, which aiohttp keeps)."""

    @wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        user = await _session(request)
        if isinstance(user, web.Response):
            return user
        request[CONSOLE_USER] = user
        request[keys.USER] = User(user.name, user.roles)  # the access log's user
        if not rules.may_enter(user.roles):
            return _refused_page(request, user.name, status=403)
        if request.method == "POST":
            try:
                await _checked_form(request, user.csrf_token)
            except Refused:
                return _csrf_page(request)
        return await handler(request)

    return wrapper


def _csrf_page(request: web.Request) -> web.Response:
    log.warning("console_csrf_refused", path=request.path, address=client_address(request))
    return render(
        request,
        "error.html",
        {
            "title": "Form refused",
            "message": "This form did not come from a page of this console, or the page has "
            "expired. Nothing was changed. Reload the page and try again.",
        },
        status=403,
    )


def _refused_page(request: web.Request, name: str, *, status: int) -> web.Response:
    return render(
        request,
        "refused.html",
        {"name": name, "roles": sorted(CONSOLE_ROLES)},
        status=status,
    )


async def sign_in_form(request: web.Request) -> web.Response:
    ended = request.query.get("ended", "")
    return _sign_in_page(
        request,
        next_path=rules.safe_next(request.query.get("next")),
        message=rules.ENDED_MESSAGES.get(ended, ""),
    )


def _sign_in_page(
    request: web.Request,
    *,
    next_path: str,
    message: str = "",
    error: str = "",
    name: str = "",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """The form, with a fresh sign-in token in the form and in a cookie of its own."""
    token = rules.new_token()
    response = render(
        request,
        "sign_in.html",
        {"csrf": token, "next": next_path, "message": message, "error": error, "name": name},
        status=status,
    )
    response.headers.update(headers or {})
    _set_cookie(request, response, SIGN_IN_COOKIE, token, SIGN_IN_COOKIE_SECONDS)
    return response


async def sign_in(request: web.Request) -> web.Response:
    try:
        form = await _checked_form(request, request.cookies.get(SIGN_IN_COOKIE, ""))
    except Refused:
        return _csrf_page(request)
    name, next_path = form.get("name", ""), rules.safe_next(form.get("next"))
    address = client_address(request)
    try:
        stored = await verify_credentials(request, name, form.get("password", ""), address)
    except ApiError as exc:
        return _failed_sign_in(request, exc, name=name, address=address, next_path=next_path)
    if not rules.may_enter(stored.roles):
        log.warning("console_refused", user=name, address=address, roles=sorted(stored.roles))
        return _refused_page(request, name, status=403)
    return await _start_session(request, stored, next_path)


def _failed_sign_in(
    request: web.Request, exc: ApiError, *, name: str, address: str, next_path: str
) -> web.Response:
    """The form again, saying why: a wrong name or password, or the throttle's wait."""
    throttled = exc.kind is ErrorKind.TOO_MANY_REQUESTS
    reason = "throttled" if throttled else "invalid_credentials"
    log.warning("sign_in_failed", user=name, address=address, reason=reason, via="console")
    return _sign_in_page(
        request,
        next_path=next_path,
        error=exc.detail,
        name=name,
        status=exc.kind.status,
        headers={"Retry-After": str(exc.retry_after)} if exc.retry_after else None,
    )


async def _start_session(request: web.Request, stored: StoredUser, next_path: str) -> web.Response:
    lifetime = request.app[keys.SETTINGS].orderhub_console_session_seconds
    async with keys.pool(request).acquire() as conn:
        started = await console_sessions.start(conn, stored, lifetime_seconds=lifetime)
    log.info("console_signed_in", user=stored.name, address=client_address(request))
    response = see_other(next_path)
    _set_cookie(request, response, SESSION_COOKIE, started.token, int(lifetime))
    response.del_cookie(SIGN_IN_COOKIE, path=COOKIE_PATH)
    return response


@page
async def sign_out(request: web.Request) -> web.Response:
    async with keys.pool(request).acquire() as conn:
        await console_sessions.end(conn, request.cookies[SESSION_COOKIE])
    log.info("console_signed_out", user=request[CONSOLE_USER].name)
    return _to_sign_in(request, ended="signed_out")
