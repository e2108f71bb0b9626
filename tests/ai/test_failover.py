from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from pydantic import BaseModel
from pydantic_ai import Agent
from pydantic_ai.exceptions import UsageLimitExceeded
from pydantic_ai.models import Model
from pydantic_ai.usage import UsageLimits

from tests.fakes.llm_openai import FakeOpenAI
from vixpro.ai.failover import classify, run_with_failover
from vixpro.ai.providers.base import ProviderSpec


class Verdict(BaseModel):
    summary: str


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key="sk-live-failover-secret-9876") as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(fake: FakeOpenAI) -> None:
    fake.reset()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spec(
    fake: FakeOpenAI, label: str, *, key: str | None = None, url: str | None = None
) -> ProviderSpec:
    return ProviderSpec(
        kind="openai",
        model=f"model-{label}",
        api_key=key if key is not None else fake.api_key or "",
        base_url=url or fake.url,
        timeout_s=0.5,
        label=label,
    )


async def _diagnose(model: Model, spec: ProviderSpec) -> Verdict:
    result = await Agent(model, output_type=Verdict).run("diagnose")
    return result.output


class Switches:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, spec: ProviderSpec, reason: str) -> None:
        self.seen.append((spec.label, reason))


async def test_every_kind_of_provider_failure_moves_on_until_none_is_left(fake: FakeOpenAI) -> None:
    fake.fail(500, "upstream exploded")
    fake.fail(429, "slow down", retry_after=7)
    fake.hang()
    chain = [
        _spec(fake, "five-hundred"),
        _spec(fake, "rate-limited"),
        _spec(fake, "hanging"),
        _spec(fake, "bad-key", key="sk-wrong-key-1234"),
        _spec(fake, "closed-port", url=f"http://127.0.0.1:{_closed_port()}/v1"),
    ]
    switches = Switches()

    outcome = await run_with_failover(chain, _diagnose, switches)

    assert outcome is None
    assert switches.seen == [
        ("five-hundred", "server error (HTTP 500)"),
        ("rate-limited", "rate limited (HTTP 429, retry after 7 s)"),
        ("hanging", "timed out"),
        ("bad-key", "invalid or refused API key (HTTP 401)"),
        ("closed-port", "could not connect (connection refused or unreachable)"),
    ]
    # Exactly one request per provider: the SDKs' own retries are off.
    assert [r.body["model"] for r in fake.requests] == [
        "model-five-hundred",
        "model-rate-limited",
        "model-hanging",
        "model-bad-key",
    ]


async def test_first_provider_that_answers_wins(fake: FakeOpenAI) -> None:
    fake.fail(503)
    fake.final({"summary": "disk full"})
    chain = [_spec(fake, "down"), _spec(fake, "up"), _spec(fake, "never-tried")]
    switches = Switches()

    outcome = await run_with_failover(chain, _diagnose, switches)

    assert outcome is not None
    verdict, spec = outcome
    assert verdict == Verdict(summary="disk full")
    assert spec.label == "up"
    assert switches.seen == [("down", "server error (HTTP 503)")]
    assert len(fake.requests) == 2


async def test_reasons_never_carry_the_key_the_provider_echoed(
    fake: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk-proj-VERYSECRET-abcdef"
    switches = Switches()

    await run_with_failover([_spec(fake, "bad", key=secret)], _diagnose, switches)

    assert secret in str(fake.requests[0].headers["authorization"])
    assert switches.seen == [("bad", "invalid or refused API key (HTTP 401)")]
    assert "VERYSECRET" not in caplog.text


async def test_an_empty_chain_goes_straight_to_the_runbook_engine() -> None:
    switches = Switches()

    assert await run_with_failover([], _diagnose, switches) is None
    assert switches.seen == []


async def test_errors_that_are_not_the_providers_fault_propagate(fake: FakeOpenAI) -> None:
    async def buggy(model: Model, spec: ProviderSpec) -> None:
        raise KeyError("bug in VixPro")

    switches = Switches()
    with pytest.raises(KeyError):
        await run_with_failover([_spec(fake, "a"), _spec(fake, "b")], buggy, switches)
    assert switches.seen == []


async def test_a_spent_tool_budget_is_not_a_provider_failure(fake: FakeOpenAI) -> None:
    fake.tool_call("look", {})
    fake.tool_call("look", {})

    async def run(model: Model, spec: ProviderSpec) -> str:
        agent = Agent(model)

        @agent.tool_plain
        def look() -> str:
            return "nothing"

        result = await agent.run("go", usage_limits=UsageLimits(tool_calls_limit=1))
        return result.output

    switches = Switches()
    with pytest.raises(UsageLimitExceeded):
        await run_with_failover([_spec(fake, "a"), _spec(fake, "b")], run, switches)
    assert switches.seen == []


async def test_unknown_kind_is_reported_and_skipped(fake: FakeOpenAI) -> None:
    fake.final({"summary": "ok"})
    odd = ProviderSpec(kind="carrier-pigeon", model="coo", api_key="k", label="pigeon")
    switches = Switches()

    outcome = await run_with_failover([odd, _spec(fake, "ok")], _diagnose, switches)

    assert outcome is not None and outcome[1].label == "ok"
    assert switches.seen == [("pigeon", "not configured correctly (UnknownProviderKind)")]


def test_classify_leaves_ordinary_errors_alone() -> None:
    assert classify(ValueError("x")) is None
    assert classify(TimeoutError()) == "timed out"
    assert (
        classify(ConnectionRefusedError())
        == "could not connect (connection refused or unreachable)"
    )
