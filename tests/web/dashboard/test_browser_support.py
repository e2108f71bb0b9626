"""Support in headless Chromium: an organisation opens a ticket with a screenshot and staff
answer it from the staff console; staff move an action item through the engineering queue and
the organisation verifies the fix; an announcement puts a banner on the organisation's pages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, BrowserContext, FilePayload, Page, expect

from tests.conftest import Factory, LiveServer
from tests.support.conftest import PNG
from tests.web.dashboard.test_browser import log_in
from vixpro.db.action_items import raise_action_item
from vixpro.web.state import AppState

expect.set_options(timeout=10_000)


@pytest.fixture
async def staff_page(
    browser: Browser, live_server: LiveServer, factory: Factory
) -> AsyncIterator[Page]:
    """A second browser, signed in as platform staff."""
    person = await factory.org("lean", staff=True)
    ctx = await browser.new_context(base_url=live_server.url)
    errors: list[str] = []
    ctx.on("weberror", lambda error: errors.append(str(error.error)))
    page = await ctx.new_page()
    await log_in(page, person.owner_email)
    yield page
    await ctx.close()
    assert errors == [], "the staff pages raised JavaScript errors"


async def test_a_ticket_with_a_screenshot_answered_from_the_staff_console(
    context: BrowserContext, staff_page: Page, factory: Factory
) -> None:
    org = await factory.org("lean")
    page = await context.new_page()
    await log_in(page, org.owner_email)
    await page.get_by_role("link", name="Support").click()
    await expect(page.locator("h1")).to_have_text("Support")
    await page.get_by_label("Subject").fill("Diagnoses stopped")
    await page.get_by_label("Critical").check()
    await page.get_by_label("What happened?").fill("Nothing since nine.\nSee the screenshot.")
    await page.locator("#ticket-files").set_input_files(
        files=[FilePayload(name="screen.png", mimeType="image/png", buffer=PNG)]
    )
    await page.get_by_role("button", name="Open ticket").click()
    await expect(page).to_have_url(re.compile(r"/support/tickets/[0-9a-f-]{36}$"))
    await expect(page.locator("h1")).to_have_text("Diagnoses stopped")
    await expect(page.locator(".flash-success")).to_contain_text("Ticket opened")
    preview = page.locator("img.attachment-preview")
    await expect(preview).to_be_visible()
    await page.wait_for_function(
        "() => document.querySelector('img.attachment-preview').naturalWidth === 1"
    )
    await expect(page.locator('#clocks tr[data-clock="first_response"]')).to_have_attribute(
        "data-state", "running"
    )
    ticket_url = page.url

    # Staff answer from the staff console.
    await staff_page.goto("/staff/tickets")
    await staff_page.get_by_role("link", name="Diagnoses stopped").click()
    await expect(staff_page.locator("#messages .message-org")).to_contain_text("Nothing since")
    await staff_page.get_by_label("Answer").fill("Looking now: a provider outage.")
    await staff_page.get_by_role("button", name="Send answer").click()
    await expect(staff_page.locator(".flash-success")).to_contain_text("organisation has been")
    await staff_page.get_by_role("button", name="Mark mitigated").click()
    await expect(staff_page.locator(".ticket-status")).to_have_text("mitigated")

    # The organisation sees the answer, and the first-response clock met.
    await page.goto(ticket_url)
    await expect(page.locator("#messages .message-staff")).to_contain_text("provider outage")
    await expect(page.locator("#messages .message-staff")).to_contain_text("VixPro support")
    await expect(page.locator('#clocks tr[data-clock="first_response"]')).to_have_attribute(
        "data-state", "met"
    )
    await page.get_by_label("Reply").fill("Thanks, it is back.")
    await page.get_by_role("button", name="Send reply").click()
    await expect(page.locator("#messages .message")).to_have_count(3)
    await page.get_by_role("button", name="Close ticket (resolved)").click()
    await expect(page.locator(".ticket-status")).to_have_text("resolved")
    await expect(page.locator("#reply-form")).to_have_count(0)


async def test_staff_move_an_action_item_the_org_verifies_and_sees_the_banner(
    context: BrowserContext, staff_page: Page, factory: Factory, state: AppState
) -> None:
    org = await factory.org("lean")
    async with state.db.tenant_session(org.org_id) as session:
        raised = await raise_action_item(
            session, org.org_id, "load_uptime", "crashed", "The load_uptime tool crashed", "trace"
        )
    await staff_page.goto("/staff/engineering")
    await staff_page.locator(f'#queue tr[data-item="{raised.id}"] a').click()
    await staff_page.get_by_label("Note for the organisation").fill("Patched the parser")
    await staff_page.get_by_role("button", name="Pending VixPro fix").click()
    await expect(staff_page.locator("#tool-held")).to_contain_text("load_uptime disabled")
    await staff_page.get_by_role("button", name="Pending your review").click()
    await expect(staff_page.locator("#item-status")).to_have_text("Pending your review")
    await expect(staff_page.locator("#tool-held")).to_have_count(0)

    page = await context.new_page()
    await log_in(page, org.owner_email)
    await page.get_by_role("link", name="Action items").click()
    await page.get_by_role("link", name="The load_uptime tool crashed").click()
    await expect(page.locator("#history")).to_contain_text("Patched the parser")
    await page.get_by_role("button", name="It works: resolve").click()
    await expect(page.locator("#item-status")).to_have_text("Resolved")
    await expect(page.locator("#history li")).to_have_count(4)

    # Staff announce maintenance; the organisation's pages carry the banner.
    start = datetime.now(UTC) + timedelta(hours=30)
    await staff_page.goto("/staff/announcements")
    await staff_page.get_by_label("Title").fill("Database upgrade")
    await staff_page.get_by_label("Starts (UTC)").fill(start.strftime("%Y-%m-%dT%H:%M"))
    await staff_page.get_by_label("Ends (UTC)").fill(
        (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    )
    await staff_page.get_by_role("button", name="Announce to every organisation").click()
    await expect(staff_page.locator(".flash-success")).to_contain_text("Announced")
    await page.get_by_role("link", name="Incidents").click()
    banner = page.locator(".maintenance-banner")
    await expect(banner).to_contain_text("Scheduled maintenance")
    await expect(banner).to_contain_text("Database upgrade")
