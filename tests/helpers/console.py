"""The console as a browser without script sees it, for in-process tests: forms, their CSRF
tokens, and signing in."""

from __future__ import annotations

import html
import re

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from tests.helpers.auth import TEST_USERS

SIGN_IN = "/console/sign-in"
SESSION_COOKIE = "orderhub_session"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(page: str) -> str:
    """The CSRF token of the (first) form on a page."""
    found = _CSRF.search(page)
    assert found, "no form with a CSRF token on this page"
    return html.unescape(found.group(1))


def text_of(page: str) -> str:
    """The page's words, tags dropped and whitespace folded, for asserting on what it says."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


async def sign_in(
    client: TestClient, user: str, password: str | None = None, *, next_path: str = ""
) -> ClientResponse:
    """The sign-in form fetched and posted, redirects not followed."""
    form_page = await (await client.get(SIGN_IN)).text()
    data = {
        "csrf": csrf_of(form_page),
        "name": user,
        "password": TEST_USERS[user][0] if password is None else password,
        "next": next_path,
    }
    return await client.post(SIGN_IN, data=data, allow_redirects=False)


async def signed_in(client: TestClient, user: str = "agent") -> str:
    """Signs in and returns the CSRF token the console's forms then carry."""
    resp = await sign_in(client, user)
    assert resp.status == 303, await resp.text()
    page = await (await client.get("/console/orders")).text()
    return csrf_of(page)


async def post_form(
    client: TestClient, path: str, data: dict[str, str] | list[tuple[str, str]]
) -> ClientResponse:
    return await client.post(path, data=data, allow_redirects=False)
