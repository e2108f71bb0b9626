"""The dashboard in headless Chromium against the real app under uvicorn."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import httpx
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.conftest import PASSWORD, Factory, LiveServer, bearer
from tests.web.dashboard.conftest import add_person, expire_sessions
from vixpro.accounts import orgs
from vixpro.accounts.principal import CLI
from vixpro.db.sessions import Database

expect.set_options(timeout=10_000)


async def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    await page.goto("/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/plan$"))


async def test_login_shows_the_generic_error_then_lands_on_the_plan_page(
    context: BrowserContext, factory: Factory
) -> None:
    org = await factory.org(plan="lean")
    page = await context.new_page()
    await page.goto("/login")
    await page.get_by_label("Email").fill(org.owner_email)
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("email or password is incorrect")
    await expect(page).to_have_url(re.compile(r"/login$"))
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/plan$"))
    await expect(page.get_by_role("heading", name="Plan & usage")).to_be_visible()
    await expect(page.locator(".plan-name")).to_have_text("Lean")
    team_row = page.locator('tr[data-limit="Team members"]')
    await expect(team_row.locator(".usage")).to_have_text("1")
    await expect(team_row.locator(".maximum")).to_have_text("6")
    await expect(page.locator('tr[data-limit="Servers"] .usage')).to_have_text("")
    await expect(page.get_by_text(org.owner_email)).to_be_visible()
    await expect(page.get_by_role("link", name="Staff console")).to_have_count(0)


async def test_invited_member_accepts_in_a_fresh_browser_and_is_signed_in(
    browser: Browser, context: BrowserContext, live_server: LiveServer, factory: Factory
) -> None:
    org = await factory.org()
    page = await context.new_page()
    await log_in(page, org.owner_email)
    await page.get_by_role("link", name="Team").click()
    await expect(page).to_have_url(re.compile(r"/team$"))
    email = f"new-{uuid.uuid4().hex[:6]}@example.com"
    await page.get_by_label("Email").fill(email)
    await page.locator("#invite-form select[name=role]").select_option("member")
    async with page.expect_request(lambda r: r.url.endswith("/team/invite")) as sent:
        await page.get_by_role("button", name="Invite").click()
    request = await sent.value
    assert request.headers.get("hx-request") == "true"  # htmx, not a full page load
    assert await request.header_value("x-csrf-token")
    link_field = page.locator("#one-time-secret")
    await expect(link_field).to_have_value(re.compile(r"/invite/[A-Za-z0-9_-]{20,}$"))
    await expect(page.locator(f'#invitations tr[data-email="{email}"]')).to_be_visible()
    link = await link_field.input_value()

    fresh = await browser.new_context(base_url=live_server.url)
    try:
        newcomer = await fresh.new_page()
        await newcomer.goto(urlsplit(link).path)
        await expect(newcomer.get_by_role("heading", name=f"Join {org.name}")).to_be_visible()
        await newcomer.get_by_label("Your name").fill("Nora Newcomer")
        await newcomer.get_by_label("Choose a password").fill(PASSWORD)
        await newcomer.get_by_label("Confirm the password").fill(PASSWORD)
        await newcomer.get_by_role("button", name="Create account and join").click()
        await expect(newcomer).to_have_url(re.compile(r"/plan$"))
        await expect(newcomer.locator(".who")).to_contain_text(email)
        await expect(newcomer.locator(".who .badge")).to_have_text("member")
    finally:
        await fresh.close()

    # Back in the owner's browser, the invitation became a member whose role htmx can change.
    await page.reload()
    row = page.locator(f'#members tr[data-email="{email}"]')
    await expect(row).to_be_visible()
    await expect(page.locator(f'#invitations tr[data-email="{email}"]')).to_have_count(0)
    await row.locator("select[name=role]").select_option("admin")
    await expect(page.locator(".flash-success")).to_contain_text(f"{email} is now admin.")
    await expect(row.locator("select[name=role]")).to_have_value("admin")


async def test_api_key_is_shown_once_and_works_against_the_api(
    context: BrowserContext, live_server: LiveServer, factory: Factory
) -> None:
    org = await factory.org()
    page = await context.new_page()
    await log_in(page, org.owner_email)
    await page.get_by_role("link", name="API keys").click()
    await page.get_by_label("Name").fill("ci pipeline")
    await page.locator("#key-form select[name=role]").select_option("member")
    await page.get_by_role("button", name="Create key").click()
    key_field = page.locator("#one-time-secret")
    await expect(key_field).to_have_value(re.compile(r"^vxp_"))
    key = await key_field.input_value()
    await expect(page.locator('#keys tr[data-name="ci pipeline"]')).to_contain_text("member")

    async with httpx.AsyncClient() as http:
        r = await http.get(f"{live_server.url}/api/v1/me", headers=bearer(key))
    assert r.status_code == 200, r.text
    assert r.json()["kind"] == "api_key"
    assert r.json()["org_name"] == org.name
    assert r.json()["role"] == "member"

    await page.reload()
    await expect(page.locator("#one-time-secret")).to_have_count(0)
    assert key not in await page.content()
    await expect(page.locator('#keys tr[data-name="ci pipeline"]')).to_contain_text("UTC")


async def test_stakeholder_sees_no_write_controls_and_a_forged_post_is_refused(
    context: BrowserContext, live_server: LiveServer, factory: Factory, database: Database
) -> None:
    org = await factory.org()
    email = await add_person(database, org, "stakeholder")
    page = await context.new_page()
    await log_in(page, email)
    await page.get_by_role("link", name="Team").click()
    await expect(page.locator(f'#members tr[data-email="{email}"]')).to_be_visible()
    await expect(page.locator("#invite-form")).to_have_count(0)
    await expect(page.locator("#members select")).to_have_count(0)
    await expect(page.get_by_role("button", name="Remove")).to_have_count(0)
    await page.get_by_role("link", name="API keys").click()
    await expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    await expect(page.locator("#key-form")).to_have_count(0)

    csrf = await page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert csrf
    forged = await page.request.post(
        f"{live_server.url}/team/invite",
        form={"email": "sneaky@example.com", "role": "owner", "csrf_token": csrf},
    )
    assert forged.status == 403
    assert "read-only" in await forged.text()
    forged = await page.request.post(
        f"{live_server.url}/api-keys",
        form={"name": "sneaky", "role": "stakeholder"},
        headers={"X-CSRF-Token": csrf},
    )
    assert forged.status == 403


async def test_absent_or_expired_session_redirects_to_login(
    context: BrowserContext, factory: Factory, database: Database
) -> None:
    page = await context.new_page()
    await page.goto("/audit")
    await expect(page).to_have_url(re.compile(r"/login\?next=/audit$"))

    org = await factory.org()
    await page.get_by_label("Email").fill(org.owner_email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/audit$"))  # back where they were going
    await expect(page.get_by_role("heading", name="Audit log")).to_be_visible()

    await expire_sessions(database, org.owner_email)
    await page.get_by_role("link", name="Team").click()  # an htmx-boosted navigation
    await expect(page).to_have_url(re.compile(r"/login\?next=/team$"))
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()


async def test_org_switcher_moves_between_organisations(
    context: BrowserContext, factory: Factory, database: Database
) -> None:
    first = await factory.org(plan="lean")
    second_name = f"second-{uuid.uuid4().hex[:6]}"
    async with database.system_session("test setup") as session:
        await orgs.create_org(
            session,
            CLI,
            name=second_name,
            plan_code="starter",
            owner_email=first.owner_email,
            owner_password=None,
        )
    page = await context.new_page()
    await log_in(page, first.owner_email)
    await expect(page.locator(".page-head .muted")).to_have_text(first.name)
    await expect(page.locator(".plan-name")).to_have_text("Lean")
    await page.locator("#org-switch").select_option(label=second_name)
    await expect(page.locator(".page-head .muted")).to_have_text(second_name)
    await expect(page.locator(".plan-name")).to_have_text("Starter")
    await page.get_by_role("link", name="Team").click()
    await expect(page.locator(".page-head .muted")).to_contain_text(second_name)
    await page.reload()  # kept by the session, not just the page
    await expect(page.locator("#org-switch")).to_have_value(re.compile(".+"))
    await expect(page.locator("#org-switch option:checked")).to_have_text(second_name)


async def test_staff_console_lists_orgs_moves_one_and_edits_a_plan_limit(
    context: BrowserContext, factory: Factory
) -> None:
    customer = await factory.org(plan="lean")
    staff = await factory.org(staff=True)
    page = await context.new_page()
    await log_in(page, staff.owner_email)
    await page.get_by_role("link", name="Staff console").click()
    await expect(page).to_have_url(re.compile(r"/staff$"))
    row = page.locator(f'#orgs tr[data-org="{customer.name}"]')
    await expect(row).to_contain_text("lean")
    await expect(page.locator(f'#orgs tr[data-org="{staff.name}"]')).to_be_visible()

    await row.get_by_role("link", name=customer.name).click()
    await expect(page.get_by_role("heading", name=customer.name)).to_be_visible()
    await expect(page.locator("#people")).to_contain_text(customer.owner_email)
    await page.locator("#org-plan-form select").select_option("starter")
    await page.get_by_role("button", name="Change plan").click()
    await expect(page.locator(".flash-success")).to_contain_text("starter")
    await expect(page.locator(".page-head .muted")).to_contain_text("Starter plan")

    await page.get_by_role("link", name="Plans").click()
    card = page.locator("#plan-preview")
    await card.get_by_label("Servers").fill("4")
    await card.get_by_role("button", name="Save Preview").click()
    await expect(page.locator(".flash-success")).to_contain_text("The Preview plan was saved.")
    await expect(page.locator("#plan-preview").get_by_label("Servers")).to_have_value("4")
