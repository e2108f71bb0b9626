from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ai.providers import scenario
from tests.fakes.llm_anthropic import FakeAnthropic
from vixpro.ai.providers.base import ProviderSpec

KEY = "sk-ant-api03-fake-key-1234"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def fake(server: FakeAnthropic) -> FakeAnthropic:
    server.reset()
    return server


def _spec(fake: FakeAnthropic, key: str = KEY) -> ProviderSpec:
    return ProviderSpec(
        kind="anthropic",
        model="claude-sonnet-5-5",
        api_key=key,
        base_url=fake.url,
        timeout_s=5,
        label="Claude",
    )


async def test_a_tool_call_and_structured_output_through_the_messages_api(
    fake: FakeAnthropic,
) -> None:
    scenario.script(fake)

    output, calls, tokens_in, tokens_out = await scenario.run(_spec(fake))

    assert output == scenario.Finding(**scenario.FINDING)
    assert calls == ["/var"]
    assert (tokens_in, tokens_out) == (111, 27)
    first, second = fake.requests
    assert first.path == "/v1/messages"
    assert first.headers["authorization"] == f"Bearer {KEY}"
    assert "anthropic-version" in first.headers
    assert first.body["model"] == "claude-sonnet-5-5"
    tools = {t["name"]: t for t in first.body["tools"]}
    # Claude 5.5 gets structured output natively: a JSON schema, not an output tool.
    assert set(tools) == {"disk_usage"}
    assert first.body["output_config"]["format"]["schema"]["required"] == ["summary", "confidence"]
    assert tools["disk_usage"]["input_schema"]["properties"]["path"]["type"] == "string"
    assert "Diagnose the server." in str(first.body["system"])
    results = [
        block
        for message in second.body["messages"]
        for block in (message["content"] if isinstance(message["content"], list) else [])
        if block.get("type") == "tool_result"
    ]
    assert len(results) == 1 and "/var: 100% used" in str(results[0]["content"])


async def test_a_streamed_run_reads_tool_use_from_the_event_stream(fake: FakeAnthropic) -> None:
    scenario.script(fake)

    output, calls, _, tokens_out = await scenario.run(_spec(fake), stream=True)

    assert output == scenario.Finding(**scenario.FINDING)
    assert calls == ["/var"]
    assert all(r.body.get("stream") is True for r in fake.requests)
    assert tokens_out == 27


async def test_an_invalid_key_is_a_provider_failure(fake: FakeAnthropic) -> None:
    reason = await scenario.failure_reason(_spec(fake, key="sk-ant-wrong-9999"))

    assert reason == "invalid or refused API key (HTTP 401)"
    assert len(fake.requests) == 1


async def test_overloaded_is_a_provider_failure(fake: FakeAnthropic) -> None:
    fake.fail(529, "Overloaded")

    assert await scenario.failure_reason(_spec(fake)) == "server error (HTTP 529)"
