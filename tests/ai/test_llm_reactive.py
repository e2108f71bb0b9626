"""Reactive diagnosis through an LLM, end to end: a webhook alert about a real server, the
diagnose job, the organisation's ``reactive`` provider chain (the real OpenAI SDK against a
scripted fake), tools on a real host agent, failover down to the runbook engine shown on the
timeline, and auto-remediation that runs a mutating tool and verifies it."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.ai import llm_setup
from tests.ai.llm_setup import KEY
from tests.conftest import LiveServer, OrgInfo
from tests.fakes.llm_openai import FakeOpenAI
from tests.hub.agents import RunningAgent, bearer
from vixpro.accounts.plans import org_plan
from vixpro.accounts.principal import Principal
from vixpro.ai import areas, keys
from vixpro.ai import settings as ai_settings
from vixpro.core.roles import Role
from vixpro.db.models.ai import AIUsage
from vixpro.jobs.app import create_job_app
from vixpro.jobs.incidents import defer_diagnoses


async def owner(live_server: LiveServer, org: OrgInfo) -> Principal:
    async with live_server.state.db.system_session("test") as session:
        plan = await org_plan(session, org.org_id)
    return Principal(
        kind="user",
        org_id=org.org_id,
        org_name=org.name,
        role=Role.OWNER,
        plan=plan,
        label=org.owner_email,
        user_id=org.owner_id,
    )


def set_chain(
    live_server: LiveServer, org: OrgInfo, area: str, providers: list[tuple[FakeOpenAI, str]]
) -> None:
    """Make ``area``'s chain: one OpenAI key per (fake, api key), all on model gpt-4.1-mini."""
    state = live_server.state

    async def run() -> None:
        principal = await owner(live_server, org)
        master = state.settings.master_key_bytes()
        async with state.db.tenant_session(org.org_id) as session:
            steps = []
            for i, (fake, api_key) in enumerate(providers):
                row = await keys.add(
                    session,
                    principal,
                    master,
                    kind="openai_compatible",
                    label=f"fake {i}",
                    api_key=api_key,
                    base_url=fake.url,
                )
                steps.append((row.id, "gpt-4.1-mini"))
            await areas.set_chain(session, principal, area, steps)

    live_server.call(run())


def set_ai_settings(live_server: LiveServer, org: OrgInfo, **changes: Any) -> None:
    async def run() -> None:
        principal = await owner(live_server, org)
        async with live_server.state.db.tenant_session(org.org_id) as session:
            await ai_settings.update(session, principal, changes)

    live_server.call(run())


# The organisation, its live host agent, the OpenAI fake and an API client (tests.ai.llm_setup).
org_key, hostagent, module_fake, fake, api = llm_setup.FIXTURES


@pytest.fixture(scope="module")
def webhook(live_server: LiveServer, org_key: tuple[OrgInfo, str]) -> str:
    made = httpx.post(
        f"{live_server.url}/api/v1/integrations",
        json={"source": "alertmanager", "name": "prom"},
        headers=bearer(org_key[1]),
    )
    assert made.status_code == 201, made.text
    return str(made.json()["webhook_url"])


def alert(api: httpx.Client, webhook: str, name: str, summary: str) -> str:
    """Send a firing alert about this machine; the new incident's id (earlier incidents are
    resolved first, so that it does not join one of them)."""
    for item in api.get("/api/v1/incidents", params={"state": "active"}).json()["items"]:
        done = api.post(f"/api/v1/incidents/{item['id']}/actions", json={"action": "resolve"})
        assert done.status_code == 200, done.text
    body = {
        "version": "4",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {
                    "alertname": name,
                    "instance": f"{socket.gethostname()}:9100",
                    "severity": "critical",
                    "run": uuid.uuid4().hex,
                },
                "annotations": {"summary": summary},
                "startsAt": "2026-11-27T12:00:00Z",
            }
        ],
    }
    sent = httpx.post(webhook, json=body, timeout=30)
    assert sent.status_code == 202, sent.text
    [incident_id] = sent.json()["incident_ids"]
    return str(incident_id)


def run_diagnosis(live_server: LiveServer, org: OrgInfo, incident_id: str) -> None:
    """The diagnose job, run by a real procrastinate worker on the live server's loop."""
    state = live_server.state

    async def run() -> None:
        app = create_job_app(
            state.db,
            purge_cron="0 0 1 1 *",
            tools=lambda: (state.runner, state.manifest),
            settings=state.settings,
        )
        async with app.open_async():
            await defer_diagnoses(app, org.org_id, [uuid.UUID(incident_id)])
            await app.run_worker_async(
                wait=False, install_signal_handlers=False, queues=["reactive"]
            )

    live_server.call(run(), timeout=120)


def usage_of(live_server: LiveServer, org: OrgInfo, incident_id: str) -> list[tuple[int, int, str]]:
    """The usage rows recorded for an incident: (tokens in, tokens out, area)."""

    async def rows() -> list[tuple[int, int, str]]:
        async with live_server.state.db.tenant_session(org.org_id) as session:
            found = (
                await session.scalars(
                    select(AIUsage)
                    .where(AIUsage.incident_id == uuid.UUID(incident_id))
                    .order_by(AIUsage.id)
                )
            ).all()
            return [(r.tokens_in, r.tokens_out, r.area) for r in found]

    result: list[tuple[int, int, str]] = live_server.call(rows())
    return result


