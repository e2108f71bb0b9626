"""The AI providers, AI usage and staff price pages in headless Chromium: add keys, test a
connection through the real SDK against a local fake, order an area's chain; read usage."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.async_api import BrowserContext, expect

from tests.conftest import Factory
from tests.fakes.llm_anthropic import FakeAnthropic
from tests.fakes.llm_openai import FakeOpenAI
from tests.web.dashboard.test_browser import log_in
from vixpro.ai import areas, usage
from vixpro.ai.providers.base import ProviderSpec
from vixpro.db.sessions import Database
from vixpro.settings import Settings

OPENAI_KEY = "sk-proj-BROWSERSECRET-a1b2"
CLAUDE_KEY = "sk-ant-BROWSERSECRET-c3d4"


@pytest.fixture(scope="module")
def openai_fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=OPENAI_KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
def anthropic_fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(api_key=CLAUDE_KEY) as fake:
        yield fake


async def test_add_keys_test_one_and_order_an_areas_providers(
    context: BrowserContext,
    factory: Factory,
    database: Database,
    settings: Settings,
    openai_fake: FakeOpenAI,
    anthropic_fake: FakeAnthropic,
) -> None:
    org = await factory.org()
    page = await context.new_page()
    await log_in(page, org.owner_email)
    await page.get_by_role("link", name="AI providers", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/ai/providers$"))
    await expect(page.locator("#no-providers")).to_be_visible()
    await expect(page.locator("#area-reactive .chain-empty")).to_have_text("Offline runbook engine")

    for kind, label, key, url in (
        ("openai", "OpenAI prod", OPENAI_KEY, openai_fake.url),
        ("anthropic", "Claude", CLAUDE_KEY, anthropic_fake.url),
    ):
        form = page.locator(f"#add-{kind}")
        await form.get_by_label("Label").fill(label)
        await form.get_by_label("API key").fill(key)
        await form.get_by_label("Base URL").fill(url)
        await form.get_by_role("button").click()
        await expect(page.locator(f"#providers tr[data-label='{label}'] .key-last4")).to_have_text(
            f"••••{key[-4:]}"
        )
    assert "BROWSERSECRET" not in await page.content()

    openai_fake.reset()
    openai_fake.text("OK")
    actions = page.locator("tr.provider-actions").first
    await actions.get_by_placeholder(re.compile("model")).fill("gpt-6.1-sol")
    await actions.get_by_role("button", name="Test connection").click()
    await expect(page.locator("#probe-result")).to_contain_text("connected")
    await expect(page.locator("#probe-result")).to_contain_text("OK")
    assert openai_fake.requests[0].body["model"] == "gpt-6.1-sol"

    area = page.locator("#area-reactive")
    await area.get_by_label("Provider 1 for Reactive (alerts)").select_option(
        label="Claude (Anthropic (Claude))"
    )
    await area.get_by_label("Model 1 for Reactive (alerts)").fill("claude-sonnet-5-5")
    await area.get_by_label("Provider 2 for Reactive (alerts)").select_option(
        label="OpenAI prod (OpenAI)"
    )
    await area.get_by_label("Model 2 for Reactive (alerts)").fill("gpt-6.1-sol")
    await area.get_by_role("button", name="Save Reactive (alerts)").click()
    await expect(page.locator("#area-reactive li.chain-step")).to_have_text(
        [
            "Claude · claude-sonnet-5-5",
            "OpenAI prod · gpt-6.1-sol",
            "then the offline runbook engine",
        ]
    )
    async with database.tenant_session(org.org_id) as session:
        chain = await areas.chain_for(session, settings.master_key_bytes(), org.org_id, "reactive")
    assert [(s.kind, s.model, s.api_key, s.base_url) for s in chain] == [
        ("anthropic", "claude-sonnet-5-5", CLAUDE_KEY, anthropic_fake.url),
        ("openai", "gpt-6.1-sol", OPENAI_KEY, openai_fake.url),
    ]

    # A wrong key fails the test with VixPro's reason, never the provider's echo of the key.
    replace = page.locator("tr.provider-actions").first
    await replace.get_by_placeholder("New key").fill("sk-WRONG-BROWSER-9999")
    await replace.get_by_role("button", name="Replace key").click()
    await expect(page.locator("#providers tr[data-label='OpenAI prod'] .key-last4")).to_have_text(
        "••••9999"
    )
    actions = page.locator("tr.provider-actions").first
    await actions.get_by_placeholder(re.compile("model")).fill("gpt-6.1-sol")
    await actions.get_by_role("button", name="Test connection").click()
    await expect(page.locator("#probe-result .probe-reason")).to_have_text(
        "invalid or refused API key (HTTP 401)"
    )
    assert "WRONG-BROWSER" not in await page.content()

    page.once("dialog", lambda dialog: dialog.accept())
    await page.locator("tr.provider-actions").first.get_by_role("button", name="Remove").click()
    await expect(page.locator("#providers tr[data-label='OpenAI prod']")).to_have_count(0)
    await expect(page.locator("#area-reactive li.chain-step")).to_have_text(
        ["Claude · claude-sonnet-5-5", "then the offline runbook engine"]
    )


async def test_usage_page_totals_and_filters_by_area(
    context: BrowserContext, factory: Factory, database: Database
) -> None:
    org = await factory.org()
    spec = ProviderSpec(kind="openai", model="gpt-4.1", api_key="k", label="x")
    async with database.tenant_session(org.org_id) as session:
        await usage.record(
            session, org.org_id, area="reactive", spec=spec, tokens_in=1_000_000, tokens_out=0
        )
        await usage.record(
            session, org.org_id, area="chat", spec=spec, tokens_in=0, tokens_out=500_000
        )
    page = await context.new_page()
    await log_in(page, org.owner_email)

    await page.get_by_role("link", name="AI usage", exact=True).click()

    await expect(page.locator("#usage tr.usage-line")).to_have_count(2)
    await expect(page.locator("#usage tr.usage-total .cost")).to_have_text("$6.0000")
    await expect(page.locator("#usage tr.usage-total .tokens-in")).to_have_text("1,000,000")
    await page.locator("#usage-filters").get_by_label("Area").select_option("chat")
    await page.locator("#usage-filters").get_by_role("button", name="Show").click()
    await expect(page).to_have_url(re.compile(r"area=chat"))
    await expect(page.locator("#usage tr.usage-line")).to_have_count(1)
    await expect(page.locator("#usage tr.usage-line .cost")).to_have_text("$4.0000")


async def test_staff_change_a_price(context: BrowserContext, factory: Factory) -> None:
    staff_org = await factory.org(staff=True)
    page = await context.new_page()
    await log_in(page, staff_org.owner_email)
    await page.goto("/staff/prices")
    await expect(page.locator("#prices tr[data-model='gpt-4.1'] .price-in")).to_have_text("2")

    form = page.locator("#price-form")
    await form.get_by_label("Provider").select_option("openai_compatible")
    await form.get_by_label("Model").fill("llama3.1")
    await form.get_by_label("Input $/M").fill("0.05")
    await form.get_by_label("Output $/M").fill("abc")
    await form.get_by_role("button", name="Save price").click()
    await expect(page.locator(".flash")).to_contain_text("output_per_mtok")
    await page.locator("#price-form").get_by_label("Output $/M").fill("0.1")
    await page.locator("#price-form").get_by_role("button", name="Save price").click()

    row = page.locator("#prices tr[data-model='llama3.1']")
    await expect(row.locator(".price-out")).to_have_text("0.1")
