"""The notifications pages in headless Chromium: add a channel from its form, send it a test,
and watch the bell in the header count a new notification without reloading."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.async_api import BrowserContext, expect

from tests.conftest import Factory, LiveServer
from tests.fakes.notify_services import FakeServices, ServicesServer
from tests.web.dashboard.test_browser import log_in
from vixpro.accounts import plans
from vixpro.accounts.principal import Principal
from vixpro.core.roles import Role
from vixpro.notify import channels, deliver

# The header polls the unread count every 5 s: allow two polls.
LIVE = 12_000


@pytest.fixture(scope="module")
def services() -> Iterator[FakeServices]:
    with ServicesServer() as fake:
        yield fake


async def test_add_a_slack_channel_send_a_test_and_see_the_bell_ring_live(
    context: BrowserContext, live_server: LiveServer, factory: Factory, services: FakeServices
) -> None:
    org = await factory.org()
    page = await context.new_page()
    await log_in(page, org.owner_email)
    await page.get_by_role("link", name="Notifications", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/notifications$"))
    await expect(page.locator("#email-not-configured")).to_be_visible()

    await page.locator("#add-slack summary").click()
    await page.locator("#slack-name").fill("#ops")
    url = services.slack_url()
    await page.locator("#slack-webhook_url").fill(url)
    await page.get_by_role("button", name="Add Slack channel").click()
    row = page.locator("#channels tr[data-name='#ops']")
    await expect(row).to_be_visible()
    await expect(row.locator(".hint")).to_have_text(f"…{url[-4:]}")
    assert url not in await page.content()

    actions = page.locator("tr.channel-actions").first
    await actions.get_by_role("button", name="Send test").click()
    await expect(page.locator("#test-result .test-ok")).to_contain_text("delivered")
    await expect(page.locator("#test-result")).to_contain_text("HTTP 200")
    await expect(page.locator("#deliveries tr.delivery[data-state='sent']")).to_have_count(1)
    assert services.of("slack")[-1].json["text"] == "Test notification from VixPro to #ops"

    # Something rings the owner's bell while the page is open: the header counts it.
    await expect(page.locator("#bell .bell-count")).to_have_attribute("data-unread", "0")
    state = live_server.state

    async def ring() -> None:
        async with state.db.system_session("test") as session:
            plan = await plans.org_plan(session, org.org_id)
        owner = Principal(
            "user", org.org_id, org.name, Role.OWNER, plan, org.owner_email, org.owner_id
        )
        async with state.db.tenant_session(org.org_id) as session:
            row = await channels.create(
                session,
                owner,
                state.settings.master_key_bytes(),
                kind="bell",
                name=f"bell-{uuid.uuid4().hex[:4]}",
            )
        async with deliver.client(state.settings) as http:
            await deliver.send_test(state.db, state.settings, http, org.org_id, row.id)

    live_server.call(ring())
    await expect(page.locator("#bell .bell-count")).to_have_attribute(
        "data-unread", "1", timeout=LIVE
    )
    await page.locator("#bell").click()
    await expect(page).to_have_url(re.compile(r"/bell$"))
    await expect(page.locator(".bell-item.unread")).to_have_count(1)
    await page.get_by_role("button", name="Mark all read").click()
    await expect(page.locator(".bell-item.unread")).to_have_count(0)
    await expect(page.locator("#bell .bell-count")).to_have_attribute(
        "data-unread", "0", timeout=LIVE
    )


async def test_rules_and_the_staff_email_outbox(
    context: BrowserContext, live_server: LiveServer, factory: Factory
) -> None:
    customer = await factory.org()
    staff = await factory.org(staff=True)
    page = await context.new_page()
    await log_in(page, customer.owner_email)
    await page.goto("/notifications")
    await page.locator("#add-email summary").click()
    await page.locator("#email-name").fill("Ops mail")
    await page.locator("#email-to").fill("ops@example.com, lead@example.com")
    await page.get_by_role("button", name="Add Email channel").click()
    row = page.locator("#channels tr[data-name='Ops mail']")
    await expect(row).to_be_visible()
    rules = page.locator("details.rules").first
    await rules.locator("summary").click()
    await rules.get_by_label("Diagnosis ready").check()
    await rules.get_by_label("Only critical").check()
    await rules.get_by_role("button", name="Save rules").click()
    await expect(page.locator(".flash")).to_contain_text("Ops mail now receives 7 kinds of event")
    await expect(page.locator("details.rules summary").first).to_contain_text("critical only")
    await page.locator("tr.channel-actions").first.get_by_role("button", name="Send test").click()
    await expect(page.locator("#test-result")).to_contain_text("kept in the outbox")

    await page.get_by_role("button", name="Sign out").click()
    await log_in(page, staff.owner_email)
    await page.get_by_role("link", name="Email outbox").click()
    await expect(page).to_have_url(re.compile(r"/staff/email-outbox$"))
    await expect(page.locator("#smtp-missing")).to_be_visible()
    mails = page.locator("#email-outbox tr.email")
    await expect(mails.filter(has_text="lead@example.com")).to_have_count(1)
    first = mails.filter(has_text="ops@example.com").first
    await first.locator("summary").click()
    await expect(first.locator("pre")).to_contain_text("If you can read this, the channel works.")
