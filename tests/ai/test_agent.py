"""The AI agent loop on a real host agent, through the real OpenAI SDK against a scripted fake:
tools offered from the manifest, evidence tied to real executions, corrections, low-confidence
escalation, the tool-call budget, bounded output and approvals (approved, denied, expired)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import httpx
import pytest

from tests.ai import llm_setup
from tests.ai.llm_setup import KEY
from tests.conftest import LiveServer, OrgInfo
from tests.fakes.llm_openai import FakeOpenAI
from tests.hub.agents import RunningAgent
from vixpro.accounts.principal import SYSTEM, Actor
from vixpro.ai import agent as agent_loop
from vixpro.ai.providers.base import ProviderSpec
from vixpro.ai.providers.registry import build_model
from vixpro.ai.tooling import ToolBridge, bounded
from vixpro.core.approvals import Area

# The organisation, its live host agent, the OpenAI fake and an API client (tests.ai.llm_setup).
org_key, hostagent, module_fake, fake, api = llm_setup.FIXTURES


def _spec(fake: FakeOpenAI) -> ProviderSpec:
    return ProviderSpec(
        kind="openai",
        model="gpt-4.1-mini",
        api_key=KEY,
        base_url=fake.url,
        timeout_s=10,
        label="OpenAI (test)",
    )


def _start(
    live_server: LiveServer,
    org: OrgInfo,
    server_id: str,
    fake: FakeOpenAI,
    *,
    budget: int = 25,
    threshold: float = 0.6,
    output_limit: int = 6000,
    approval_wait_s: float | None = None,
) -> Future[tuple[agent_loop.AgentOutcome, ToolBridge]]:
    """Start a diagnosis on the live server's loop (its hub and runner); a future of it."""
    state = live_server.state
    assert live_server.loop is not None and state.manifest is not None

    async def run() -> tuple[agent_loop.AgentOutcome, ToolBridge]:
        assert state.manifest is not None
        bridge = await ToolBridge.open(
            state.runner,
            state.manifest,
            org.org_id,
            uuid.UUID(server_id),
            actor=Actor(SYSTEM.type, None, "AI agent (test)"),
            area=Area.REACTIVE,
            budget=budget,
            output_limit=output_limit,
            approval_wait_s=approval_wait_s,
        )
        model = build_model(_spec(fake))
        async with model:
            outcome = await agent_loop.diagnose(
                model,
                bridge,
                "Alert: web-1 root filesystem almost full",
                provider="OpenAI (test)",
                model_name="gpt-4.1-mini",
                threshold=threshold,
            )
        return outcome, bridge

    return asyncio.run_coroutine_threadsafe(run(), live_server.loop)


def _tool_messages(fake: FakeOpenAI, request: int) -> list[str]:
    return [
        str(m["content"]) for m in fake.requests[request].body["messages"] if m["role"] == "tool"
    ]


def _final(**overrides: Any) -> dict[str, Any]:
    final: dict[str, Any] = {
        "summary": "The root filesystem is filling up.",
        "root_cause": "Old logs fill the root filesystem.",
        "confidence": 0.9,
        "evidence": [{"ref": "E1", "finding": "disk_usage shows the filesystems"}],
        "recommended_actions": [
            {
                "tool": "delete_old_files",
                "params": {"path": "/var/log", "older_than_days": 14},
                "reason": "remove rotated logs",
            }
        ],
        "escalate": False,
    }
    return {**final, **overrides}


def test_diagnosis_runs_the_servers_enabled_tools_and_cites_real_executions(
    live_server: LiveServer,
    org_key: tuple[OrgInfo, str],
    hostagent: RunningAgent,
    fake: FakeOpenAI,
    api: httpx.Client,
) -> None:
    fake.tool_call("disk_usage", {})
    fake.final(_final())
    outcome, _ = _start(live_server, org_key[0], hostagent.server_id, fake).result(60)
    report = outcome.report

    enabled = {t["name"] for t in api.get("/api/v1/tools").json() if t["enabled"]}
    offered = {t["function"]["name"] for t in fake.requests[0].body["tools"]}
    assert offered == enabled | {"final_result"}
    assert "delete_old_files" not in offered  # mutating tools are off until enabled
    disk = next(t for t in fake.requests[0].body["tools"] if t["function"]["name"] == "disk_usage")
    assert disk["function"]["parameters"]["properties"] == {}

    [evidence] = report.evidence
    execution = api.get(f"/api/v1/executions/{evidence.execution_id}").json()
    assert execution["tool"] == "disk_usage" and execution["status"] == "succeeded"
    assert execution["requested_by"] == "AI agent (test)" and execution["area"] == "reactive"
    [told] = _tool_messages(fake, 1)
    assert told.startswith("ref: E1\ntool: disk_usage\nstatus: succeeded")
    assert execution["output"]["filesystems"][0]["mountpoint"] in told  # the agent's reading

    assert not report.escalate and report.outcome == "diagnosed"
    assert report.provider == "OpenAI (test)" and report.model == "gpt-4.1-mini"
    assert [a.risk for a in report.recommended_actions] == ["mutate"]
    assert (outcome.tokens_in, outcome.tokens_out) == (22, 14)


def test_evidence_citing_a_result_that_does_not_exist_is_sent_back_for_correction(
    live_server: LiveServer, org_key: tuple[OrgInfo, str], hostagent: RunningAgent, fake: FakeOpenAI
) -> None:
    fake.tool_call("load_uptime", {})
    fake.final(_final(evidence=[{"ref": "E7", "finding": "made up"}]))
    fake.final(_final())
    outcome, _ = _start(live_server, org_key[0], hostagent.server_id, fake).result(60)
    assert len(fake.requests) == 3
    retry = json.dumps(fake.requests[2].body["messages"][-1])
    assert "E7" in retry and "not one of this run's tool results" in retry
    assert [e.tool for e in outcome.report.evidence] == ["load_uptime"]


