"""Chat and the LLM diagnosis in headless Chromium against the real app under uvicorn, a real
host agent and the OpenAI SDK talking to a scripted fake: asking, the answer streaming in with
its tool call, approving inline; an incident page showing the provider, the model and a
failover switch."""

from __future__ import annotations

import asyncio

import httpx
from playwright.async_api import BrowserContext, expect

from tests.ai import llm_setup
from tests.ai.llm_setup import KEY
from tests.ai.test_llm_reactive import alert, run_diagnosis, set_chain
from tests.conftest import Factory, LiveServer, OrgInfo
from tests.fakes.llm_openai import FakeOpenAI
from tests.hub.agents import RunningAgent
from tests.web.dashboard.test_browser import log_in

LIVE = 20_000


# The organisation, its live host agent, the OpenAI fake and an API client (tests.ai.llm_setup).
org_key, hostagent, module_fake, fake, api = llm_setup.FIXTURES


async def test_ask_about_a_server_approve_inline_and_see_the_answer_stream_in(
    context: BrowserContext,
    live_server: LiveServer,
    org_key: tuple[OrgInfo, str],
    hostagent: RunningAgent,
    fake: FakeOpenAI,
    api: httpx.Client,
) -> None:
    org = org_key[0]
    fake.reset()
    await asyncio.to_thread(set_chain, live_server, org, "chat", [(fake, KEY)])
    assert api.patch("/api/v1/tools/system_overview", json={"approval_required": True}).is_success
    fake.tool_call("system_overview", {})
    fake.text("The server looks healthy: low load and plenty of free memory.")
    try:
        page = await context.new_page()
        await log_in(page, org.owner_email)
        await page.get_by_role("link", name="Chat", exact=True).click()
        await page.locator("#chat-server").select_option(hostagent.server_id)
        await page.get_by_role("button", name="Start").click()
        await expect(page.get_by_role("heading", level=1)).to_contain_text("About ")

        await page.get_by_label("Your question").fill("Why is this server slow?")
        await page.get_by_role("button", name="Ask").click()
        entries = page.locator("#chat-entries")
        await expect(entries.locator(".chat-user .text")).to_have_text(
            "Why is this server slow?", timeout=LIVE
        )
        approval = entries.locator(".chat-approval")
        await expect(approval).to_contain_text(
            "Approval needed to run system_overview", timeout=LIVE
        )
        await approval.get_by_role("button", name="Approve").click()
        await expect(approval.locator(".approval-state")).to_have_text("approved")
        await expect(entries.locator(".chat-tool")).to_contain_text(
            "Ran system_overview", timeout=LIVE
        )
        answer = entries.locator(".chat-assistant .text")
        await expect(answer).to_have_text(
            "The server looks healthy: low load and plenty of free memory.", timeout=LIVE
        )
        await expect(page.locator("#chat-streaming")).to_be_hidden()
        assert all(r.body.get("stream") is True for r in fake.requests)

        await page.reload()  # the stored conversation
        await expect(entries.locator("li.chat-entry")).to_have_count(4)
        await expect(entries.locator(".approval-state")).to_have_text("approved")
    finally:
        api.patch("/api/v1/tools/system_overview", json={"approval_required": False})


async def test_the_incident_page_shows_the_llm_diagnosis_and_the_failover(
    context: BrowserContext,
    live_server: LiveServer,
    org_key: tuple[OrgInfo, str],
    hostagent: RunningAgent,
    fake: FakeOpenAI,
    api: httpx.Client,
) -> None:
    org = org_key[0]
    fake.reset()
    await asyncio.to_thread(set_chain, live_server, org, "reactive", [(fake, KEY), (fake, KEY)])
    hook = api.post("/api/v1/integrations", json={"source": "alertmanager", "name": "prom"})
    fake.fail(503, "overloaded")
    fake.tool_call("memory_swap", {})
    fake.final(
        {
            "summary": "Memory is fine; the alert was a short spike.",
            "root_cause": "A brief allocation spike.",
            "confidence": 0.75,
            "evidence": [{"ref": "E1", "finding": "swap is unused"}],
            "recommended_actions": [],
            "escalate": False,
        }
    )
    incident_id = await asyncio.to_thread(
        alert, api, hook.json()["webhook_url"], "HostMemoryPressure", "Memory is low"
    )
    await asyncio.to_thread(run_diagnosis, live_server, org, incident_id)

    page = await context.new_page()
    await log_in(page, org.owner_email)
    await page.goto(f"/incidents/{incident_id}")
    diagnosis = page.locator("#diagnosis")
    await expect(diagnosis.locator(".diagnosis-engine")).to_contain_text("fake 1")
    await expect(diagnosis.locator(".diagnosis-engine")).to_contain_text("gpt-4.1-mini")
    await expect(diagnosis.locator(".diagnosis-failover")).to_contain_text(
        "fake 0 (gpt-4.1-mini) failed: server error (HTTP 503)"
    )
    await expect(diagnosis.locator(".diagnosis-summary")).to_have_text(
        "Memory is fine; the alert was a short spike."
    )
    evidence = diagnosis.locator(".diagnosis-evidence a")
    await expect(evidence).to_have_text("memory_swap")
    await expect(page.locator('#timeline-events li[data-kind="provider_failover"]')).to_have_count(
        1
    )


async def test_turn_on_auto_remediation_and_raise_the_threshold_on_the_ai_settings_page(
    context: BrowserContext, factory: Factory
) -> None:
    org = await factory.org("lean")
    page = await context.new_page()
    await log_in(page, org.owner_email)
    await page.get_by_role("link", name="AI settings").click()
    facts = page.locator("#current-ai-settings")
    await expect(facts.locator(".auto-remediation")).to_contain_text("off")
    await page.get_by_label("Run recommended fixes automatically").check()
    await page.get_by_label("Confidence threshold (%)").fill("75")
    await page.get_by_label("Tool-call budget").fill("12")
    await page.get_by_role("button", name="Save AI settings").click()
    await expect(page.locator(".flash-success")).to_contain_text("Saved the AI settings.")
    await expect(facts.locator(".auto-remediation")).to_contain_text("on:")
    await expect(facts.locator(".confidence-threshold")).to_contain_text("75%")
    await expect(facts.locator(".tool-call-budget")).to_contain_text("12 tool calls")
