"""The console's guards: a CSRF token on every form that changes something, POSTs only from
this site, the security headers on every answer, no inline script, HTML error pages, and the
API's JSON behaviour unchanged beside it."""

from __future__ import annotations

import re

import asyncpg
from aiohttp.test_utils import TestClient

from app.http.console.view import CONTENT_SECURITY_POLICY
from app.settings import Settings
from tests.helpers.auth import auth
from tests.helpers.console import SIGN_IN, csrf_of, post_form, signed_in, text_of
from tests.helpers.in_process import one_error_one_done

PAGES = ("/console/orders", "/console/queue", "/console/outbound", SIGN_IN)


async def _queued(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        count: int = await conn.fetchval("SELECT count(*) FROM inbound_queue")
        return count
    finally:
        await conn.close()


async def test_a_post_without_the_csrf_token_changes_nothing(
    demo_client: TestClient, demo_settings: Settings, demo_database_url: str
) -> None:
    failed, _ = await one_error_one_done(demo_client, demo_settings)
    token = await signed_in(demo_client)
    for data in (
        {"id": failed},
        {"id": failed, "csrf": ("y" if token[0] == "x" else "x") + token[1:]},
        {"id": failed, "csrf": ""},
    ):
        resp = await post_form(demo_client, "/console/queue/retry", data)
        assert resp.status == 403, data
        assert "did not come from a page of this console" in text_of(await resp.text())
    assert await _queued(demo_database_url) == 0
    # the same form with the token does it
    resp = await post_form(demo_client, "/console/queue/retry", {"id": failed, "csrf": token})
    assert resp.status == 303 and await _queued(demo_database_url) == 1


async def test_a_post_from_another_site_is_refused_even_with_the_token(
    demo_client: TestClient, demo_settings: Settings, demo_database_url: str
) -> None:
    failed, _ = await one_error_one_done(demo_client, demo_settings)
    token = await signed_in(demo_client)
    resp = await demo_client.post(
        "/console/queue/retry",
        data={"id": failed, "csrf": token},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    )
    assert resp.status == 403
    assert await _queued(demo_database_url) == 0


async def test_sign_in_and_sign_out_need_their_tokens(client: TestClient) -> None:
    # a sign-in posted from elsewhere: no sign-in cookie, or a token that is not its own
    resp = await client.post(
        SIGN_IN,
        data={"name": "agent", "password": "agent-pw", "csrf": "guess"},
        allow_redirects=False,
    )
    assert resp.status == 403
    token = await signed_in(client)
    resp = await post_form(client, "/console/sign-out", {})
    assert resp.status == 403
    assert (await client.get("/console/orders", allow_redirects=False)).status == 200
    assert (await post_form(client, "/console/sign-out", {"csrf": token})).status == 303


async def test_every_form_that_posts_carries_the_token(demo_client: TestClient) -> None:
    await signed_in(demo_client, "admin")
    order = "/console/orders/4f2af65ac3a030106e2473ce3640ddcf"
    for path in (*PAGES[:-1], order, order + "/outbound-request"):
        page = await (await demo_client.get(path)).text()
        forms = re.findall(r"<form[^>]*>.*?</form>", page, flags=re.S)
        posting = [f for f in forms if 'method="post"' in f]
        assert posting, path
        for form in posting:
            assert csrf_of(form), (path, form[:80])


async def test_headers_and_no_inline_script(demo_client: TestClient) -> None:
    await signed_in(demo_client, "admin")
    for path in (*PAGES, "/console/orders/4f2af65ac3a030106e2473ce3640ddcf", "/console/nowhere"):
        resp = await demo_client.get(path)
        assert resp.content_type == "text/html", path
        assert resp.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Cache-Control"] == "no-store"
        page = await resp.text()
        for script in re.findall(r"<script[^>]*>", page):
            assert 'src="/console/static/' in script, (path, script)
        assert not re.search(r"<script[^>]*>\s*[^<\s]", page), path
        assert not re.search(r"\sstyle=|<style|\son[a-z]+=", page), path
        assert not re.search(r"(src|href)=\"(https?:)?//", page), path


async def test_static_files_are_served_locally_with_the_same_headers(client: TestClient) -> None:
    page = await (await client.get(SIGN_IN)).text()
    for url in re.findall(r'(?:src|href)="(/console/static/[^"]+)"', page):
        resp = await client.get(url)
        assert resp.status == 200, url
        assert resp.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert resp.headers["Cache-Control"].startswith("public")
    assert (await client.get("/console/static/nothing.js")).status == 404


async def test_errors_under_console_are_pages_and_elsewhere_json(client: TestClient) -> None:
    await signed_in(client)
    resp = await client.get("/console/orders/no-such-order")
    assert resp.status == 404 and resp.content_type == "text/html"
    assert "No service order with id no-such-order." in text_of(await resp.text())
    resp = await client.get("/console/orders", params={"state": "lost"})
    assert resp.status == 400 and "Unknown state 'lost'" in text_of(await resp.text())
    resp = await client.delete("/console/orders")
    assert resp.status == 405 and resp.content_type == "text/html" and "Allow" in resp.headers
    # the API beside it answers as it always did
    resp = await client.get("/api/orderhub/nowhere", headers=auth("agent"))
    assert resp.status == 404 and resp.content_type == "application/json"
    resp = await client.get(
        "/api/orderhub/whoami", headers={**auth("agent"), "Accept": "text/html"}
    )
    assert resp.status == 406 and (await resp.json())["code"] == 66
    resp = await client.post("/api/orderhub/queue/x/retry", data={"a": "b"}, headers=auth("agent"))
    assert resp.status == 415
