"""Console sessions in PostgreSQL: sign-in, the cookie's flags, expiry, idle limit, revocation
by a password change, sign-out, sharing between API processes, throttling and who may enter."""

from __future__ import annotations

from dataclasses import replace
from http.cookies import SimpleCookie

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from app.domain.passwords import hash_password
from app.domain.roles import INTEGRATOR
from app.http.app import create_app
from app.settings import Settings
from app.store import users
from tests.helpers.console import SESSION_COOKIE, csrf_of, post_form, sign_in, text_of
from tests.helpers.in_process import app_client


def _cookie(resp_headers: object, name: str) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in resp_headers.getall("Set-Cookie", []):  # type: ignore[attr-defined]
        jar.load(header)
    assert name in jar, f"no {name} cookie set"
    return jar


async def _sessions(url: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch("SELECT * FROM console_session ORDER BY created_at")
    finally:
        await conn.close()


async def _execute(url: str, sql: str, *args: object) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def test_sign_in_sets_a_server_side_session_in_a_strict_cookie(
    client: TestClient, settings: Settings, database_url: str
) -> None:
    resp = await sign_in(client, "agent", next_path="/console/queue")
    assert resp.status == 303 and resp.headers["Location"] == "/console/queue"
    cookie = _cookie(resp.headers, SESSION_COOKIE)[SESSION_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/console"
    assert not cookie["secure"]  # plain HTTP here
    assert int(cookie["max-age"]) == int(settings.orderhub_console_session_seconds)
    (row,) = await _sessions(database_url)
    assert row["user_name"] == "agent"
    assert cookie.value not in row["token_digest"]  # only a digest of the token is kept
    page = await client.get("/console/queue")
    assert page.status == 200
    assert "Signed in as agent" in text_of(await page.text())


async def test_cookie_is_secure_behind_a_tls_proxy(settings: Settings) -> None:
    app = create_app(replace(settings, orderhub_trusted_proxy=True))
    async with app_client(app) as c:
        form = await (await c.get("/console/sign-in")).text()
        resp = await c.post(
            "/console/sign-in",
            data={"csrf": csrf_of(form), "name": "agent", "password": "agent-pw"},
            headers={"X-Forwarded-Proto": "https"},
            allow_redirects=False,
        )
        assert resp.status == 303
        assert _cookie(resp.headers, SESSION_COOKIE)[SESSION_COOKIE]["secure"] is True


async def test_a_page_without_a_session_leads_to_sign_in(client: TestClient) -> None:
    resp = await client.get("/console/orders?state=new", allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == "/console/sign-in?next=%2Fconsole%2Forders%3Fstate%3Dnew"
    resp = await client.get("/console/orders", cookies={SESSION_COOKIE: "forged"})
    assert resp.url.path == "/console/sign-in"


async def test_sign_in_goes_nowhere_but_the_console(client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/api/orderhub/whoami"):
        resp = await sign_in(client, "agent", next_path=target)
        assert resp.headers["Location"] == "/console/orders", target


@pytest.mark.parametrize(
    ("column", "verdict", "message"),
    [
        ("expires_at", "expired", "Your session expired."),
        ("last_seen_at", "idle", "period of inactivity"),
    ],
)
async def test_an_expired_or_idle_session_ends(
    client: TestClient, database_url: str, column: str, verdict: str, message: str
) -> None:
    assert (await sign_in(client, "agent")).status == 303
    await _execute(database_url, f"UPDATE console_session SET {column} = now() - interval '2 days'")
    resp = await client.get("/console/orders", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == f"/console/sign-in?ended={verdict}"
    assert await _sessions(database_url) == []
    page = await (await client.get(resp.headers["Location"])).text()
    assert message in text_of(page)


async def test_a_session_in_use_is_kept_alive(client: TestClient, database_url: str) -> None:
    assert (await sign_in(client, "agent")).status == 303
    await _execute(
        database_url, "UPDATE console_session SET last_seen_at = now() - interval '5 min'"
    )
    assert (await client.get("/console/orders")).status == 200
    (row,) = await _sessions(database_url)
    assert (row["expires_at"] - row["last_seen_at"]).total_seconds() > 0
    assert (await client.get("/console/orders")).status == 200


async def test_a_password_change_revokes_every_session_of_the_user(
    client: TestClient, settings: Settings, database_url: str
) -> None:
    assert (await sign_in(client, "agent")).status == 303
    async with app_client(create_app(settings)) as second:
        assert (await sign_in(second, "agent")).status == 303
        assert len(await _sessions(database_url)) == 2
        conn = await asyncpg.connect(database_url)
        try:
            # the same password, set again: a new hash all the same, as `orderhub user add` does
            await users.upsert(
                conn, "agent", hash_password("agent-pw"), ["sn_ind_tmt_orm.service_order_agent"]
            )
        finally:
            await conn.close()
        for c in (client, second):
            resp = await c.get("/console/orders", allow_redirects=False)
            assert resp.headers["Location"] == "/console/sign-in?ended=revoked"
    assert await _sessions(database_url) == []


async def test_sessions_are_shared_by_every_api_process(
    client: TestClient, settings: Settings
) -> None:
    resp = await sign_in(client, "agent")
    token = _cookie(resp.headers, SESSION_COOKIE)[SESSION_COOKIE].value
    async with app_client(create_app(settings)) as other:
        page = await other.get("/console/orders", cookies={SESSION_COOKIE: token})
        assert page.status == 200 and page.url.path == "/console/orders"


async def test_sign_out_ends_the_session_for_good(client: TestClient, database_url: str) -> None:
    resp = await sign_in(client, "agent")
    token = _cookie(resp.headers, SESSION_COOKIE)[SESSION_COOKIE].value
    page = await (await client.get("/console/orders")).text()
    resp = await post_form(client, "/console/sign-out", {"csrf": csrf_of(page)})
    assert resp.status == 303 and resp.headers["Location"] == "/console/sign-in?ended=signed_out"
    assert await _sessions(database_url) == []
    replayed = await client.get(
        "/console/orders", cookies={SESSION_COOKIE: token}, allow_redirects=False
    )
    assert replayed.status == 303 and replayed.headers["Location"].startswith("/console/sign-in")


async def test_a_wrong_password_is_refused_and_throttled(settings: Settings) -> None:
    app = create_app(replace(settings, orderhub_signin_failures=2))
    async with app_client(app) as c:
        first = await sign_in(c, "agent", "wrong")
        assert first.status == 401
        assert "Invalid user name or password." in text_of(await first.text())
        second = await sign_in(c, "agent", "wrong")
        assert second.status == 401
        throttled = await sign_in(c, "agent")  # even the right password waits now
        assert throttled.status == 429 and int(throttled.headers["Retry-After"]) >= 1
        assert "Too many failed sign-ins" in text_of(await throttled.text())


@pytest.mark.parametrize("user", ["integrator", "nobody"])
async def test_a_user_without_a_console_role_is_refused(
    client: TestClient, database_url: str, user: str
) -> None:
    resp = await sign_in(client, user)
    assert resp.status == 403
    page = text_of(await resp.text())
    assert f"User {user} holds none of the roles that open the console." in page
    assert "sn_ind_tmt_orm.service_order_agent" in page
    assert SESSION_COOKIE not in resp.cookies
    assert await _sessions(database_url) == []


async def test_losing_the_console_roles_closes_the_console(
    client: TestClient, database_url: str
) -> None:
    assert (await sign_in(client, "admin")).status == 303
    await _execute(
        database_url, "UPDATE app_user SET roles = $1 WHERE name = 'admin'", [INTEGRATOR]
    )
    resp = await client.get("/console/orders")
    assert resp.status == 403
    assert "holds none of the roles" in text_of(await resp.text())