def test_a_conclusion_below_the_confidence_threshold_escalates(
    live_server: LiveServer, org_key: tuple[OrgInfo, str], hostagent: RunningAgent, fake: FakeOpenAI
) -> None:
    fake.tool_call("disk_usage", {})
    fake.final(_final(confidence=0.35))
    outcome, _ = _start(live_server, org_key[0], hostagent.server_id, fake, threshold=0.7).result(
        60
    )
    report = outcome.report
    assert report.escalate and report.outcome == "escalated"
    assert report.escalation_reason and "35%" in report.escalation_reason
    assert "70%" in report.escalation_reason
    assert "Old logs fill the root filesystem." in report.escalation_reason
    assert report.root_cause is None  # a lead to confirm, not an assertion
    assert [e.tool for e in report.evidence] == ["disk_usage"]  # what was seen stays


def test_tool_calls_past_the_budget_are_refused_and_the_model_is_told(
    live_server: LiveServer,
    org_key: tuple[OrgInfo, str],
    hostagent: RunningAgent,
    fake: FakeOpenAI,
    api: httpx.Client,
) -> None:
    before = len(api.get("/api/v1/executions", params={"limit": 200}).json()["items"])
    for tool in ("disk_usage", "load_uptime", "memory_swap"):
        fake.tool_call(tool, {})
    fake.final(_final())
    outcome, bridge = _start(live_server, org_key[0], hostagent.server_id, fake, budget=2).result(
        60
    )
    after = api.get("/api/v1/executions", params={"limit": 200}).json()["items"]
    assert len(after) - before == 2
    assert sorted(r.tool for r in bridge.ran.values()) == ["disk_usage", "load_uptime"]
    refused = _tool_messages(fake, 3)[-1]
    assert "budget of 2 calls" in refused
    assert outcome.report.evidence[0].tool == "disk_usage"


def test_tool_output_given_to_the_model_keeps_head_and_tail_and_says_it_was_cut(
    live_server: LiveServer, org_key: tuple[OrgInfo, str], hostagent: RunningAgent, fake: FakeOpenAI
) -> None:
    fake.tool_call("system_overview", {})
    fake.final(_final())
    _start(live_server, org_key[0], hostagent.server_id, fake, output_limit=120).result(60)
    [told] = _tool_messages(fake, 1)
    assert "output truncated" in told and "characters cut from the middle" in told
    output = told.split("output:\n", 1)[1]
    assert output.startswith("{")
    assert len(output) < 300


def test_bounded_keeps_short_output_whole_and_cuts_long_output_in_the_middle() -> None:
    assert bounded({"a": 1}, 100) == '{"a": 1}'
    text = "H" * 500 + "M" * 1000 + "T" * 500
    cut = bounded(text, 300)
    assert cut.startswith("H" * 200) and cut.endswith("T" * 100)
    assert "1700 of 2000 characters cut" in cut


def _pending_approval(api: httpx.Client, tool: str) -> dict[str, Any]:
    for _ in range(150):
        for item in api.get("/api/v1/approvals").json():
            if item["execution"]["tool"] == tool:
                return dict(item)
        time.sleep(0.1)
    raise AssertionError(f"no approval request for {tool}")


@pytest.fixture
def approval_on_overview(api: httpx.Client) -> Iterator[None]:
    changed = api.patch("/api/v1/tools/system_overview", json={"approval_required": True})
    assert changed.status_code == 200, changed.text
    yield
    api.patch("/api/v1/tools/system_overview", json={"approval_required": False})


@pytest.mark.usefixtures("approval_on_overview")
@pytest.mark.parametrize("approve", [True, False])
def test_a_tool_needing_approval_waits_for_the_decision(
    live_server: LiveServer,
    org_key: tuple[OrgInfo, str],
    hostagent: RunningAgent,
    fake: FakeOpenAI,
    api: httpx.Client,
    approve: bool,
) -> None:
    fake.tool_call("system_overview", {})
    fake.final(_final(evidence=[], root_cause=None, confidence=0.8))
    running = _start(live_server, org_key[0], hostagent.server_id, fake)
    pending = _pending_approval(api, "system_overview")
    assert not running.done()  # the run waits for the person
    decided = api.post(
        f"/api/v1/approvals/{pending['approval']['id']}/decision",
        json={"approve": approve, "reason": "" if approve else "not now"},
    )
    assert decided.status_code == 200, decided.text
    running.result(60)
    [told] = _tool_messages(fake, 1)
    if approve:
        assert "status: succeeded" in told and '"hostname"' in told
    else:
        assert "was denied" in told and "not now" in told and "carry on without it" in told


@pytest.mark.usefixtures("approval_on_overview")
def test_an_approval_nobody_answers_expires_and_the_model_carries_on(
    live_server: LiveServer,
    org_key: tuple[OrgInfo, str],
    hostagent: RunningAgent,
    fake: FakeOpenAI,
    api: httpx.Client,
) -> None:
    fake.tool_call("system_overview", {})
    fake.final(_final(evidence=[], root_cause=None, confidence=0.8))
    outcome, bridge = _start(
        live_server, org_key[0], hostagent.server_id, fake, approval_wait_s=0.5
    ).result(60)
    [ran] = bridge.ran.values()
    assert ran.status == "expired"
    [told] = _tool_messages(fake, 1)
    assert "Nobody approved running system_overview" in told
    expired = api.get("/api/v1/approvals", params={"state": "expired"}).json()
    assert str(ran.execution_id) in {a["execution"]["id"] for a in expired}
    assert outcome.report.summary
