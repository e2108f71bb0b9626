from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ai.providers import scenario
from tests.fakes.llm_openai import FakeOpenAI
from vixpro.ai.providers.base import ProviderSpec


@pytest.fixture(scope="module")
def keyless() -> Iterator[FakeOpenAI]:
    """An endpoint like a local Ollama: it takes any key or none."""
    with FakeOpenAI(api_key=None) as fake:
        yield fake


async def test_an_endpoint_without_a_key_never_gets_the_environments_openai_key(
    keyless: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-environment-LEAK")
    scenario.script(keyless)
    spec = ProviderSpec(
        kind="openai_compatible", model="qwen3:8b", api_key="", base_url=keyless.url, label="Ollama"
    )

    output, calls, _, _ = await scenario.run(spec)

    assert output == scenario.Finding(**scenario.FINDING)
    assert calls == ["/var"]
    assert [r.body["model"] for r in keyless.requests] == ["qwen3:8b", "qwen3:8b"]
    assert all("LEAK" not in r.headers.get("authorization", "") for r in keyless.requests)


async def test_an_endpoint_with_a_key_sends_it(fake_openai: FakeOpenAI) -> None:
    scenario.script(fake_openai)
    spec = ProviderSpec(
        kind="openai_compatible",
        model="meta/llama-4",
        api_key=fake_openai.api_key or "",
        base_url=fake_openai.url,
    )

    output, _, _, _ = await scenario.run(spec, stream=True)

    assert output == scenario.Finding(**scenario.FINDING)
    assert fake_openai.requests[0].headers["authorization"] == f"Bearer {fake_openai.api_key}"


async def test_without_a_base_url_it_is_not_configured() -> None:
    spec = ProviderSpec(kind="openai_compatible", model="llama", api_key="")

    assert await scenario.failure_reason(spec) == "not configured correctly (UserError)"
