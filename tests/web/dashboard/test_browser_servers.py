"""The host-agent pages in headless Chromium with a REAL ``vixpro-agent``: add a server from the
dashboard, see it come online, run a read tool, and approve a mutating one."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.conftest import Factory, LiveServer
from tests.hub.agents import AGENT, RunningAgent
from tests.web.dashboard.test_browser import log_in

# The servers page refreshes every 5 s: allow two refreshes and a connection.
LIVE = 15_000


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A short directory under /tmp: the agent's state, and files inside a cleanup root."""
    path = Path(tempfile.mkdtemp(prefix="vxb", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def _enroll(base: str, token: str, state_dir: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        AGENT,
        "enroll",
        "--server",
        base,
        "--token",
        token,
        "--state-dir",
        str(state_dir),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, out.decode()


async def _choose_tool(page: Page, tool: str) -> None:
    async with page.expect_response(lambda r: f"tool={tool}" in r.url):
        await page.locator("#run-tool").select_option(tool)


async def test_add_a_server_see_it_online_run_a_read_tool_and_approve_a_mutating_one(
    context: BrowserContext, live_server: LiveServer, factory: Factory, workdir: Path
) -> None:
    org = await factory.org()
    page = await context.new_page()
    await log_in(page, org.owner_email)

    # Add a server: the install command carries a one-time token.
    await page.get_by_role("link", name="Servers").click()
    await expect(page.locator("h1")).to_have_text("Servers")
    await page.get_by_role("button", name="Add server").click()
    command = page.locator("#install-command")
    await expect(command).to_have_value(re.compile(r"install\.sh\?token=[A-Za-z0-9_-]{20,}'"))
    await expect(page.locator(".no-root")).to_contain_text("vixpro-agent run --state-dir DIR")
    token = re.search(r"token=([A-Za-z0-9_-]+)'", await command.input_value())
    assert token

    # Enrol a real host agent with it (as a host without root would), then run it.
    state_dir = workdir / "agent"
    await _enroll(live_server.url, token[1], state_dir)
    row = page.locator("#servers tbody tr").first
    await expect(row).to_be_visible(timeout=LIVE)  # the page refreshed itself
    server_id = await row.get_attribute("data-server")
    assert server_id
    agent = RunningAgent(server_id, state_dir).start()
    try:
        await expect(row.locator(".status-online")).to_be_visible(timeout=LIVE)
        await expect(page.locator("#install-command")).to_have_count(1)  # refreshes kept it

        # The server page: facts, and a read tool run on the real host.
        await row.get_by_role("link").click()
        await expect(page).to_have_url(re.compile(rf"/servers/{server_id}$"))
        await expect(page.locator("#facts")).to_contain_text(os.uname().release)
        await _choose_tool(page, "load_uptime")
        await expect(page.locator("#run-params")).to_contain_text("takes no parameters")
        await page.get_by_role("button", name="Run", exact=True).click()
        result = page.locator("#run-result")
        await expect(result.get_by_role("heading")).to_have_text("load_uptime: succeeded")
        await expect(result.locator(".output")).to_contain_text('"uptime_s"')

        # Enable the mutating tool (it then needs approval by default).
        await page.get_by_role("link", name="Tools").click()
        tool_row = page.locator('tr[data-tool="delete_old_files"]')
        await tool_row.get_by_label("Enabled").check()
        await expect(page.locator(".flash-success")).to_have_text(
            "Saved delete_old_files: enabled, approval required."
        )

        # Ask for it on the server page: it waits for approval.
        old = workdir / "old.log"
        old.write_text("stale")
        past = time.time() - 10 * 86400
        os.utime(old, (past, past))
        await page.goto(f"/servers/{server_id}")
        await _choose_tool(page, "delete_old_files")
        run_form = page.locator("#run-form")
        await run_form.get_by_label("path").fill(str(workdir))
        await run_form.get_by_label("older_than_days").fill("1")
        await page.get_by_role("button", name="Run", exact=True).click()
        await expect(result.get_by_role("heading")).to_have_text(
            "delete_old_files: waiting for approval"
        )
        assert old.exists()

        # Approve it on the Approvals page (the nav shows one waiting).
        await expect(page.locator("#approvals-count .badge")).to_have_text("1")
        await result.get_by_role("link", name="Approvals page").click()
        pending = page.locator('#pending tr[data-tool="delete_old_files"]')
        await expect(pending).to_contain_text(str(workdir))
        await pending.get_by_label("Reason").fill("stale files")
        await pending.get_by_role("button", name="Approve").click()
        await expect(page.locator(".flash-success")).to_contain_text("Approved delete_old_files on")
        await expect(page.locator("#decided")).to_contain_text("stale files")

        # It ran on the host: the file is gone and the record says so.
        deadline = time.monotonic() + 20
        while old.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert not old.exists(), agent.output()
        await page.get_by_role("link", name="Executions").click()
        await page.locator('#executions tr[data-tool="delete_old_files"] a').click()
        await expect(page.locator("#outcome .status-succeeded")).to_be_visible()
        await expect(page.locator("#approval .approval-by")).to_have_text(org.owner_email)
        await expect(page.locator("#outcome .output")).to_contain_text(str(old))
    finally:
        agent.stop()
