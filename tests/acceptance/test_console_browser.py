"""The console in a real headless Chromium (the Debian package, /usr/bin/chromium, driven by
Playwright), against real processes: API, worker and SOM/TOM stub (tests/helpers/system.py).

What the worker, the stub and its callbacks do happens in other processes: every state a test
expects of them it polls for by reloading the page, within WAIT, never a fixed sleep.

With ORDERHUB_CONSOLE_SCREENSHOTS=<folder> set, the tests also save the main pages there as
PNG files (docs/console/ holds the ones the README shows).
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.settings import Settings
from tests.helpers.auth import TEST_USERS
from tests.helpers.databases import cloned_database
from tests.helpers.payloads import HQ, ORDERS, add_order, async_example, unique_external_id
from tests.helpers.polling import wait_for
from tests.helpers.processes import orderhub
from tests.helpers.settings import isolated_settings
from tests.helpers.system import System, system_on

CHROMIUM = Path("/usr/bin/chromium")
WAIT = 60.0
SCREENSHOTS = os.environ.get("ORDERHUB_CONSOLE_SCREENSHOTS", "")
# The stub's callbacks come this long after an accepted send (pending), and as long again
# later (fulfilled): long enough for the test to revise the order while it is pending.
SLOW_CALLBACKS = 8.0

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs the Debian package chromium (make test installs it when run as root)",
)

if CHROMIUM.exists():
    from playwright.sync_api import Browser, Page, expect, sync_playwright


@pytest.fixture(scope="module")
async def console_settings(
    postgres_admin_url: str, demo_template_db: str, redis_url: str
) -> AsyncIterator[Settings]:
    async with cloned_database(postgres_admin_url, demo_template_db) as url:
        async with isolated_settings(url, redis_url) as settings:
            yield settings


@pytest.fixture(scope="module")
def system(
    console_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    with system_on(console_settings, tmp_path_factory.mktemp("console")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            # as root Chromium runs only without its sandbox; /dev/shm is small in containers
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(system: System, browser: Browser) -> Iterator[Page]:
    context = browser.new_context(base_url=system.api, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=full_page)


def sign_in(page: Page, user: str, *, screenshot: bool = False) -> None:
    page.goto("/console")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(TEST_USERS[user][0])
    if screenshot:
        shot(page, "sign-in", full_page=False)
    page.get_by_role("button", name="Sign in").click()


def reload_until(page: Page, check: Any, what: str) -> None:
    def done() -> bool:
        page.reload()
        return bool(check())

    wait_for(done, WAIT, what, interval=0.3)


def stub_config(system: System, **fields: Any) -> None:
    assert system.stub_call("POST", "/stub/config", fields).status == 200


def revised(body: dict[str, Any]) -> dict[str, Any]:
    """The same order with one characteristic changed: an in-flight revision."""
    changed = copy.deepcopy(body)
    security = next(
        c
        for c in changed["serviceOrderItem"][0]["service"]["serviceCharacteristic"]
        if c["name"] == "Firewall Security"
    )
    security["value"], security["previousValue"] = "Basic", "Standard"
    return changed


def test_agent_creates_and_revises_the_outbound_request(page: Page, system: System) -> None:
    body = add_order()
    created = system.call("POST", ORDERS, body=body)
    assert created.status == 201, created.body
    order_id = created.json()["id"]
    stub_config(system, callbackDelaySeconds=SLOW_CALLBACKS)
    try:
        agent_flow(page, system, body, order_id)
    finally:
        stub_config(system, callbackDelaySeconds=0.3)


def agent_flow(page: Page, system: System, body: dict[str, Any], order_id: str) -> None:
    sign_in(page, "agent", screenshot=True)
    expect(page.get_by_role("heading", name="Service Orders")).to_be_visible()
    page.get_by_label("Search").fill(body["externalId"])
    page.get_by_role("button", name="Show").click()
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("New")
    page.get_by_role("link", name=order_id).click()
    expect(page.get_by_role("heading", name=f"Service order {order_id}")).to_be_visible()

    # Create Outbound Fulfillment Request: Cancel does nothing, OK creates the records
    page.get_by_role("link", name="Create Outbound Fulfillment Request").click()
    dialog = page.get_by_role("dialog", name="Initiate Fulfillment Request")
    expect(dialog).to_be_visible()
    shot(page, "initiate-dialog", full_page=False)
    dialog.get_by_role("link", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#outbound-requests")).to_contain_text("No outbound requests yet.")
    page.get_by_role("link", name="Create Outbound Fulfillment Request").click()
    dialog.get_by_role("button", name="OK").click()
    notice = page.get_by_role("status")
    expect(notice).to_contain_text("created; state Not applicable.")
    first = re.search(r"FO\d{7}", notice.inner_text())
    assert first, notice.inner_text()
    number = first.group(0)
    expect(page.locator("#work-notes")).to_contain_text(f"Outbound request {number} created for")

    # pending once SOM accepted it, with the stub's callback stored on the record
    page.goto(f"/console/outbound-requests/{number}")
    reload_until(
        page,
        lambda: (
            "Pending" in page.locator("dl.form").inner_text()
            and "No response received yet." not in page.content()
        ),
        f"{number} pending with the stub's callback",
    )
    expect(page.locator("pre.json")).to_contain_text('"state": "pending"')
    shot(page, "outbound-request")
    request_id = page.locator("dl.form dd").nth(4).inner_text()

    # an in-flight change through the API: "Updates available", and the action becomes Revise
    patched = system.call("PATCH", f"{ORDERS}/{order_id}", body=revised(body))
    assert patched.status == 200, patched.body
    page.goto(f"/console/orders/{order_id}")
    expect(page.locator("#domain-orders td.updates")).to_contain_text("Yes")
    expect(page.locator("#work-notes")).to_contain_text("state Pending")
    revise = page.get_by_role("link", name="Revise Outbound Request")
    expect(revise).to_be_visible()
    shot(page, "order")
    revise.click()
    page.get_by_role("dialog", name="Initiate Fulfillment Request").get_by_role(
        "button", name="OK"
    ).click()
    expect(page.get_by_role("status")).to_contain_text("created; state Not applicable.")
    expect(page.locator("#work-notes")).to_contain_text(f"revising {request_id}")
    expect(page.locator("#outbound-requests tbody tr")).to_have_count(2)
    reload_until(
        page,
        lambda: "No" in page.locator("#domain-orders td.updates").inner_text(),
        "the revision sent",
    )


def test_an_error_entry_is_retried_from_the_page_and_done(
    page: Page, system: System, tmp_path: Path
) -> None:
    edited = async_example()
    edited["externalId"] = unique_external_id()
    edited["serviceOrderItem"][0]["place"]["id"] = "no-such-location"
    later = async_example()
    later["externalId"] = unique_external_id()
    later["serviceOrderItem"][0]["place"]["id"] = "LOC-LATER"
    ids = []
    for body in (edited, later):
        resp = system.call("POST", f"{ORDERS}?mode=async", body=body)
        assert resp.status == 202, resp.body
        ids.append(resp.json()["orderId"])

    sign_in(page, "admin")
    page.get_by_role("link", name="Inbound queue").click()
    reload_until(
        page,
        lambda: all(page.get_by_role("link", name=i).count() for i in ids),
        "both entries in error",
    )
    expect(page.locator("table.list")).to_contain_text("Invalid payload: Location does not exist.")
    shot(page, "queue")

    # the cause put right elsewhere (the location is loaded into the catalogue): Retry
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"locations": [{"sys_id": "LOC-LATER", "name": "Later"}]}))
    loaded = orderhub(
        "catalog", "load", str(catalog), env={"DATABASE_URL": system.env["DATABASE_URL"]}
    )
    assert loaded.returncode == 0, loaded.stderr
    page.get_by_role("button", name=f"Retry entry {ids[1]}").click()
    expect(page.get_by_role("status")).to_contain_text("Retried 1 entry.")

    # edit the payload and retry
    page.get_by_role("row", name=re.compile(ids[0])).get_by_role(
        "link", name="Edit payload and retry"
    ).click()
    payload = page.get_by_label(re.compile("Payload"))
    payload.fill(payload.input_value().replace("no-such-location", HQ))
    shot(page, "queue-entry")
    page.get_by_role("button", name="Retry with this payload").click()
    expect(page.get_by_role("status")).to_contain_text("Retried 1 entry.")
    reload_until(page, lambda: "Done" in page.locator(".entry-state").inner_text(), "done")
    expect(page.locator("table.list")).to_contain_text("Retry edited")
    page.goto(f"/console/queue/{ids[1]}")
    reload_until(page, lambda: "Done" in page.locator(".entry-state").inner_text(), "done")
    expect(page.locator("table.list")).to_contain_text("admin")

    page.get_by_role("link", name="Outbound").click()
    expect(page.get_by_role("heading", name="Circuit breakers")).to_be_visible()
    shot(page, "outbound")


def test_a_post_without_the_csrf_token_is_refused(page: Page, system: System) -> None:
    resp = system.call("POST", f"{ORDERS}?mode=async", body=async_example())
    queue_id = resp.json()["orderId"]
    sign_in(page, "agent")
    expect(page.get_by_role("heading", name="Service Orders")).to_be_visible()
    refused = page.request.post("/console/queue/retry", form={"only": queue_id})
    assert refused.status == 403
    assert "did not come from a page of this console" in refused.text()
    refused = page.request.post("/console/sign-out", form={})
    assert refused.status == 403
    page.goto("/console/orders")
    expect(page.get_by_role("heading", name="Service Orders")).to_be_visible()
    shot(page, "orders")


def test_an_integrator_only_user_is_refused(page: Page) -> None:
    sign_in(page, "integrator")
    expect(page.get_by_role("heading", name="This console is not for this user")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("User integrator holds none of the roles")
    page.goto("/console/orders")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_sign_out_ends_the_session(page: Page, browser: Browser, system: System) -> None:
    sign_in(page, "agent")
    expect(page.get_by_text("Signed in as agent")).to_be_visible()
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "orderhub_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/console"
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("You are signed out.")
    page.goto("/console/orders")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    # the old cookie opens nothing any more, in another browser too
    other = browser.new_context(base_url=system.api)
    try:
        other.add_cookies([cookie])  # type: ignore[list-item]
        replay = other.new_page()
        replay.goto("/console/orders")
        expect(replay.get_by_role("heading", name="Sign in")).to_be_visible()
    finally:
        other.close()
