from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ai.providers import scenario
from tests.fakes.llm_gemini import FakeGemini
from vixpro.ai.providers.base import ProviderSpec

KEY = "AIzaSy-fake-gemini-key-5678"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeGemini]:
    with FakeGemini(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def fake(server: FakeGemini) -> FakeGemini:
    server.reset()
    return server


def _spec(fake: FakeGemini, key: str = KEY) -> ProviderSpec:
    return ProviderSpec(
        kind="google",
        model="gemini-2.5-flash",
        api_key=key,
        base_url=fake.url,
        timeout_s=5,
        label="Gemini",
    )


def _function_names(body: dict[str, object]) -> set[str]:
    tools = body["tools"]
    assert isinstance(tools, list)
    return {f["name"] for tool in tools for f in tool.get("functionDeclarations", [])}


async def test_a_function_call_and_structured_output_through_generate_content(
    fake: FakeGemini,
) -> None:
    scenario.script(fake)

    output, calls, tokens_in, tokens_out = await scenario.run(_spec(fake))

    assert output == scenario.Finding(**scenario.FINDING)
    assert calls == ["/var"]
    assert (tokens_in, tokens_out) == (111, 27)
    first, second = fake.requests
    assert first.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert first.headers["x-goog-api-key"] == KEY
    assert _function_names(first.body) == {"disk_usage", "final_result"}
    assert "disk_usage" in str(first.body["tools"]) and "path" in str(first.body["tools"])
    parts = [part for content in second.body["contents"] for part in content["parts"]]
    responses = [p["functionResponse"] for p in parts if "functionResponse" in p]
    assert len(responses) == 1 and "/var: 100% used" in str(responses[0]["response"])


async def test_a_streamed_run_uses_stream_generate_content(fake: FakeGemini) -> None:
    scenario.script(fake)

    output, calls, _, _ = await scenario.run(_spec(fake), stream=True)

    assert output == scenario.Finding(**scenario.FINDING)
    assert calls == ["/var"]
    assert all(r.path.endswith(":streamGenerateContent") for r in fake.requests)
    assert fake.requests[0].query.get("alt") == "sse"


async def test_an_invalid_key_is_a_provider_failure(fake: FakeGemini) -> None:
    reason = await scenario.failure_reason(_spec(fake, key="AIza-wrong-0000"))

    assert reason == "invalid or refused API key (HTTP 400)"


async def test_unavailable_is_a_provider_failure(fake: FakeGemini) -> None:
    fake.fail(503, "The model is overloaded.")

    assert await scenario.failure_reason(_spec(fake)) == "server error (HTTP 503)"
