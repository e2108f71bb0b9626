from __future__ import annotations

from pydantic import BaseModel
from pydantic_ai import Agent

from tests.fakes.llm_openai import FakeOpenAI
from vixpro.ai.providers.base import ProviderSpec
from vixpro.ai.providers.registry import build_model


class Finding(BaseModel):
    summary: str
    confidence: float


def _spec(fake: FakeOpenAI, model: str = "gpt-4.1") -> ProviderSpec:
    return ProviderSpec(
        kind="openai",
        model=model,
        api_key=fake.api_key or "",
        base_url=fake.url,
        timeout_s=5,
        label="fake",
    )


def _agent(fake: FakeOpenAI, calls: list[str]) -> Agent[None, Finding]:
    agent = Agent(
        build_model(_spec(fake)), output_type=Finding, instructions="Diagnose the server."
    )

    @agent.tool_plain
    def disk_usage(path: str) -> str:
        """Disk usage of the filesystem holding ``path``."""
        calls.append(path)
        return f"{path}: 100% used"

    return agent


async def test_agent_calls_a_tool_and_returns_structured_output(fake_openai: FakeOpenAI) -> None:
    fake_openai.tool_call("disk_usage", {"path": "/var"}, tokens_in=100, tokens_out=20)
    fake_openai.final({"summary": "/var is full", "confidence": 0.9})
    calls: list[str] = []

    agent = _agent(fake_openai, calls)
    async with agent:
        result = await agent.run("web-1 is failing")

    assert result.output == Finding(summary="/var is full", confidence=0.9)
    assert calls == ["/var"]
    first, second = fake_openai.requests
    assert first.path == "/v1/chat/completions"
    assert first.headers["authorization"] == f"Bearer {fake_openai.api_key}"
    assert first.body["model"] == "gpt-4.1"
    offered = {t["function"]["name"] for t in first.body["tools"]}
    assert offered == {"disk_usage", "final_result"}
    disk = next(t for t in first.body["tools"] if t["function"]["name"] == "disk_usage")
    assert disk["function"]["parameters"]["properties"]["path"]["type"] == "string"
    assert any(m["role"] == "user" and "web-1" in str(m["content"]) for m in first.body["messages"])
    tool_reply = next(m for m in second.body["messages"] if m["role"] == "tool")
    assert "/var: 100% used" in str(tool_reply["content"])
    usage = result.usage
    assert (usage.input_tokens, usage.output_tokens) == (111, 27)


async def test_streamed_run_reads_tool_calls_and_usage_from_server_sent_events(
    fake_openai: FakeOpenAI,
) -> None:
    fake_openai.tool_call("disk_usage", {"path": "/"})
    fake_openai.final({"summary": "root is full", "confidence": 0.5})
    calls: list[str] = []

    agent = _agent(fake_openai, calls)
    async with agent, agent.run_stream("and now?") as run:
        output = await run.get_output()

    assert output == Finding(summary="root is full", confidence=0.5)
    assert calls == ["/"]
    assert all(r.body["stream"] is True for r in fake_openai.requests)
    assert fake_openai.requests[0].body["stream_options"] == {"include_usage": True}
    assert run.usage.output_tokens == 14


async def test_plain_text_answer(fake_openai: FakeOpenAI) -> None:
    fake_openai.text("All servers are healthy.")
    async with build_model(_spec(fake_openai, "gpt-4o-mini")) as model:
        result = await Agent(model).run("status?")

    assert result.output == "All servers are healthy."
    assert fake_openai.requests[0].body["model"] == "gpt-4o-mini"


def test_spec_repr_never_shows_the_key() -> None:
    spec = ProviderSpec(kind="openai", model="gpt-4.1", api_key="sk-secret-abcd", base_url=None)

    assert "sk-secret" not in repr(spec)
    assert "sk-secret" not in f"{spec}"
    assert spec.name == "openai"
