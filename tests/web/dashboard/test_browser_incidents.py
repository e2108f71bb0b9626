"""The alert and incident pages in headless Chromium against the real app under uvicorn:
integrations, the live incident list, acting on an incident, and maintenance windows."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
from playwright.async_api import BrowserContext, Page, expect

from tests.conftest import Factory, LiveServer
from tests.incidents.helpers import am_alert, am_body
from tests.web.dashboard.test_browser import log_in

# Generous: the list refreshes when the stream says so, not on a timer.
LIVE = 20_000


async def _add_integration(page: Page, name: str) -> str:
    """Add an Alertmanager integration from the Integrations page; returns its webhook URL."""
    await page.get_by_role("link", name="Integrations").click()
    await expect(page.get_by_role("heading", name="Integrations", exact=True)).to_be_visible()
    await page.locator("#integration-source").select_option("alertmanager")
    await page.locator("#integration-name").fill(name)
    await page.get_by_role("button", name="Add integration").click()
    await expect(page.locator(".flash-success")).to_contain_text(f"Added {name}.")
    row = page.locator(f'tr[data-name="{name}"]')
    url = await row.locator(".webhook-url").input_value()
    assert "/api/v1/webhooks/vxw_" in url
    return url


async def _fire(base: str, url: str, name: str, instance: str) -> None:
    async with httpx.AsyncClient(base_url=base) as tool:
        r = await tool.post(
            urlsplit(url).path,
            content=am_body(am_alert(name, instance)),
            headers={"content-type": "application/json"},
        )
    assert r.status_code == 202, r.text


async def test_add_an_integration_send_a_test_alert_and_follow_it_to_the_incident(
    context: BrowserContext, factory: Factory
) -> None:
    org = await factory.org()
    page = await context.new_page()
    await log_in(page, org.owner_email)
    await _add_integration(page, "Prometheus prod")

    row = page.locator("tr.integration-actions[data-integration]").first
    await row.get_by_role("button", name="Send test alert").click()
    result = page.locator("#test-result")
    await expect(result.get_by_role("heading")).to_have_text(
        "Test alert sent through Prometheus prod"
    )
    link = result.get_by_role("link").first
    await expect(link).to_contain_text("Incident #")
    await link.click()
    await expect(page).to_have_url(re.compile(r"/incidents/[0-9a-f-]{36}$"))
    await expect(page.locator("#alerts tbody tr")).to_have_count(1)
    await expect(page.locator(".incident-state")).to_have_text("open")
    await expect(page.locator("#timeline-events li").first).to_be_visible()


async def test_an_alert_sent_to_the_webhook_appears_in_the_open_incident_list_without_reload(
    context: BrowserContext, live_server: LiveServer, factory: Factory
) -> None:
    org = await factory.org()
    page = await context.new_page()
    await log_in(page, org.owner_email)
    url = await _add_integration(page, "Live feed")

    await page.get_by_role("link", name="Incidents", exact=True).click()
    await expect(page.locator(".no-incidents")).to_be_visible()
    # A filter is kept by the live refresh: only active incidents.
    await page.locator("#incident-filters select[name=state]").select_option("active")
    await page.locator("#incident-filters").get_by_role("button", name="Filter").click()
    await expect(page).to_have_url(re.compile(r"/incidents\?state=active"))
    await page.evaluate("window.__notReloaded = true")

    await _fire(live_server.url, url, "DiskFull", "db-9:9100")
    row = page.locator("#incidents tbody tr", has_text="DiskFull on db-9:9100")
    await expect(row).to_be_visible(timeout=LIVE)
    await expect(row.locator(".state-open")).to_be_visible()
    assert await page.evaluate("window.__notReloaded") is True  # no navigation happened
    await expect(page.locator("#incident-filters select[name=state]")).to_have_value("active")

    await _fire(live_server.url, url, "HighLoad", "web-3:9100")
    await expect(
        page.locator("#incidents tbody tr", has_text="HighLoad on web-3:9100")
    ).to_be_visible(timeout=LIVE)
    assert await page.evaluate("window.__notReloaded") is True


async def test_acknowledge_then_resolve_from_the_incident_page_shows_them_on_the_timeline(
    context: BrowserContext, live_server: LiveServer, factory: Factory
) -> None:
    org = await factory.org()
    page = await context.new_page()
    await log_in(page, org.owner_email)
    url = await _add_integration(page, "Acting")
    await _fire(live_server.url, url, "MemoryLeak", "app-1:9100")

    await page.get_by_role("link", name="Incidents", exact=True).click()
    await page.get_by_role("link", name="MemoryLeak on app-1:9100").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("MemoryLeak on app-1:9100")
    await expect(page.get_by_role("button", name="Reopen")).to_have_count(0)

    await page.get_by_role("button", name="Acknowledge").click()
    await expect(page.locator(".flash-success")).to_contain_text("is acknowledged")
    await expect(page.locator(".incident-state")).to_have_text("acknowledged")
    await expect(page.locator('#timeline-events li[data-kind="acknowledged"]')).to_contain_text(
        f"Acknowledged by {org.owner_email}"
    )
    await expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)

    await page.get_by_label("Comment").fill("Restarting the worker")
    await page.get_by_role("button", name="Add comment").click()
    await expect(page.locator('#timeline-events li[data-kind="comment"]')).to_contain_text(
        "Restarting the worker"
    )

    await page.get_by_role("button", name="Resolve").click()
    await expect(page.locator(".incident-state")).to_have_text("resolved")
    await expect(page.locator('#timeline-events li[data-kind="resolved"]')).to_contain_text(
        f"Resolved by {org.owner_email}"
    )
    await expect(page.locator(".resolved-at")).to_contain_text("UTC")
    await expect(page.get_by_role("button", name="Reopen")).to_be_visible()


async def test_schedule_a_maintenance_window_and_see_it_listed(
    context: BrowserContext, factory: Factory
) -> None:
    org = await factory.org()
    page = await context.new_page()
    await log_in(page, org.owner_email)
    await page.get_by_role("link", name="Maintenance").click()
    await expect(page.locator(".no-windows")).to_be_visible()

    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=1)
    end = start + timedelta(hours=3)
    await page.get_by_label("Reason").fill("Kernel upgrade")
    await page.get_by_label("Starts (UTC)").fill(start.strftime("%Y-%m-%dT%H:%M"))
    await page.get_by_label("Ends (UTC)").fill(end.strftime("%Y-%m-%dT%H:%M"))
    await page.get_by_label("All servers").check()
    await page.get_by_role("button", name="Schedule window").click()

    await expect(page.locator(".flash-success")).to_contain_text("Scheduled")
    row = page.locator("#windows tbody tr", has_text="Kernel upgrade")
    await expect(row).to_be_visible()
    await expect(row).to_contain_text(f"{start:%Y-%m-%d %H:%M} UTC")
    await expect(row).to_contain_text(f"{end:%Y-%m-%d %H:%M} UTC")
    await expect(row.locator(".window-status")).to_have_text("upcoming")