def detail(api: httpx.Client, incident_id: str) -> dict[str, Any]:
    found = api.get(f"/api/v1/incidents/{incident_id}")
    assert found.status_code == 200, found.text
    return dict(found.json())


def test_an_alert_is_diagnosed_by_the_llm_through_a_live_host_agent(
    live_server: LiveServer,
    org_key: tuple[OrgInfo, str],
    hostagent: RunningAgent,
    fake: FakeOpenAI,
    api: httpx.Client,
    webhook: str,
) -> None:
    org = org_key[0]
    fake.reset()
    set_chain(live_server, org, "reactive", [(fake, KEY)])
    fake.tool_call("memory_swap", {}, tokens_in=120, tokens_out=30)
    fake.final(
        {
            "summary": "Load is normal; the alert looks transient.",
            "root_cause": "A short burst of CPU work.",
            "confidence": 0.82,
            "evidence": [
                {"ref": "E1", "finding": "load averages are low"},
                {"ref": "E2", "finding": "memory is not short"},
            ],
            "recommended_actions": [],
            "escalate": False,
        }
    )
    incident_id = alert(api, webhook, "HostHighCpuLoad", "CPU load is high")
    run_diagnosis(live_server, org, incident_id)

    found = detail(api, incident_id)
    incident, diagnosis = found["incident"], found["diagnosis"]
    assert incident["ai_state"] == "done"
    assert (
        incident["diagnosis_started_at"]
        <= incident["first_tool_at"]
        <= incident["diagnosis_completed_at"]
    )
    report = diagnosis["report"]
    assert diagnosis["engine"] == "llm:fake 0"
    assert report["provider"] == "fake 0" and report["model"] == "gpt-4.1-mini"
    assert report["escalate"] is False and report["confidence"] == 0.82
    # E1 is the CPU runbook's first look, run before the model's first turn; E2 the model's.
    initial, chosen = report["evidence"]
    assert (initial["tool"], chosen["tool"]) == ("load_uptime", "memory_swap")
    for evidence in (initial, chosen):
        execution = api.get(f"/api/v1/executions/{evidence['execution_id']}").json()
        assert execution["tool"] == evidence["tool"] and execution["status"] == "succeeded"
        assert execution["incident_id"] == incident_id and execution["area"] == "reactive"
    timeline = found["timeline"]
    kinds = [e["kind"] for e in timeline]
    assert "diagnosis_started" in kinds and kinds[-1] == "diagnosis"
    tool_entries = [e for e in timeline if e["kind"] == "tool"]
    assert [e["data"]["execution_id"] for e in tool_entries] == [
        initial["execution_id"],
        chosen["execution_id"],
    ]
    # What the model was given: the incident, the server's tools, and already the first
    # tool's result, which it never asked for.
    first = fake.requests[0].body
    assert first["model"] == "gpt-4.1-mini"
    prompt = str(first["messages"])
    assert "HostHighCpuLoad" in prompt
    assert "ref: E1" in prompt and "tool: load_uptime" in prompt and "load_per_cpu" in prompt
    assert "load_uptime" in {t["function"]["name"] for t in first["tools"]}

    assert usage_of(live_server, org, incident_id) == [(131, 37, "reactive")]


