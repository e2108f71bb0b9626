from __future__ import annotations

from tests.ai.providers import scenario
from tests.fakes.llm_openai import FakeOpenAI
from vixpro.ai.providers.base import ProviderSpec
from vixpro.ai.providers.registry import build_model


def _spec(fake: FakeOpenAI, key: str) -> ProviderSpec:
    return ProviderSpec(
        kind="xai", model="grok-4.7", api_key=key, base_url=fake.url, timeout_s=5, label="Grok"
    )


async def test_grok_through_the_openai_compatible_rest_api(fake_openai: FakeOpenAI) -> None:
    scenario.script(fake_openai)

    output, calls, _, _ = await scenario.run(_spec(fake_openai, fake_openai.api_key or ""))

    assert output == scenario.Finding(**scenario.FINDING)
    assert calls == ["/var"]
    first = fake_openai.requests[0]
    assert first.path == "/v1/chat/completions"
    assert first.headers["authorization"] == f"Bearer {fake_openai.api_key}"
    assert first.body["model"] == "grok-4.7"
    assert {t["function"]["name"] for t in first.body["tools"]} == {"disk_usage", "final_result"}


async def test_grok_defaults_to_x_ai_rest_endpoint() -> None:
    spec = ProviderSpec(kind="xai", model="grok-4.7", api_key="xai-key")

    async with build_model(spec) as model:
        assert str(model.base_url).rstrip("/") == "https://api.x.ai/v1"


async def test_an_invalid_xai_key_is_a_provider_failure(fake_openai: FakeOpenAI) -> None:
    assert (
        await scenario.failure_reason(_spec(fake_openai, "xai-wrong"))
        == "invalid or refused API key (HTTP 401)"
    )