def first_request_without_initial_evidence(
    live_server: LiveServer,
    org: OrgInfo,
    fake: FakeOpenAI,
    api: httpx.Client,
    webhook: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Diagnose a CPU alert whose runbook's first tool (load_uptime) may not run on its own;
    (the model's first request, the incident's detail)."""
    set_chain(live_server, org, "reactive", [(fake, KEY)])
    fake.tool_call("memory_swap", {})
    fake.final(
        {
            "summary": "Memory is fine; nothing else was checked.",
            "confidence": 0.3,
            "evidence": [{"ref": "E1", "finding": "memory is not short"}],
            "escalate": True,
            "escalation_reason": "the CPU could not be looked at",
        }
    )
    incident_id = alert(api, webhook, "HostHighCpuLoad", "CPU load is high")
    run_diagnosis(live_server, org, incident_id)
    return fake.requests[0].body, detail(api, incident_id)


@pytest.mark.parametrize(
    "permission",
    [{"enabled": False}, {"enabled": True, "approval_required": True}],
    ids=["disabled", "approval required"],
)
def test_a_first_tool_that_cannot_run_on_its_own_is_left_to_the_model(
    live_server: LiveServer,
    org_key: tuple[OrgInfo, str],
    hostagent: RunningAgent,
    fake: FakeOpenAI,
    api: httpx.Client,
    webhook: str,
    permission: dict[str, bool],
) -> None:
    changed = api.patch("/api/v1/tools/load_uptime", json=permission)
    assert changed.status_code == 200, changed.text
    try:
        first, found = first_request_without_initial_evidence(
            live_server, org_key[0], fake, api, webhook
        )
    finally:
        api.patch("/api/v1/tools/load_uptime", json={"enabled": True, "approval_required": False})

    assert "Already checked" not in str(first["messages"])
    tools = [e["data"]["tool"] for e in found["timeline"] if e["kind"] == "tool"]
    assert tools == ["memory_swap"]  # only what the model asked for
    [evidence] = found["diagnosis"]["report"]["evidence"]
    assert evidence["tool"] == "memory_swap"


def test_failing_providers_hand_over_to_the_runbook_engine_on_the_timeline(
    live_server: LiveServer,
    org_key: tuple[OrgInfo, str],
    hostagent: RunningAgent,
    fake: FakeOpenAI,
    api: httpx.Client,
    webhook: str,
) -> None:
    org = org_key[0]
    fake.reset()
    set_chain(live_server, org, "reactive", [(fake, KEY), (fake, "sk-wrong-key-9876")])
    fake.fail(500, "upstream exploded")
    incident_id = alert(api, webhook, "HostHighCpuLoad", "CPU load is high")
    run_diagnosis(live_server, org, incident_id)

    found = detail(api, incident_id)
    switches = [e for e in found["timeline"] if e["kind"] == "provider_failover"]
    assert [s["data"]["provider"] for s in switches] == ["fake 0", "fake 1", None]
    assert "server error (HTTP 500)" in switches[0]["detail"]
    assert "invalid or refused API key" in switches[1]["detail"]
    assert "runbook engine takes over" in switches[2]["detail"]
    assert "sk-wrong-key-9876" not in str(found)  # the fake echoes the key; we never do
    diagnosis = found["diagnosis"]
    assert diagnosis["engine"].startswith("runbook:")
    assert diagnosis["report"]["provider"] is None
    assert found["incident"]["ai_state"] == "done"
    # The CPU runbook starts with load_uptime, which already ran as the initial evidence
    # before the providers failed: it reads that result rather than running the tool again.
    runs = [e["data"] for e in found["timeline"] if e["kind"] == "tool"]
    assert [r["tool"] for r in runs][:2] == ["load_uptime", "top_processes_cpu"]
    assert [r["tool"] for r in runs].count("load_uptime") == 1
    cited = {e["tool"]: e["execution_id"] for e in diagnosis["report"]["evidence"]}
    assert cited["load_uptime"] == runs[0]["execution_id"]


def test_auto_remediation_runs_the_fix_and_verifies_it_held(
    live_server: LiveServer,
    org_key: tuple[OrgInfo, str],
    hostagent: RunningAgent,
    fake: FakeOpenAI,
    api: httpx.Client,
    webhook: str,
    tmp_path: Path,
) -> None:
    org = org_key[0]
    fake.reset()
    set_chain(live_server, org, "reactive", [(fake, KEY)])
    set_ai_settings(live_server, org, auto_remediation=True)
    logs = tmp_path / "logs"
    logs.mkdir()
    big = logs / "app.log"
    big.write_bytes(b"x" * 200_000)
    roots = api.patch(
        f"/api/v1/servers/{hostagent.server_id}", json={"allowed_log_roots": [str(logs)]}
    )
    assert roots.status_code == 200, roots.text
    tool = api.patch(
        "/api/v1/tools/truncate_log_file", json={"enabled": True, "approval_required": False}
    )
    assert tool.status_code == 200, tool.text
    try:
        fake.tool_call("disk_usage", {})
        fake.final(
            {
                "summary": "A runaway log fills the disk.",
                "root_cause": f"{big} grows without rotation.",
                "confidence": 0.9,
                "evidence": [{"ref": "E1", "finding": "the filesystem is nearly full"}],
                "recommended_actions": [
                    {
                        "tool": "truncate_log_file",
                        "params": {"path": str(big)},
                        "reason": "free the space",
                    }
                ],
                "escalate": False,
            }
        )
        fake.final({"held": True, "explanation": "usage dropped after the truncation"})
        incident_id = alert(api, webhook, "NodeFilesystemAlmostFull", "Disk almost full")
        run_diagnosis(live_server, org, incident_id)
    finally:
        api.patch("/api/v1/tools/truncate_log_file", json={"enabled": False})
        set_ai_settings(live_server, org, auto_remediation=False)

    assert big.stat().st_size == 0  # the host agent really truncated it
    report = detail(api, incident_id)["diagnosis"]["report"]
    [step] = report["remediation"]
    assert step["tool"] == "truncate_log_file" and step["status"] == "succeeded"
    assert step["held"] is True and step["verify_tool"] == "disk_usage"
    fix = api.get(f"/api/v1/executions/{step['execution_id']}").json()
    assert fix["tool"] == "truncate_log_file" and fix["status"] == "succeeded"
    check = api.get(f"/api/v1/executions/{step['verify_execution_id']}").json()
    assert check["tool"] == "disk_usage" and check["status"] == "succeeded"
    assert report["outcome"] == "resolved_by_remediation"
    verdict_request = fake.requests[-1].body
    assert "Reading after the fix" in str(verdict_request["messages"])
    # The diagnosis and the verdict are both counted in the usage table.
    assert len(usage_of(live_server, org, incident_id)) == 2
